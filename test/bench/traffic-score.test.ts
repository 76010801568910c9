import { describe, expect, it } from 'vitest';
import type { AttackLabel } from '../../bench/traffic/attacks.js';
import type { TrafficLabels } from '../../bench/traffic/generate.js';
import { type FindingLike, lookbackOf, percentile, scoreFindings } from '../../bench/traffic/score.js';

const T0 = Date.parse('2026-10-20T10:00:00Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

function attack(over: Partial<AttackLabel>): AttackLabel {
  return { id: 'a', rule: 'write-spam', key: 'poster-1', fingerprint: 'f'.repeat(32), group: null, start: at(0), end: at(900), origin: 'usual', description: '', ...over };
}

const LABELS: TrafficLabels = {
  generator: 'test', seed: 1, size: 'small',
  history: { from: at(-86_400 * 14), to: at(-86_400) }, week: { from: at(-86_400), to: at(86_400 * 6) },
  keys: [
    { id: 'poster-1', profile: 'poster-bot', managed: true, kind: 'app', scopes: ['write'], tz: 0, ua: 'x', fingerprint: 'f'.repeat(32), origins: [] },
    { id: 'reader-9', profile: 'reader-bot', managed: true, kind: 'app', scopes: ['read'], tz: 0, ua: 'x', fingerprint: 'e'.repeat(32), origins: [] },
    { id: 'reader-4', profile: 'reader-bot', managed: true, kind: 'app', scopes: ['read'], tz: 0, ua: 'x', fingerprint: 'd'.repeat(32), origins: [] },
  ],
  attacks: [
    attack({}),
    attack({ id: 'b', rule: 'token-stuffing', key: null, fingerprint: null, group: { 'source.network': '198.19.201.0/24' }, start: at(3_600), end: at(3_700) }),
    attack({ id: 'c', rule: 'off-hours-use', key: 'reader-9', fingerprint: 'e'.repeat(32), start: at(7_200), end: at(9_000) }),
  ],
  negatives: [{ kind: 'planned-growth', key: 'reader-4', fingerprint: 'd'.repeat(32), start: at(0), end: at(86_400), description: '' }],
  uncovered: [],
};

function finding(over: Partial<FindingLike>): FindingLike {
  return { rule: 'write-spam', key: 'poster-1', fingerprint: 'f'.repeat(32), group: { 'tuskguard.fingerprint': 'f'.repeat(32) }, severity: 'medium', at: at(160), summary: 's', ...over };
}

describe('scoring findings against labels', () => {
  it('counts an attack detected only by its rule, about its key or group, within 5 minutes', () => {
    const s = scoreFindings(LABELS, [
      finding({}),
      finding({ rule: 'token-stuffing', key: null, fingerprint: null, group: { 'source.network': '198.19.201.0/24' }, at: at(3_625), severity: 'high' }),
      // Right key and rule, but 301 s after the start: late, not detected.
      finding({ rule: 'off-hours-use', key: 'reader-9', fingerprint: 'e'.repeat(32), at: at(7_200 + 301) }),
    ]);
    expect(s.attacks.map((a) => [a.attack.id, a.detected, a.ttdMs])).toEqual([
      ['a', true, 160_000],
      ['b', true, 25_000],
      ['c', false, 301_000],
    ]);
    expect(s.recall).toBeCloseTo(2 / 3);
    expect(s.precision).toBe(1);
    expect(s.alarming).toBe(0);
  });

  it('does not credit another rule with detection, but counts it as a true positive', () => {
    const s = scoreFindings(LABELS, [finding({ rule: 'key-new-origin', severity: 'high', at: at(1) })]);
    expect(s.attacks[0]!.detected).toBe(false);
    expect(s.attacks[0]!.alsoBy).toEqual(['key-new-origin']);
    expect(s.truePositives).toBe(1);
  });

  it('classifies false positives and counts the alarming ones', () => {
    const s = scoreFindings(LABELS, [
      finding({ rule: 'read-volume-exfiltration', key: 'reader-4', fingerprint: 'd'.repeat(32), severity: 'high', at: at(5_000) }),
      finding({ rule: 'key-new-origin', key: null, fingerprint: 'a'.repeat(32), severity: 'high', at: at(5_000) }),
      finding({ rule: 'write-spam', at: at(900 + 3_601), severity: 'medium' }),
      finding({ rule: 'token-stuffing', key: null, fingerprint: null, group: { 'source.network': '100.64.1.0/24' }, severity: 'high', at: at(5_000) }),
    ]);
    expect(s.falsePositives.map((f) => [f.on, f.negative ?? null])).toEqual([
      ['hard-negative', 'planned-growth'],
      ['unmanaged-token', null],
      ['attacked-key-outside-attack', null],
      ['no-key', null],
    ]);
    expect(s.alarming).toBe(3);
    expect(s.precision).toBe(0);
  });

  it("credits a finding whose rule window still holds the attack's traffic", () => {
    const late = finding({ rule: 'distributed-low-and-slow', at: at(900 + 5 * 3_600), severity: 'high' });
    expect(scoreFindings(LABELS, [late]).truePositives).toBe(0);
    const lookback = lookbackOf([{ id: 'distributed-low-and-slow', params: { window: 6 * 3_600_000 } }]);
    expect(scoreFindings(LABELS, [late], lookback).truePositives).toBe(1);
  });

  it('takes nearest-rank percentiles', () => {
    expect(percentile([5, 1, 3, 2, 4], 50)).toBe(3);
    expect(percentile([5, 1, 3, 2, 4], 95)).toBe(5);
    expect(percentile([], 50)).toBeNaN();
  });
});
