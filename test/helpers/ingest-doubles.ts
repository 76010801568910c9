/**
 * Small test doubles for the ingest path: a parser with an obvious line format, an in-memory
 * store with failure injection, and a request joiner. They let pipeline and source tests
 * assert the pipeline's own guarantees independently of the real parsers and stores.
 */
import type { Format } from '../../src/config/schema.js';
import { type Event, type ParseError, parseError } from '../../src/core/event.js';
import type { Joiner } from '../../src/ingest/pipeline.js';
import type { ParserEntry } from '../../src/ingest/types.js';
import type { EventStore, WriteResult } from '../../src/store/types.js';

/**
 * Parses `{"ts":"<ISO>","n":<number>,"rid"?:"…","ds"?:"mastodon"}`; `n` must be a number
 * (wrong type → `wrong-type`), anything not JSON → `invalid-json`. The id is `ds:n#dup`.
 */
const ordinal = (d: number | (() => number) | undefined): number => (typeof d === 'function' ? d() : d ?? 0);

export function testParser(format: Format = 'nginx-json'): ParserEntry {
  const parse = (line: string, ctx: { duplicateIndex?: number | (() => number) }): Event | ParseError => {
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return parseError('invalid-json', 'line is not JSON');
    }
    if (typeof o !== 'object' || o === null) return parseError('invalid-json', 'line is not a JSON object');
    if (typeof o.n !== 'number') return parseError('wrong-type', `field n must be a number, got ${typeof o.n}`);
    if (typeof o.ts !== 'string' || Number.isNaN(Date.parse(o.ts))) return parseError('missing-field', 'ts missing');
    const ds = o.ds === 'mastodon' ? 'mastodon' : 'nginx-json';
    const e: Event = {
      '@timestamp': new Date(o.ts).toISOString(),
      'event.id': typeof o.rid === 'string' ? `rid:${o.rid}` : `${ds}:${o.n}#${ordinal(ctx.duplicateIndex)}`,
      'event.dataset': ds,
      'url.path': `/n/${o.n}`,
    };
    if (typeof o.rid === 'string') e['http.request.id'] = o.rid;
    return e;
  };
  return { id: format, parse, description: 'test parser' };
}

export const line = (n: number, extra: Record<string, unknown> = {}, ts = '2026-11-02T14:03:05.000Z'): string =>
  JSON.stringify({ ts, n, ...extra });

/** In-memory store keyed by event id; `failNext(k)` makes the next k writes throw. */
export class MemoryStore implements Pick<EventStore, 'writeEvents' | 'kind'> {
  readonly kind = 'sqlite' as const;
  readonly events = new Map<string, Event>();
  /** How many times each id was written: > 1 means a line was delivered twice. */
  readonly writesById = new Map<string, number>();
  writes = 0;
  private failures = 0;
  /** Ids the store refuses for good (reported in WriteResult.failed). */
  refuse = new Set<string>();
  /** Delay per write, e.g. to make concurrent writes finish out of order. */
  delay: (call: number) => number = () => 0;

  failNext(k: number): void {
    this.failures = k;
  }

  async writeEvents(events: readonly Event[]): Promise<WriteResult> {
    const call = ++this.writes;
    const ms = this.delay(call);
    if (ms > 0) await new Promise((r) => setTimeout(r, ms));
    if (this.failures > 0) {
      this.failures--;
      throw new Error('connect ECONNREFUSED 127.0.0.1:9200');
    }
    const failed = [];
    for (const e of events) {
      if (this.refuse.has(e['event.id'])) failed.push({ id: e['event.id'], reason: 'mapping', message: 'field [x] of type long' });
      else {
        this.events.set(e['event.id'], e);
        this.writesById.set(e['event.id'], (this.writesById.get(e['event.id']) ?? 0) + 1);
      }
    }
    return { written: events.length - failed.length, failed };
  }
}

/** Joins a proxy event and a mastodon event on the request id; releases after `waitMs`. */
export class TestJoiner implements Joiner {
  private readonly held = new Map<string, { event: Event; at: number }>();
  constructor(private readonly waitMs: number) {}

  get pending(): number {
    return this.held.size;
  }

  push(event: Event, nowMs: number): Event[] {
    const rid = event['http.request.id'];
    const out = this.advance(nowMs);
    if (!rid) return [...out, event];
    const other = this.held.get(rid);
    if (!other) {
      this.held.set(rid, { event, at: nowMs });
      return out;
    }
    this.held.delete(rid);
    return [...out, { ...other.event, ...event, 'event.dataset': 'joined', 'event.id': `rid:${rid}` }];
  }

  advance(nowMs: number): Event[] {
    const out: Event[] = [];
    for (const [rid, h] of this.held) {
      if (nowMs - h.at < this.waitMs) continue;
      this.held.delete(rid);
      out.push(h.event);
    }
    return out;
  }

  drain(): Event[] {
    const out = [...this.held.values()].map((h) => h.event);
    this.held.clear();
    return out;
  }
}
