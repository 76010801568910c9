import type { Event } from '../../src/core/event.js';
import { DAY, HOUR, ev } from './helpers.js';

/** Deterministic PRNG (mulberry32), so generated traffic is the same on every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Working-hours shape: busy 8-18 UTC, quiet at night; weekends at `weekend` of weekdays. */
export function officeRate(t: number, base: number, weekend = 0.3): number {
  const d = new Date(t);
  const h = d.getUTCHours();
  const dow = (d.getUTCDay() + 6) % 7;
  const diurnal = h >= 8 && h < 18 ? 1 : h >= 6 && h < 22 ? 0.4 : 0.1;
  return base * diurnal * (dow >= 5 ? weekend : 1);
}

/**
 * Hourly traffic from `from` for `hours`: each hour gets round(rate·(0.85…1.15)) events,
 * spread evenly. `rate(t)` gives the expected events in the hour starting at t.
 */
export function hourly(from: number, hours: number, rate: (t: number) => number, fields: Partial<Event>, seed = 1): Event[] {
  const rnd = prng(seed);
  const out: Event[] = [];
  for (let i = 0; i < hours; i++) {
    const start = from + i * HOUR;
    const n = Math.round(rate(start) * (0.85 + 0.3 * rnd()));
    for (let k = 0; k < n; k++) out.push(ev(start + Math.floor(((k + 0.5) * HOUR) / n), fields));
  }
  return out;
}

export { DAY, HOUR };
