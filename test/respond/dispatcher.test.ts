import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ActionRecord } from '../../src/store/types.js';
import type { KeyInfo } from '../../src/respond/types.js';
import { HttpReceiver } from '../helpers/slack-receiver.js';
import { modulesWithFake } from './fake-revoke.js';
import { finding, KEYS } from './fixtures.js';
import { APPROVAL_SECRET, harness, ShiftClock, type Harness } from './harness.js';

const BOTS: Record<string, KeyInfo> = {
  ...KEYS,
  ...Object.fromEntries(['a', 'b', 'c', 'd'].map((x) => [`bot-${x}`, { id: `bot-${x}`, scopes: ['write:statuses'], labels: {}, kind: 'app' as const, owner: 'ops', fingerprint: `fp_${x}` }])),
};
const keyInfo = { get: (id: string) => BOTS[id] ?? null };

function onKey(key: string, n = 1) {
  return finding({ id: `f-${key}-${n}`, key, fingerprint: BOTS[key]?.fingerprint ?? null });
}

describe('dispatcher safeguards', () => {
  let slack: HttpReceiver;
  let h: Harness | null = null;
  const revoked: string[] = [];

  beforeAll(async () => {
    slack = await HttpReceiver.start();
  });
  afterAll(async () => slack.close());
  afterEach(async () => {
    await h?.close();
    h = null;
    revoked.length = 0;
    slack.requests.length = 0;
  });

  function make(policyFile: Record<string, unknown>, env: NodeJS.ProcessEnv = {}, clock = new ShiftClock()) {
    h = harness(policyFile, { TUSKGUARD_SLACK_WEBHOOK_URL: slack.url(), TUSKGUARD_APPROVAL_SECRET: APPROVAL_SECRET, ...env }, { modules: modulesWithFake(revoked), keyInfo, clock });
    return h;
  }
  const revokeAndAlert = (extra: Record<string, unknown> = {}) => ({
    policies: [{ id: 'kill', actions: [{ type: 'fake-revoke' }, { type: 'notify-slack' }] }],
    safeguards: { revocation_budget: { max: 2, window: '1h' }, ...extra },
  });

  it('acts once per finding and action: a second dispatch of the same finding does nothing', async () => {
    const { responder } = make(revokeAndAlert());
    const first = await responder.dispatcher.dispatch(onKey('bot-a'));
    const seq = responder.audit.head()!.seq;
    const second = await responder.dispatcher.dispatch(onKey('bot-a'));
    expect(first.outcomes.map((o) => o.status)).toEqual(['queued', 'queued']);
    expect(second.outcomes).toEqual([]);
    expect(responder.audit.head()!.seq).toBe(seq);
    await responder.worker.drain(5_000);
    expect(revoked).toEqual(['bot-a']);
  });

  it('records an action with no target (no key) once as skipped', async () => {
    const { responder } = make(revokeAndAlert());
    const noKey = finding({ id: 'f-stuffing', rule: 'token-stuffing', key: null, fingerprint: null, group: { 'source.network': '203.0.113.0/24' } });
    const first = await responder.dispatcher.dispatch(noKey);
    expect(first.outcomes[0]).toMatchObject({ action: 'fake-revoke', status: 'skipped', message: 'fake-revoke does not apply to this finding (no target)' });
    const seq = responder.audit.head()!.seq;
    expect((await responder.dispatcher.dispatch(noKey)).outcomes).toEqual([]);
    expect(responder.audit.head()!.seq).toBe(seq);
  });

  it('opens the circuit breaker past the budget, alerts loudly once, and waits for a person', async () => {
    const { responder } = make(revokeAndAlert({ cooldown: '1ms' }));
    const statuses = [];
    for (const k of ['bot-a', 'bot-b', 'bot-c', 'bot-d']) statuses.push((await responder.dispatcher.dispatch(onKey(k))).outcomes[0]!.status);
    expect(statuses).toEqual(['queued', 'queued', 'blocked', 'blocked']);
    expect(responder.safeguards.breaker()).toMatchObject({ open: true });
    await responder.worker.drain(5_000);
    expect(revoked.sort()).toEqual(['bot-a', 'bot-b']);
    const loud = slack.bodies.filter((b) => JSON.stringify(b).includes('circuit breaker OPEN'));
    expect(loud).toHaveLength(1);
    expect(JSON.stringify(loud[0])).toContain('tuskguard respond reset-breaker');
    expect(responder.audit.list({ limit: 1000 }).filter((r) => r.action === 'breaker.open')).toHaveLength(1);

    responder.dispatcher.resetBreaker('cli:alice', 'false positive storm checked');
    expect(responder.audit.head()).toMatchObject({ action: 'breaker.reset', actor: 'cli:alice', result: 'closed' });
    // The blocked finding is worth another try once a person has reset the breaker.
    expect((await responder.dispatcher.dispatch(onKey('bot-c'))).outcomes[0]!.status).toBe('queued');
  });

  it('holds protected keys (admin:* scope, protected label) for approval and puts the links in the alert', async () => {
    const { responder } = make(revokeAndAlert());
    const report = await responder.dispatcher.dispatch(onKey('moderation-bot'));
    expect(report.outcomes.map((o) => o.status)).toEqual(['approval-pending', 'queued']);
    expect(report.outcomes[0]!.message).toContain('protected scope admin:read');
    expect((await responder.dispatcher.dispatch(onKey('vip-bot'))).outcomes[0]!.message).toContain('protected label protected=true');
    await responder.worker.drain(5_000);
    expect(revoked).toEqual([]);
    const msg = JSON.stringify(slack.bodies[0]);
    expect(msg).toMatch(/"url":"https:\/\/tuskguard\.example\.org\/approvals\/v1\.[^"]+\.approve\.\d+\.[A-Za-z0-9_-]{43}"/);
    expect(msg).toContain('.deny.');
    // The links are bearer credentials: the audit chain records the approval id, not the token.
    expect(JSON.stringify(responder.audit.list({ limit: 1000 }))).not.toContain('/approvals/v1.');
    expect(responder.approvals!.list({ status: 'pending' })).toHaveLength(2);
  });

  it('blocks a protected action when approvals are not configured', async () => {
    const { responder } = make(revokeAndAlert(), { TUSKGUARD_APPROVAL_SECRET: '' });
    const report = await responder.dispatcher.dispatch(onKey('moderation-bot'));
    expect(report.outcomes[0]).toMatchObject({ status: 'blocked' });
    expect(report.outcomes[0]!.message).toContain('TUSKGUARD_APPROVAL_SECRET');
  });

  it('sends a responder alert with the links when no policy alert carried them', async () => {
    const { responder } = make({ policies: [{ id: 'kill', actions: [{ type: 'fake-revoke' }] }] });
    await responder.dispatcher.dispatch(onKey('moderation-bot'));
    await responder.worker.drain(5_000);
    expect(slack.bodies).toHaveLength(1);
    expect(JSON.stringify(slack.bodies[0])).toMatch(/Approval needed: fake-revoke on moderation-bot.*\/approvals\/v1\./);
  });

  it('skips allowlisted findings until the entry expires', async () => {
    const clock = new ShiftClock();
    const until = new Date(Date.now() + 60_000).toISOString();
    const { responder } = make(revokeAndAlert({ allowlist: [{ key: 'bot-a', actions: ['fake-revoke'], until, reason: 'load test OPS-1' }] }), {}, clock);
    const r1 = await responder.dispatcher.dispatch(onKey('bot-a', 1));
    expect(r1.outcomes.map((o) => [o.status, o.message])).toEqual([
      ['skipped', `allowlisted until ${until}: load test OPS-1`],
      ['queued', 'alert queued for notify-slack'],
    ]);
    clock.advance(61_000);
    expect((await responder.dispatcher.dispatch(onKey('bot-a', 2))).outcomes[0]!.status).toBe('queued');
  });

  it('cools down: the same action on the same key waits', async () => {
    const clock = new ShiftClock();
    const { responder } = make(revokeAndAlert({ cooldown: '10m' }), {}, clock);
    expect((await responder.dispatcher.dispatch(onKey('bot-a', 1))).outcomes[0]!.status).toBe('queued');
    const second = (await responder.dispatcher.dispatch(onKey('bot-a', 2))).outcomes[0]!;
    expect(second).toMatchObject({ status: 'skipped' });
    expect(second.message).toMatch(/cooling down until/);
    clock.advance(11 * 60_000);
    expect((await responder.dispatcher.dispatch(onKey('bot-a', 3))).outcomes[0]!.status).toBe('queued');
  });

  it('simulates (dry_run): decides and audits, sends and spends nothing, and does not block the real run', async () => {
    const policy = revokeAndAlert();
    const sim = make({ ...policy, dry_run: true });
    const report = await sim.responder.dispatcher.dispatch(onKey('bot-a'));
    expect(report.outcomes.map((o) => o.status)).toEqual(['dry-run', 'dry-run']);
    expect(sim.responder.outbox.counts()).toMatchObject({ pending: 0, done: 0 });
    expect(sim.responder.safeguards.budgetUsed()).toBe(0);
    expect(sim.responder.audit.head()!.details).toMatchObject({ dry_run: true });
    expect((await sim.responder.dispatcher.dispatch(onKey('moderation-bot'))).outcomes[0]!.message).toMatch(/would wait for a person's approval/);
  });

  it('mirrors every audit record to the store as an ActionRecord', async () => {
    const mirrored: ActionRecord[] = [];
    h = harness(revokeAndAlert(), { TUSKGUARD_SLACK_WEBHOOK_URL: slack.url() }, { modules: modulesWithFake(revoked), keyInfo, mirror: async (r) => void mirrored.push(...r) });
    await h.responder.dispatcher.dispatch(onKey('bot-a'));
    await h.responder.worker.drain(5_000);
    await h.responder.audit.flushMirror();
    expect(mirrored.map((r) => r.action)).toEqual(expect.arrayContaining(['fake-revoke', 'notify-slack', 'fake-revoke.delivered', 'notify-slack.delivered']));
    expect(mirrored.find((r) => r.action === 'fake-revoke')).toMatchObject({ key: 'bot-a', policy: 'kill', rule: 'admin-mass-action', status: 'queued', finding: 'f-bot-a-1' });
  });
});
