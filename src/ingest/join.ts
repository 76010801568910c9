import type { Event } from '../core/event.js';
import type { Metrics } from '../core/metrics.js';

/**
 * Joins the proxy line and the Mastodon line of one request on `http.request.id`
 * (shared/mastodon/FACTS.md §8). The proxy knows who called (IP, user agent, key fingerprint,
 * final status); Mastodon knows what ran (controller/action, its own status and timings).
 *
 * Time is passed in by the caller (event time for replay, wall clock for live tailing), so the
 * joiner has no clock of its own and replays are deterministic. Lines may come in either order;
 * an unmatched line is released as its own event after `waitMs` or when more than `maxPending`
 * wait (oldest first). A released line is remembered a while longer (`lateMs`): if its partner
 * still turns up, the joined event is emitted with the same event id, so it overwrites the
 * partial document in the store. No event is ever dropped.
 */

type Side = 'proxy' | 'mastodon';

interface Waiting {
  event: Event;
  side: Side;
  /** Pending: when to release it unmatched. Released: when to forget it. */
  until: number;
}

export interface JoinerOptions {
  waitMs: number;
  maxPending: number;
  metrics?: Metrics;
  /** How long a released, unmatched line can still be joined by a late partner (default 10 × waitMs). */
  lateMs?: number;
}

export interface JoinStats {
  joined: number;
  /** Lines released without a partner (by time or by `maxPending`). */
  unmatched: number;
  /** Of those, released early because `maxPending` was exceeded. */
  overflowed: number;
  /** Joined events emitted after the partial was already released. */
  lateJoined: number;
}

function sideOf(event: Event): Side | null {
  const dataset = event['event.dataset'];
  if (dataset === 'mastodon') return 'mastodon';
  if (dataset === 'nginx-json' || dataset === 'combined') return 'proxy';
  return null;
}

/**
 * One event from the two halves: proxy fields win (IP, user agent, fingerprint, status, time,
 * event id); Mastodon adds controller/action/timings, and keeps its own status in
 * `mastodon.status` when it differs (e.g. the proxy answered 502 or 499).
 */
export function mergeJoined(proxy: Event, mastodon: Event): Event {
  const joined: Event = { ...mastodon, ...proxy, 'event.dataset': 'joined' };
  const own = mastodon['http.response.status_code'];
  const seen = proxy['http.response.status_code'];
  if (own !== undefined && seen !== undefined && own !== seen) joined['mastodon.status'] = own;
  if (seen === undefined && own !== undefined) joined['http.response.status_code'] = own;
  return joined;
}

export class RequestJoiner {
  private readonly waiting = new Map<string, Waiting>();
  private readonly released = new Map<string, Waiting>();
  private readonly waitMs: number;
  private readonly lateMs: number;
  private readonly maxPending: number;
  private readonly metrics: Metrics | undefined;
  private now = Number.NEGATIVE_INFINITY;
  /** Counters since construction, for summaries and tests. */
  readonly stats: JoinStats = { joined: 0, unmatched: 0, overflowed: 0, lateJoined: 0 };

  constructor(opts: JoinerOptions) {
    if (!(opts.waitMs >= 0) || !(opts.maxPending >= 1)) {
      throw new RangeError('RequestJoiner needs waitMs >= 0 and maxPending >= 1');
    }
    this.waitMs = opts.waitMs;
    this.maxPending = opts.maxPending;
    this.lateMs = opts.lateMs ?? opts.waitMs * 10;
    this.metrics = opts.metrics;
  }

  /** Lines waiting for their partner. */
  get pending(): number {
    return this.waiting.size;
  }

  /**
   * Offer one event at time `nowMs`. Returns the events released by it (the joined event, the
   * event itself when it cannot be joined, older lines whose wait ended), in release order.
   */
  push(event: Event, nowMs: number): Event[] {
    const out = this.advance(nowMs);
    const rid = event['http.request.id'];
    const side = sideOf(event);
    if (!rid || side === null) {
      out.push(event);
      return out;
    }
    const partner = this.waiting.get(rid);
    if (partner && partner.side !== side) {
      this.waiting.delete(rid);
      out.push(this.join(partner, event, side));
    } else if (!this.joinLate(rid, event, side, out)) {
      this.wait(rid, event, side, partner, out);
    }
    this.metrics?.joinPending.set(this.waiting.size);
    return out;
  }

  /** Release every line whose wait has ended by `nowMs`. Time never goes backwards here. */
  advance(nowMs: number): Event[] {
    if (nowMs > this.now) this.now = nowMs;
    const out: Event[] = [];
    // Deadlines grow with insertion order (monotonic `now`), so the oldest come first.
    for (const [rid, w] of this.waiting) {
      if (w.until > this.now) break;
      this.waiting.delete(rid);
      this.release(rid, w, out);
    }
    for (const [rid, w] of this.released) {
      if (w.until > this.now) break;
      this.released.delete(rid);
    }
    this.metrics?.joinPending.set(this.waiting.size);
    return out;
  }

  /** Release everything still waiting (shutdown, end of a replay). */
  drain(): Event[] {
    const out: Event[] = [];
    for (const [rid, w] of this.waiting) this.release(rid, w, out);
    this.waiting.clear();
    this.released.clear();
    this.metrics?.joinPending.set(0);
    return out;
  }

  private wait(rid: string, event: Event, side: Side, same: Waiting | undefined, out: Event[]): void {
    // A second line of the same side with the same id (a duplicate, or a proxy that reuses
    // ids) releases the first unmatched rather than overwriting it.
    if (same) {
      this.waiting.delete(rid);
      this.release(rid, same, out);
    }
    this.waiting.set(rid, { event, side, until: this.now + this.waitMs });
    this.enforceLimit(out);
  }

  private join(first: Waiting, event: Event, side: Side): Event {
    this.stats.joined++;
    return side === 'proxy' ? mergeJoined(event, first.event) : mergeJoined(first.event, event);
  }

  private joinLate(rid: string, event: Event, side: Side, out: Event[]): boolean {
    const gone = this.released.get(rid);
    if (!gone || gone.side === side) return false;
    this.released.delete(rid);
    this.stats.lateJoined++;
    out.push(this.join(gone, event, side));
    return true;
  }

  private release(rid: string, w: Waiting, out: Event[]): void {
    this.stats.unmatched++;
    out.push(w.event);
    if (this.lateMs <= 0) return;
    this.released.delete(rid);
    this.released.set(rid, { ...w, until: this.now + this.lateMs });
    if (this.released.size > this.maxPending) {
      const oldest = this.released.keys().next().value as string;
      this.released.delete(oldest);
    }
  }

  private enforceLimit(out: Event[]): void {
    while (this.waiting.size > this.maxPending) {
      const [rid, w] = this.waiting.entries().next().value as [string, Waiting];
      this.waiting.delete(rid);
      this.stats.overflowed++;
      this.release(rid, w, out);
    }
  }
}
