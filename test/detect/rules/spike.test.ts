import { describe, expect, it } from 'vitest';
import { DetectionEngine } from '../../../src/detect/engine.js';
import { HOUR, MIN, T0, ev, rule } from '../helpers.js';

const FP = 'f'.repeat(32);

describe('spike', () => {
  const r = (extra = {}) =>
    rule({ id: 'writes', type: 'spike', window: '10m', reference: '6h', factor: 4, min_count: 10, min_history: '1h', ...extra });

  /** One event every `gapMs` from `from` to `to` (exclusive). */
  function steady(engine: DetectionEngine, from: number, to: number, gapMs: number) {
    const out = [];
    for (let t = from; t < to; t += gapMs) out.push(...engine.process(ev(t, { 'tuskguard.fingerprint': FP, 'http.response.body.bytes': 1000 })));
    return out;
  }

  it('fires when the current window is factor × the reference rate', () => {
    const engine = new DetectionEngine({ rules: [r()] });
    expect(steady(engine, T0, T0 + 6 * HOUR, 5 * MIN)).toEqual([]); // 2 per 10m
    const out = steady(engine, T0 + 6 * HOUR, T0 + 6 * HOUR + 10 * MIN, 20_000); // 30 in 10m
    expect(out).toHaveLength(1);
    expect((out[0]!.evidence.baseline as { expected: number }).expected).toBeCloseTo(2, 1);
    // 4 × 2 expected = 8, but min_count 10 decides: the 10th burst event plus the steady one already in the window.
    expect(out[0]!.evidence.count).toBe(10);
  });

  it('stays quiet for planned growth: 2× for a day', () => {
    const engine = new DetectionEngine({ rules: [r({ min_count: 5 })] });
    steady(engine, T0, T0 + 24 * HOUR, 5 * MIN);
    expect(steady(engine, T0 + 24 * HOUR, T0 + 48 * HOUR, 150_000)).toEqual([]);
  });

  it('never fires before min_history', () => {
    const engine = new DetectionEngine({ rules: [r()] });
    expect(steady(engine, T0, T0 + 50 * MIN, 10_000)).toEqual([]);
  });

  it('can sum a field instead of counting', () => {
    const engine = new DetectionEngine({ rules: [r({ sum: 'http.response.body.bytes', min_count: 20_000 })] });
    steady(engine, T0, T0 + 6 * HOUR, 5 * MIN);
    const out = steady(engine, T0 + 6 * HOUR, T0 + 6 * HOUR + 10 * MIN, 20_000);
    expect(out).toHaveLength(1);
    expect(out[0]!.evidence.count).toBe(20_000);
  });
});

describe('spike compare: peak', () => {
  /** 4 writes a minute from 12:00 to 16:00 each day; `rate` multiplies it on day 2. */
  function partDay(engine: DetectionEngine, rate: number) {
    const out = [];
    for (let day = 0; day < 2; day++) {
      const step = day === 1 ? 15_000 / rate : 15_000;
      for (let t = T0 + day * 24 * HOUR + 12 * HOUR; t < T0 + day * 24 * HOUR + 16 * HOUR; t += step) {
        out.push(...engine.process(ev(t, { 'tuskguard.fingerprint': FP })));
      }
    }
    return out;
  }
  const r = (compare: string) =>
    rule({ id: 'writes', type: 'spike', window: '10m', reference: '24h', factor: 5, min_count: 30, min_history: '1h', compare, suppress: '1h' });

  it('mean mode calls a part-day key a spike every day; peak mode does not, even at 2x', () => {
    expect(partDay(new DetectionEngine({ rules: [r('mean')] }), 1).length).toBeGreaterThan(0);
    expect(partDay(new DetectionEngine({ rules: [r('peak')] }), 2)).toEqual([]);
  });

  it('peak mode still flags 5x the busiest half-hour', () => {
    expect(partDay(new DetectionEngine({ rules: [r('peak')] }), 6)).toHaveLength(1);
  });
});
