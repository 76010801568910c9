import { describe, expect, it } from 'vitest';
import { IndexLayout } from '../../src/store/elasticsearch/indices.js';
import { rng } from '../../bench/traffic/random.js';

/** Index names from a fresh layout: no memo of the previous period can be involved. */
const fresh = (period: 'day' | 'month', ms: number) => new IndexLayout('tg', period).indexFor('events', ms);

describe('IndexLayout.indexFor', () => {
  it('names daily and monthly indices after the document time in UTC', () => {
    const ms = Date.parse('2026-11-02T23:59:59.999Z');
    expect(fresh('day', ms)).toBe('tg-events-2026.11.02');
    expect(fresh('day', ms + 1)).toBe('tg-events-2026.11.03');
    expect(fresh('month', ms)).toBe('tg-events-2026.11');
    expect(fresh('month', Date.parse('2026-12-01T00:00:00.000Z'))).toBe('tg-events-2026.12');
  });

  it('gives the same names with its memo of the last period, over shuffled times, edges and early years', () => {
    const r = rng(3);
    const edges = ['2026-11-02T00:00:00.000Z', '2026-11-01T23:59:59.999Z', '2024-02-29T12:00:00.000Z', '2024-03-01T00:00:00.000Z', '2026-12-31T23:59:59.999Z', '2027-01-01T00:00:00.000Z'].map(Date.parse);
    const early = [Date.UTC(2000, 0, 1) - 62_000_000_000_000, new Date('0050-01-01T00:00:00.000Z').getTime(), new Date('1950-01-01T00:00:00.000Z').getTime(), new Date('0050-01-01T12:00:00.000Z').getTime(), new Date('1950-01-01T06:00:00.000Z').getTime()];
    const times: number[] = [...edges, ...early];
    let t = Date.parse('2026-10-30T00:00:00.000Z');
    for (let i = 0; i < 20_000; i++) {
      t += Math.floor((r() - 0.2) * 3_600_000);
      times.push(r() < 0.02 ? Math.floor(r() * 4e12) : t);
    }
    for (const period of ['day', 'month'] as const) {
      const layout = new IndexLayout('tg', period);
      for (const ms of times) expect(layout.indexFor('events', ms)).toBe(fresh(period, ms));
    }
  });
});
