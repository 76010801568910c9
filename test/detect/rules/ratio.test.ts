import { describe, expect, it } from 'vitest';
import { DetectionEngine } from '../../../src/detect/engine.js';
import { T0, ev, rule } from '../helpers.js';

const FP = 'f'.repeat(32);

describe('ratio', () => {
  const r = () =>
    rule({
      id: 'denied-share',
      type: 'ratio',
      window: '10m',
      match: { 'http.response.status_code': 403 },
      min_ratio: 0.5,
      min_count: 4,
    });

  function run(statuses: number[]) {
    const engine = new DetectionEngine({ rules: [r()] });
    return statuses.flatMap((s, i) => engine.process(ev(T0 + i * 10_000, { 'tuskguard.fingerprint': FP, 'http.response.status_code': s })));
  }

  it('fires when the share and the count are both reached', () => {
    const out = run([200, 403, 200, 403, 403, 403]);
    expect(out).toHaveLength(1);
    expect(out[0]!.evidence).toMatchObject({ count: 4, total: 6 });
    expect(out[0]!.summary).toContain('66.7%');
  });

  it('needs min_count matching events even at 100%', () => {
    expect(run([403, 403, 403])).toEqual([]);
  });

  it('stays quiet below the share', () => {
    expect(run([200, 200, 403, 200, 200, 403, 200, 403, 200, 403, 200, 200])).toEqual([]);
  });
});
