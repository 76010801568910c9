import { HOUR, type KeySpec, type Origin, type Req, alive, ipAt, rateAt, uaAt } from './model.js';
import { type Rng, intBetween, poisson, weighted } from './random.js';

/**
 * Building blocks of the benign profiles: a key's request writer (applies its changes — server
 * move, client upgrade, retirement — and a realistic status mix), schedules with jitter, and
 * Poisson arrivals per hour. A profile is a function (writer, from, to) that calls these.
 */

const READ_STATUS: ReadonlyArray<readonly [number, number]> = [[200, 983], [404, 8], [429, 3], [500, 2], [502, 2], [503, 2]];
const WRITE_STATUS: ReadonlyArray<readonly [number, number]> = [[200, 970], [422, 15], [429, 5], [500, 5], [404, 5]];

/** A benign response status for a method. Managed keys never see 401 or a scope 403 here. */
export function okStatus(r: Rng, method: string): number {
  return weighted(r, method === 'GET' ? READ_STATUS : WRITE_STATUS);
}

function bytesFor(r: Rng, method: string, status: number): number {
  if (status >= 400) return intBetween(r, 30, 200);
  return method === 'GET' ? intBetween(r, 2_000, 60_000) : intBetween(r, 800, 4_000);
}

export class KeyWriter {
  readonly reqs: Req[] = [];

  constructor(
    readonly k: KeySpec,
    readonly r: Rng,
  ) {}

  /** One request of the key at t (dropped once its consumer retired). */
  req(t: number, method: string, uri: string, o: Origin = this.k.origins[0]!, status?: number): void {
    if (!alive(this.k, t)) return;
    const s = status ?? okStatus(this.r, method);
    this.reqs.push({ t: Math.round(t), ip: ipAt(this.k, o, t), ua: uaAt(this.k, t), method, uri, status: s, fp: this.k.fp, bytes: bytesFor(this.r, method, s) });
  }

  /** Traffic multiplier at t (planned growth). */
  rate(t: number): number {
    return rateAt(this.k, t);
  }
}

/**
 * Calls `f` every `period` ms from the first multiple of it after `from` (+ `phase`), with up
 * to `jitter` ms of delay; where the key's rate is k > 1, also k−1 times in between.
 */
export function scheduled(w: KeyWriter, from: number, to: number, period: number, phase: number, jitter: number, f: (t: number) => void): void {
  for (let t = Math.ceil((from - phase) / period) * period + phase; t < to; t += period) {
    const k = Math.max(1, Math.round(w.rate(t)));
    for (let j = 0; j < k; j++) {
      const at = t + (j * period) / k + w.r() * jitter;
      if (at >= from && at < to) f(at);
    }
  }
}

/** Poisson arrivals: for each hour, `lambda(hourStart)` × the key's rate events at uniform times. */
export function perHour(w: KeyWriter, from: number, to: number, lambda: (hourStart: number) => number, f: (t: number) => void): void {
  for (let h = Math.floor(from / HOUR) * HOUR; h < to; h += HOUR) {
    const n = poisson(w.r, lambda(h) * w.rate(h));
    for (let i = 0; i < n; i++) {
      const t = h + w.r() * HOUR;
      if (t >= from && t < to) f(t);
    }
  }
}

/** A Mastodon-like snowflake id (18 digits). */
export function statusId(r: Rng): string {
  return `113${String(Math.floor(r() * 1e15)).padStart(15, '0')}`;
}

/** An account id from a small stable set (the accounts a key follows or moderates). */
export function accountId(r: Rng, pool: number, base = 100): number {
  return base + Math.floor(r() * pool);
}

const SEARCH_TERMS = ['fediverse', 'weather', 'release', 'opensource', 'trains', 'photography', 'news', 'rust'];

export function searchUri(r: Rng): string {
  return `/api/v2/search?q=${SEARCH_TERMS[Math.floor(r() * SEARCH_TERMS.length)]}&resolve=false&limit=20`;
}
