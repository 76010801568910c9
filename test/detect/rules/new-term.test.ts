import { describe, expect, it } from 'vitest';
import { DetectionEngine } from '../../../src/detect/engine.js';
import { DAY, HOUR, T0, ev, rule } from '../helpers.js';

const FP = 'f'.repeat(32);

describe('new-term', () => {
  const r = (extra = {}) =>
    rule({ id: 'origin', type: 'new-term', fields: ['source.network', 'user_agent.name'], learning_period: '2d', ...extra });

  function use(engine: DetectionEngine, t: number, ip: string, ua: string) {
    return engine.process(ev(t, { 'tuskguard.fingerprint': FP, 'source.ip': ip, 'user_agent.original': ua }));
  }

  function learned() {
    const engine = new DetectionEngine({ rules: [r()] });
    for (let h = 0; h < 72; h++) use(engine, T0 + h * HOUR, '203.0.113.7', 'Tusky/25.2 Android/14');
    return engine;
  }

  it('fires on a new network after the learning period, once', () => {
    const engine = learned();
    const first = use(engine, T0 + 3 * DAY + 5, '198.51.100.9', 'Tusky/25.2 Android/14');
    expect(first).toHaveLength(1);
    expect(first[0]!.evidence.term).toEqual({ 'source.network': '198.51.100.0/24', 'user_agent.name': 'Tusky' });
    expect(first[0]!.evidence.values).toEqual(['203.0.113.0/24, Tusky']);
    expect(use(engine, T0 + 5 * DAY, '198.51.100.9', 'Tusky/25.2 Android/14')).toEqual([]);
  });

  it('stays quiet for a server move within the same /24 and a client upgrade', () => {
    const engine = learned();
    expect(use(engine, T0 + 3 * DAY, '203.0.113.200', 'Tusky/26.0 Android/15')).toEqual([]);
  });

  it('learns silently during the learning period', () => {
    const engine = new DetectionEngine({ rules: [r()] });
    use(engine, T0, '203.0.113.7', 'Tusky/25.2');
    expect(use(engine, T0 + DAY, '198.51.100.9', 'curl/8.0')).toEqual([]);
    expect(use(engine, T0 + 3 * DAY, '198.51.100.9', 'curl/8.0')).toEqual([]);
  });

  it('with min_count, a single stray request stays quiet', () => {
    const engine = new DetectionEngine({ rules: [r({ fields: ['event.hour_of_day'], min_count: 3, window: '1h' })] });
    for (let d = 0; d < 3; d++) for (let h = 9; h < 17; h++) use(engine, T0 + d * DAY + h * HOUR, '203.0.113.7', 'bot');
    expect(use(engine, T0 + 3 * DAY + 3 * HOUR, '203.0.113.7', 'bot')).toEqual([]);
    expect(use(engine, T0 + 4 * DAY + 3 * HOUR, '203.0.113.7', 'bot')).toEqual([]);
    expect(use(engine, T0 + 4 * DAY + 3 * HOUR + 60_000, '203.0.113.7', 'bot')).toEqual([]);
    const out = use(engine, T0 + 4 * DAY + 3 * HOUR + 120_000, '203.0.113.7', 'bot');
    expect(out).toHaveLength(1);
    expect(out[0]!.evidence.term).toEqual({ 'event.hour_of_day': '3' });
  });

  it('min_count per term restarts at each term, per group it counts across terms', () => {
    const burst = (per: string) => {
      const engine = new DetectionEngine({ rules: [r({ fields: ['event.hour_of_day'], min_count: 5, window: '1h', min_count_per: per })] });
      for (let d = 0; d < 3; d++) for (let h = 9; h < 17; h++) use(engine, T0 + d * DAY + h * HOUR, '203.0.113.7', 'bot');
      // 18:57, 18:58, 18:59, 18:59:30 — then 19:00, 19:01: the burst straddles the hour.
      const start = T0 + 4 * DAY + 18 * HOUR + 57 * 60_000;
      const times = [0, 60_000, 120_000, 150_000, 180_000, 240_000].map((x) => start + x);
      return times.map((t) => use(engine, t, '203.0.113.7', 'bot').length);
    };
    expect(burst('term')).toEqual([0, 0, 0, 0, 0, 0]);
    expect(burst('group')).toEqual([0, 0, 0, 0, 1, 0]);
  });

  it('min_count per group slides: occurrences older than the window drop out', () => {
    const engine = new DetectionEngine({ rules: [r({ fields: ['event.hour_of_day'], min_count: 3, window: '1h', min_count_per: 'group' })] });
    for (let d = 0; d < 3; d++) for (let h = 9; h < 17; h++) use(engine, T0 + d * DAY + h * HOUR, '203.0.113.7', 'bot');
    const at = (h: number, m: number) => use(engine, T0 + 4 * DAY + h * HOUR + m * 60_000, '203.0.113.7', 'bot').length;
    expect([at(2, 0), at(3, 30), at(3, 40)]).toEqual([0, 0, 0]); // 02:00 dropped out by 03:40
    expect(at(3, 50)).toBe(1);
    expect(at(2, 10)).toBe(0); // hour 2 was learned with the finding
  });

  it('forgets a term unseen for forget_after', () => {
    const engine = new DetectionEngine({ rules: [r({ forget_after: '7d' })] });
    use(engine, T0, '203.0.113.7', 'Tusky/1');
    use(engine, T0 + 2 * DAY, '198.51.100.9', 'Tusky/1'); // learning period: learned
    for (let d = 3; d < 12; d++) use(engine, T0 + d * DAY, '203.0.113.7', 'Tusky/1');
    expect(use(engine, T0 + 12 * DAY, '198.51.100.9', 'Tusky/1')).toHaveLength(1);
  });
});
