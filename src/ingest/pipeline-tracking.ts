import type { Event } from '../core/event.js';
import type { SourceBatch, SourceLine } from './types.js';

/**
 * Bookkeeping of the pipeline (pipeline.ts): which source lines an event stands for, so a
 * batch is acknowledged only when all of its lines are stored or dead-lettered — also when the
 * joiner held a line back, merged it with its partner, or released it on its own.
 */

/** A pushed batch and how many of its lines are not yet stored or dead-lettered. */
export interface Tracker {
  batch: SourceBatch;
  remaining: number;
}

/** One parsed line on its way to the store. */
export interface Entry {
  tracker: Tracker;
  line: SourceLine;
  dataset: string;
  /** The parsed event's id and request id, to find the entry again when the joiner releases it. */
  id: string;
  rid: string | undefined;
}

const PROXY = new Set(['nginx-json', 'combined']);

/**
 * Lines inside the joiner, by event id and by request id. A joined event stands for one proxy
 * and one Mastodon line of its request id; any other event for the one line with its id and
 * dataset (the proxy and Mastodon lines of a request share their id, see parsers/id.ts).
 */
export class LineIndex {
  private readonly byId = new Map<string, Entry[]>();
  private readonly byRid = new Map<string, Entry[]>();

  add(entry: Entry): void {
    push(this.byId, entry.id, entry);
    if (entry.rid) push(this.byRid, entry.rid, entry);
  }

  /** Remove and return the entries an event released by the joiner stands for ([] if unknown). */
  take(event: Event): Entry[] {
    const rid = event['http.request.id'];
    const joined = event['event.dataset'] === 'joined';
    const takeOne = (pred: (e: Entry) => boolean): Entry[] => {
      const list = (joined ? undefined : this.byId.get(event['event.id'])) ?? (rid ? this.byRid.get(rid) : undefined);
      const found = list?.find(pred);
      if (!found) return [];
      remove(this.byId, found.id, found);
      if (found.rid) remove(this.byRid, found.rid, found);
      return [found];
    };
    if (!joined) return takeOne((e) => e.dataset === event['event.dataset']);
    // A late join (partner released earlier) finds only one of the two: that is right.
    return [...takeOne((e) => PROXY.has(e.dataset)), ...takeOne((e) => e.dataset === 'mastodon')];
  }
}

/** The decode check: too long (not parsed at all), or not UTF-8. */
export function checkLine(line: SourceLine, max: number): { kind: 'parse-error'; reason: string; message: string } | null {
  // text.length counts UTF-16 units, never more than the UTF-8 bytes: only long lines pay for byteLength.
  const bytes = line.bytes ? line.bytes.length : line.text.length * 3 <= max ? 0 : Buffer.byteLength(line.text);
  if (bytes > max) return { kind: 'parse-error', reason: 'line-too-long', message: `line is ${bytes} bytes; the limit is ${max} (max_line_bytes)` };
  if (line.bytes) return { kind: 'parse-error', reason: 'invalid-utf8', message: 'line is not valid UTF-8' };
  return null;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function remove<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  const i = list ? list.indexOf(value) : -1;
  if (!list || i < 0) return;
  list.splice(i, 1);
  if (list.length === 0) map.delete(key);
}
