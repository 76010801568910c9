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
