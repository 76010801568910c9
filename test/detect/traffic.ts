import type { Event } from '../../src/core/event.js';
import { DAY, HOUR, ev } from './helpers.js';
// mulberry32, shared with the traffic generator: one implementation for every seeded stream.
import { rng as prng } from '../../bench/traffic/random.js';

export { prng };

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
