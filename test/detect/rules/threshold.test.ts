import { describe, expect, it } from 'vitest';
import { DetectionEngine } from '../../../src/detect/engine.js';
import { MIN, T0, ev, rule } from '../helpers.js';

const FP = 'f'.repeat(32);

describe('threshold', () => {
  const r = () =>
    rule({ id: 'burst', type: 'threshold', window: '5m', threshold: 5, filter: { 'http.response.status_code': 403 } });

  it('fires on the event that reaches the threshold within the window', () => {
    const engine = new DetectionEngine({ rules: [r()] });
    const out = [];
    for (let i = 0; i < 8; i++) {
      out.push(...engine.process(ev(T0 + i * 30_000, { 'tuskguard.fingerprint': FP, 'http.response.status_code': 403 })));
    }
    expect(out).toHaveLength(1);
    expect(out[0]!.at).toBe(new Date(T0 + 4 * 30_000).toISOString());
    expect(out[0]!.evidence.count).toBe(5);
    expect(out[0]!.evidence.threshold).toBe(5);
    expect(out[0]!.fingerprint).toBe(FP);
    expect(out[0]!.summary).toContain('5 matching requests within 5m');
  });

  it('stays quiet when the same count is spread wider than the window', () => {
    const engine = new DetectionEngine({ rules: [r()] });
    const out = [];
    for (let i = 0; i < 20; i++) {
      out.push(...engine.process(ev(T0 + i * 2 * MIN, { 'tuskguard.fingerprint': FP, 'http.response.status_code': 403 })));
    }
    expect(out).toEqual([]);
  });

  it('ignores events outside the filter and events without the group field', () => {
    const engine = new DetectionEngine({ rules: [r()] });
    const out = [];
    for (let i = 0; i < 10; i++) {
      out.push(...engine.process(ev(T0 + i * 1000, { 'tuskguard.fingerprint': FP, 'http.response.status_code': 200 })));
      out.push(...engine.process(ev(T0 + i * 1000, { 'http.response.status_code': 403 })));
    }
    expect(out).toEqual([]);
  });

  it('counts groups separately', () => {
    const engine = new DetectionEngine({ rules: [r()] });
    const out = [];
    for (let i = 0; i < 9; i++) {
      const fp = i % 2 ? FP : 'e'.repeat(32);
      out.push(...engine.process(ev(T0 + i * 1000, { 'tuskguard.fingerprint': fp, 'http.response.status_code': 403 })));
    }
    expect(out.map((f) => f.fingerprint)).toEqual(['e'.repeat(32)]);
  });
});
