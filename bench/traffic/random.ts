/**
 * Seeded randomness for the traffic generator. Every key, attack and background stream draws
 * from its own generator, derived from the run's seed and a label, so the same seed always
 * gives the same week, and adding one key does not reshuffle the others.
 */
export type Rng = () => number;

/** mulberry32: small, fast, good enough for simulation (not for secrets). */
export function rng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A generator for one component: FNV-1a of the labels mixed into the seed. */
export function streamOf(seed: number, ...labels: Array<string | number>): Rng {
  let h = 0x811c9dc5 ^ seed;
  for (const ch of labels.join('\u001f')) {
    h ^= ch.charCodeAt(0);
    h = Math.imul(h, 0x01000193);
  }
  return rng(h >>> 0);
}

export const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

/** Uniform in [a, b). */
export const between = (r: Rng, a: number, b: number): number => a + r() * (b - a);

/** Integer uniform in [a, b]. */
export const intBetween = (r: Rng, a: number, b: number): number => Math.floor(between(r, a, b + 1));

/** A value from `weights` (value → relative weight). */
export function weighted<T extends string | number>(r: Rng, weights: ReadonlyArray<readonly [T, number]>): T {
  const total = weights.reduce((s, [, w]) => s + w, 0);
  let x = r() * total;
  for (const [v, w] of weights) {
    x -= w;
    if (x < 0) return v;
  }
  return weights[weights.length - 1]![0];
}

/** Poisson-distributed count with mean `lambda` (Knuth below 30, normal approximation above). */
export function poisson(r: Rng, lambda: number): number {
  if (lambda <= 0) return 0;
  if (lambda > 30) {
    const z = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
    return Math.max(0, Math.round(lambda + z * Math.sqrt(lambda)));
  }
  const limit = Math.exp(-lambda);
  let k = 0;
  for (let p = r(); p > limit; p *= r()) k++;
  return k;
}

const HEX = '0123456789abcdef';
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

export function hex(r: Rng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += HEX[Math.floor(r() * 16)];
  return s;
}

/** A made-up secret shaped like a Mastodon token (43 base64url characters). */
export function secret(r: Rng, n = 43): string {
  let s = '';
  for (let i = 0; i < n; i++) s += B64URL[Math.floor(r() * 64)];
  return s;
}
