import { describe, expect, it } from 'vitest';
import type { Finding } from '../../../src/core/finding.js';
import { DetectionEngine } from '../../../src/detect/engine.js';
import { DAY, HOUR, MIN, T0, ev, rule } from '../helpers.js';
import { hourly, officeRate } from '../traffic.js';

const FP = 'f'.repeat(32);
const fields = { 'tuskguard.fingerprint': FP, 'http.request.method': 'GET' };

function engine() {
  return new DetectionEngine({
    rules: [rule({ id: 'reads', type: 'baseline', interval: '15m', history: '22d', seasonality: 'weekly', min_value: 30, suppress: '1h' })],
  });
}

function run(e: DetectionEngine, events: ReturnType<typeof hourly>): Finding[] {
  return events.sort((a, b) => a['@timestamp'].localeCompare(b['@timestamp'])).flatMap((x) => e.process(x));
}

describe('baseline', () => {
  it('learns three weeks quietly, then flags a 10× read burst within minutes', () => {
    const e = engine();
    expect(run(e, hourly(T0, 21 * 24, (t) => officeRate(t, 60), fields))).toEqual([]);
    // Monday of week 4, 10:00: 600 reads in 20 minutes on top of the usual ~60 an hour.
    const start = T0 + 21 * DAY + 10 * HOUR;
    const burst = Array.from({ length: 600 }, (_, i) => ev(start + i * 2_000, fields));
    const out = run(e, [...hourly(start, 1, (t) => officeRate(t, 60), fields, 9), ...burst]);
    expect(out).toHaveLength(1);
    expect(Date.parse(out[0]!.at) - start).toBeLessThan(5 * MIN);
    expect(out[0]!.evidence.reference).toBe('hour of week');
    expect(out[0]!.evidence.baseline).toMatchObject({ samples: 3 });
    expect(out[0]!.summary).toMatch(/against a usual \d+/);
  });

  it('uses same-kind days before enough weeks exist, and never fires before min_history', () => {
    const e = engine();
    const burst = (t: number) => Array.from({ length: 400 }, (_, i) => ev(t + i * 1_000, fields));
    expect(run(e, [...hourly(T0, 4 * 24, (t) => officeRate(t, 60), fields), ...burst(T0 + 3 * DAY + 11 * HOUR)])).toEqual([]);
    run(e, hourly(T0 + 4 * DAY, 3 * 24, (t) => officeRate(t, 60), fields, 2));
    const out = run(e, burst(T0 + 7 * DAY + 11 * HOUR));
    expect(out).toHaveLength(1);
    expect(out[0]!.evidence.reference).toBe('weekday hour');
  });

  it('stays quiet for planned growth: 2× for a day', () => {
    const e = engine();
    run(e, hourly(T0, 21 * 24, (t) => officeRate(t, 60), fields));
    expect(run(e, hourly(T0 + 21 * DAY, 24, (t) => 2 * officeRate(t, 60), fields, 3))).toEqual([]);
    expect(run(e, hourly(T0 + 22 * DAY, 24, (t) => officeRate(t, 60), fields, 4))).toEqual([]);
  });

  it('stays quiet for steady growth of 3% a day over four weeks', () => {
    const e = engine();
    const grow = (t: number) => officeRate(t, 60) * 1.03 ** ((t - T0) / DAY);
    expect(run(e, hourly(T0, 28 * 24, grow, fields))).toEqual([]);
  });

  it('tolerates weekly seasonality: a weekend-heavy key is normal on its weekends', () => {
    const e = engine();
    const weekendHeavy = (t: number) => officeRate(t, 15, 6); // weekends 6× weekdays
    expect(run(e, hourly(T0, 35 * 24, weekendHeavy, fields))).toEqual([]);
  });
});
