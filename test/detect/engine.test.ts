import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import type { Event } from '../../src/core/event.js';
import type { Finding } from '../../src/core/finding.js';
import { Metrics } from '../../src/core/metrics.js';
import { DetectionEngine } from '../../src/detect/engine.js';
import type { Rule } from '../../src/detect/types.js';
import { openControlDb } from '../../src/store/control.js';
import { DAY, HOUR, MIN, T0, ev, rule } from './helpers.js';

const FP = 'f'.repeat(32);
const burst = () => rule({ id: 'burst', type: 'threshold', window: '5m', threshold: 3, suppress: '30m' });
const origin = () => rule({ id: 'origin', type: 'new-term', fields: ['source.network'], learning_period: '1d', suppress: '0s' });

function feed(engine: DetectionEngine, events: Event[]): Finding[] {
  return events.flatMap((e) => engine.process(e));
}

function tmpDb() {
  return openControlDb(mkdtempSync(join(tmpdir(), 'tg-detect-')));
}

describe('DetectionEngine', () => {
  it('accepts out-of-order events within the lateness bound and skips later ones, counting them', async () => {
    const metrics = new Metrics();
    const engine = new DetectionEngine({ rules: [burst()], metrics, latenessMs: 30_000 });
    expect(feed(engine, [ev(T0 + 60_000, { 'tuskguard.fingerprint': FP })])).toEqual([]);
    expect(feed(engine, [ev(T0 + 45_000, { 'tuskguard.fingerprint': FP })])).toEqual([]); // 15 s late: counted
    expect(feed(engine, [ev(T0, { 'tuskguard.fingerprint': FP })])).toEqual([]); // 60 s late: skipped
    expect(await metrics.value('tuskguard_detect_late_events_total')).toBe(1);
    const out = feed(engine, [ev(T0 + 61_000, { 'tuskguard.fingerprint': FP })]);
    expect(out).toHaveLength(1);
    expect(out[0]!.evidence.count).toBe(3);
    expect(await metrics.value('tuskguard_findings_total', { rule: 'burst', severity: 'high' })).toBe(1);
  });

  it('suppresses a group for the suppress period, then fires again', () => {
    const engine = new DetectionEngine({ rules: [burst()] });
    const events = Array.from({ length: 60 }, (_, i) => ev(T0 + i * MIN, { 'tuskguard.fingerprint': FP }));
    const out = feed(engine, events);
    expect(out.map((f) => f.at)).toEqual([T0 + 2 * MIN, T0 + 32 * MIN].map((t) => new Date(t).toISOString()));
    expect(new Set(out.map((f) => f.id)).size).toBe(2);
  });

  it('ignores events allowed by an exception until it expires', () => {
    const r = rule({
      id: 'burst',
      type: 'threshold',
      window: '5m',
      threshold: 3,
      exceptions: [{ reason: 'load test INC-7', expires: '2026-11-02T00:10:00Z', match: { 'source.ip': { cidr: '10.0.0.0/8' } } }],
    });
    const engine = new DetectionEngine({ rules: [r] });
    const at = (t: number) => ev(t, { 'tuskguard.fingerprint': FP, 'source.ip': '10.1.2.3' });
    expect(feed(engine, [at(T0), at(T0 + 1000), at(T0 + 2000), at(T0 + 3000)])).toEqual([]);
    expect(feed(engine, [at(T0 + 11 * MIN), at(T0 + 11 * MIN + 1), at(T0 + 11 * MIN + 2)])).toHaveLength(1);
  });

  it('gives the same finding ids on every run of the same input', () => {
    const events = Array.from({ length: 10 }, (_, i) => ev(T0 + i * 1000, { 'tuskguard.fingerprint': FP }));
    const a = feed(new DetectionEngine({ rules: [burst()] }), events);
    const b = feed(new DetectionEngine({ rules: [burst()] }), events);
    expect(a.map((f) => f.id)).toEqual(b.map((f) => f.id));
    expect(a[0]!.id).toMatch(/^[0-9a-f]{32}$/);
  });

  it('isolates a failing rule: counts the error and keeps evaluating the others', async () => {
    const metrics = new Metrics();
    const good = burst();
    const bad: Rule = { ...burst(), id: 'broken', detector: { ...good.detector, shape: 'x', idleMs: 1, init: () => ({}), isEmpty: () => true, observe: () => { throw new Error('boom'); } } };
    const engine = new DetectionEngine({ rules: [bad, good], metrics });
    const out = feed(engine, Array.from({ length: 3 }, (_, i) => ev(T0 + i, { 'tuskguard.fingerprint': FP })));
    expect(out.map((f) => f.rule)).toEqual(['burst']);
    expect(await metrics.value('tuskguard_errors_total', { component: 'detect', stage: 'rule' })).toBe(3);
  });

  it('keeps at most maxGroupsPerRule groups in memory and evicts idle empty groups', () => {
    const engine = new DetectionEngine({ rules: [burst()], maxGroupsPerRule: 100 });
    for (let i = 0; i < 1000; i++) engine.process(ev(T0 + i, { 'tuskguard.fingerprint': i.toString(16).padStart(32, '0') }));
    expect(engine.groupCounts().burst).toBeLessThanOrEqual(100);
    expect(engine.groupCounts().burst).toBeGreaterThanOrEqual(90);
    engine.process(ev(T0 + HOUR, { 'tuskguard.fingerprint': FP }));
    expect(engine.groupCounts().burst).toBe(1);
  });
});

describe('DetectionEngine persistence', () => {
  const learn = (fp: string, days: number) =>
    Array.from({ length: days * 24 }, (_, h) => ev(T0 + h * HOUR, { 'tuskguard.fingerprint': fp, 'source.ip': '203.0.113.7' }));

  it('a restart in the middle neither forgets learned state nor repeats a finding', () => {
    const events = [
      ...learn(FP, 3),
      ev(T0 + 3 * DAY + 1, { 'tuskguard.fingerprint': FP, 'source.ip': '198.51.100.1' }),
      ...Array.from({ length: 10 }, (_, i) => ev(T0 + 3 * DAY + 10 + i * 1000, { 'tuskguard.fingerprint': FP, 'source.ip': '192.0.2.1' })),
      ev(T0 + 4 * DAY, { 'tuskguard.fingerprint': FP, 'source.ip': '192.0.2.99' }),
    ].sort((a, b) => a['@timestamp'].localeCompare(b['@timestamp']));
    const whole = feed(new DetectionEngine({ rules: [burst(), origin()] }), events);
    expect(whole.map((f) => f.rule).sort()).toEqual(['burst', 'origin', 'origin']);

    const db = tmpDb();
    const cut = events.findIndex((e) => e['source.ip'] === '192.0.2.1') + 1; // mid-burst, after the first new network
    const first = new DetectionEngine({ rules: [burst(), origin()], db });
    const before = feed(first, events.slice(0, cut));
    first.close();
    // The restarted engine sees the whole file again, as a replay from the start would.
    const second = new DetectionEngine({ rules: [burst(), origin()], db });
    const after = feed(second, events);
    expect([...before, ...after].map((f) => f.id).sort()).toEqual(whole.map((f) => f.id).sort());
  });

  it('does not re-emit a finding whose id was recorded, even without a snapshot of its group', () => {
    const db = tmpDb();
    const events = Array.from({ length: 5 }, (_, i) => ev(T0 + i * 1000, { 'tuskguard.fingerprint': FP }));
    const a = new DetectionEngine({ rules: [burst()], db, snapshotEveryEvents: 1e9, snapshotEveryMs: 1e12, clock: new ManualClock(0) });
    expect(feed(a, events)).toHaveLength(1);
    // Crash: no close(), no snapshot. The replayed events rebuild the group; the id is remembered.
    const b = new DetectionEngine({ rules: [burst()], db });
    expect(feed(b, events)).toEqual([]);
  });

  it('moves idle groups with learned state to the database and back', () => {
    const db = tmpDb();
    const engine = new DetectionEngine({ rules: [origin()], db, maxGroupsPerRule: 10 });
    const fps = Array.from({ length: 50 }, (_, i) => i.toString(16).padStart(32, 'a'));
    for (let h = 0; h < 48; h++) for (const fp of fps) engine.process(ev(T0 + h * HOUR, { 'tuskguard.fingerprint': fp, 'source.ip': '203.0.113.7' }));
    expect(engine.groupCounts().origin).toBeLessThanOrEqual(10);
    engine.snapshot();
    // Every key's learned network survived eviction: the known network stays quiet, a new one fires.
    const quiet = fps.flatMap((fp) => engine.process(ev(T0 + 2 * DAY + 1, { 'tuskguard.fingerprint': fp, 'source.ip': '203.0.113.9' })));
    expect(quiet).toEqual([]);
    const loud = fps.flatMap((fp) => engine.process(ev(T0 + 2 * DAY + 2, { 'tuskguard.fingerprint': fp, 'source.ip': '198.51.100.9' })));
    expect(loud).toHaveLength(50);
  });

  it('discards saved state when a rule changes its meaning', () => {
    const db = tmpDb();
    const a = new DetectionEngine({ rules: [origin()], db });
    feed(a, learn(FP, 2));
    a.close();
    const changed = rule({ id: 'origin', type: 'new-term', fields: ['user_agent.name'], learning_period: '1d' });
    const b = new DetectionEngine({ rules: [changed], db });
    // Fresh state: the group starts a new learning period, so a new UA is not yet a finding.
    expect(feed(b, [ev(T0 + 2 * DAY + 5, { 'tuskguard.fingerprint': FP, 'user_agent.original': 'curl/8' })])).toEqual([]);
  });
});

describe('DetectionEngine on hostile events', () => {
  it('counts unusable timestamps and survives odd field values without losing the rest', async () => {
    const metrics = new Metrics();
    const rules = [
      burst(),
      origin(),
      rule({ id: 'scoped', type: 'new-term', fields: ['mastodon.scope', 'user_agent.name'], learning_period: '0s', filter: { 'url.path': { regex: '^/api/' } } }),
    ];
    const engine = new DetectionEngine({ rules, metrics });
    const odd = [
      { '@timestamp': 'yesterday', 'event.id': 'x1' },
      { '@timestamp': new Date(T0).toISOString(), 'event.id': 'x2', 'tuskguard.fingerprint': FP, 'user_agent.original': 'x'.repeat(100_000), 'url.path': `/api/${'a'.repeat(20_000)}` },
      { '@timestamp': new Date(T0 + 1).toISOString(), 'event.id': 'x3', 'tuskguard.fingerprint': FP, 'mastodon.required_scopes': [], 'source.ip': 'not-an-ip' },
      { '@timestamp': new Date(T0 + 2).toISOString(), 'event.id': 'x4', 'tuskguard.fingerprint': FP, 'source.ip': '2001:db8::1', 'url.path': '/api/v1/x' },
    ] as unknown as Event[];
    const out = feed(engine, odd);
    expect(out.map((f) => f.rule)).toEqual(['burst']); // x2, x3, x4 make three
    expect(await metrics.value('tuskguard_errors_total', { component: 'detect', stage: 'timestamp' })).toBe(1);
    expect(await metrics.value('tuskguard_errors_total', { component: 'detect', stage: 'rule' })).toBe(0);
  });
});
