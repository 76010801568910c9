import { describe, expect, it } from 'vitest';
import { DetectionEngine } from '../../../src/detect/engine.js';
import { CardinalityDetector } from '../../../src/detect/rules/cardinality/index.js';
import { MIN, T0, ev, rule } from '../helpers.js';

const FP = 'f'.repeat(32);

describe('cardinality', () => {
  const r = (extra = {}) =>
    rule({ id: 'many-nets', type: 'cardinality', window: '1h', field: 'source.network', threshold: 5, ...extra });

  it('fires when distinct values in the window reach the threshold', () => {
    const engine = new DetectionEngine({ rules: [r()] });
    const out = [];
    for (let i = 0; i < 6; i++) {
      // Each network twice: repeats do not count.
      for (const k of [0, 1]) out.push(...engine.process(ev(T0 + i * 5 * MIN + k, { 'tuskguard.fingerprint': FP, 'source.ip': `198.51.${i}.7` })));
    }
    expect(out).toHaveLength(1);
    expect(out[0]!.at).toBe(new Date(T0 + 4 * 5 * MIN).toISOString());
    expect(out[0]!.evidence.count).toBe(5);
    expect(out[0]!.evidence.values).toEqual(expect.arrayContaining(['198.51.0.0/24', '198.51.4.0/24']));
  });

  it('forgets values that left the window', () => {
    const engine = new DetectionEngine({ rules: [r()] });
    const out = [];
    for (let i = 0; i < 12; i++) out.push(...engine.process(ev(T0 + i * 20 * MIN, { 'tuskguard.fingerprint': FP, 'source.ip': `198.51.${i}.7` })));
    expect(out).toEqual([]);
  });

  it('a server move within the same /24 is one network', () => {
    const engine = new DetectionEngine({ rules: [r()] });
    const out = [];
    for (let i = 0; i < 50; i++) out.push(...engine.process(ev(T0 + i * MIN, { 'tuskguard.fingerprint': FP, 'source.ip': `198.51.100.${i + 1}` })));
    expect(out).toEqual([]);
  });

  it('keeps memory bounded by the cap and stays exact up to the threshold', () => {
    const engine = new DetectionEngine({ rules: [r({ threshold: 50, cap: 60 })] });
    const out = [];
    for (let i = 0; i < 500; i++) out.push(...engine.process(ev(T0 + i * 100, { 'tuskguard.fingerprint': FP, 'source.ip': `10.${i >> 8}.${i & 255}.1` })));
    expect(out).toHaveLength(1);
    expect(out[0]!.evidence.count).toBe(50);
  });

  it('never holds more than cap values per group', () => {
    const d = new CardinalityDetector({ window: 3_600_000, field: 'source.ip', threshold: 10, cap: 20 });
    const s = d.init();
    for (let i = 0; i < 1000; i++) d.observe(s, ev(T0 + i, { 'source.ip': `10.0.${i >> 8}.${i & 255}` }), T0 + i, {});
    expect(Object.keys((s as { v: object }).v).length).toBeLessThanOrEqual(20);
  });
});
