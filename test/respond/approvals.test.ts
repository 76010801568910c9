import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { approvalRoutes, redactApprovalUrl, signToken } from '../../src/respond/approvals.js';
import type { ApprovalLinks } from '../../src/respond/types.js';
import { modulesWithFake } from './fake-revoke.js';
import { finding } from './fixtures.js';
import { APPROVAL_SECRET, harness, ShiftClock, type Harness } from './harness.js';

const POLICY = {
  policies: [{ id: 'kill', actions: [{ type: 'fake-revoke' }] }],
  safeguards: { approval_ttl: '1h' },
};

describe('approval flow end to end (app.inject)', () => {
  let h: Harness | null = null;
  let app: FastifyInstance | null = null;
  const revoked: string[] = [];
  const clock = new ShiftClock();

  afterEach(async () => {
    await app?.close();
    await h?.close();
    app = null;
    h = null;
    revoked.length = 0;
  });

  async function setup(): Promise<{ links: ApprovalLinks; h: Harness; app: FastifyInstance }> {
    h = harness(POLICY, { TUSKGUARD_APPROVAL_SECRET: APPROVAL_SECRET }, { modules: modulesWithFake(revoked), clock });
    const report = await h.responder.dispatcher.dispatch(finding());
    const links = report.outcomes[0]!.approval!;
    expect(links).toBeDefined();
    app = Fastify();
    await app.register(approvalRoutes, h.responder.approvalRoutes!);
    await app.ready();
    return { links, h, app };
  }
  const path = (url: string) => new URL(url).pathname;

  it('GET shows the held action and changes nothing (link scanners fetch links)', async () => {
    const { links, h, app } = await setup();
    const json = await app.inject({ method: 'GET', url: path(links.approveUrl) });
    expect(json.statusCode).toBe(200);
    expect(json.json()).toMatchObject({ decision: 'approve', status: 'pending', action: 'fake-revoke', target: 'moderation-bot', rule: 'admin-mass-action', severity: 'critical' });
    const html = await app.inject({ method: 'GET', url: path(links.denyUrl), headers: { accept: 'text/html' } });
    expect(html.headers['content-type']).toMatch(/text\/html/);
    expect(html.body).toContain('<form method="post">');
    expect(html.body).toContain('Deny fake-revoke?');
    expect(h.responder.approvals!.get(links.id)!.status).toBe('pending');
  });

  it('POST approve runs the held action once, as the person, and audits both', async () => {
    const { links, h, app } = await setup();
    const res = await app.inject({ method: 'POST', url: path(links.approveUrl), payload: { by: 'alice', note: 'confirmed with owner' } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: links.id, decision: 'approve', status: 'approved', outcome: { status: 'queued' } });
    await h.responder.worker.drain(5_000);
    expect(revoked).toEqual(['moderation-bot']);
    const actions = h.responder.audit.list({ limit: 100 }).map((r) => [r.action, r.actor, r.result]);
    expect(actions).toEqual(expect.arrayContaining([
      ['approval.approve', 'person:alice', 'approved'],
      ['fake-revoke', 'person:alice', 'queued'],
    ]));
    expect((await app.inject({ method: 'POST', url: path(links.approveUrl), payload: {} })).statusCode).toBe(409);
    expect((await app.inject({ method: 'POST', url: path(links.denyUrl), payload: {} })).statusCode).toBe(409);
  });

  it('POST deny (browser form) takes no action', async () => {
    const { links, h, app } = await setup();
    const res = await app.inject({ method: 'POST', url: path(links.denyUrl), headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' }, payload: 'by=bob&note=known+job' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('was denied by bob');
    await h.responder.worker.drain(1_000);
    expect(revoked).toEqual([]);
    expect(h.responder.audit.head()).toMatchObject({ action: 'approval.deny', actor: 'person:bob' });
    expect(h.responder.approvals!.get(links.id)).toMatchObject({ status: 'denied', decidedBy: 'bob', note: 'known job' });
  });

  it('refuses tampered, unknown, malformed and expired links', async () => {
    const { links, h, app } = await setup();
    const tampered = links.approveUrl.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
    expect((await app.inject({ method: 'POST', url: path(tampered), payload: {} })).statusCode).toBe(400);
    // A deny token relabelled as approve does not verify either.
    expect((await app.inject({ method: 'POST', url: path(links.denyUrl.replace('.deny.', '.approve.')), payload: {} })).statusCode).toBe(400);
    expect((await app.inject({ method: 'GET', url: '/approvals/not-a-token' })).statusCode).toBe(400);
    const exp = Math.floor(Date.now() / 1000) + 3600;
    expect((await app.inject({ method: 'GET', url: `/approvals/${signToken(APPROVAL_SECRET, 'nope', 'approve', exp)}` })).statusCode).toBe(404);
    expect((await app.inject({ method: 'POST', url: path(links.approveUrl), payload: { unexpected: 1 } })).statusCode).toBe(400);
    clock.advance(2 * 3_600_000);
    const expired = await app.inject({ method: 'POST', url: path(links.approveUrl), payload: {} });
    expect(expired.statusCode).toBe(410);
    expect(h.responder.dispatcher.expireApprovals()).toBe(1);
    expect(h.responder.audit.head()).toMatchObject({ action: 'approval.expired', result: 'expired' });
    expect(revoked).toEqual([]);
    clock.offset = 0;
  });

  it('refuses hostile input: a 10 kB token, an oversized body', async () => {
    const { links, h, app } = await setup();
    const hostile = `v1.${'a'.repeat(32)}.approve.${'9'.repeat(12)}.${'A'.repeat(10_000)}`;
    expect(h.responder.approvals!.inspect(hostile)).toEqual({ ok: false, reason: 'malformed' });
    expect((await app.inject({ method: 'GET', url: `/approvals/${hostile}` })).statusCode).toBe(414);
    const big = await app.inject({ method: 'POST', url: path(links.approveUrl), payload: { by: 'x', note: 'n'.repeat(10_000) } });
    expect(big.statusCode).toBe(413);
    expect(h.responder.approvals!.get(links.id)!.status).toBe('pending');
  });

  it('redacts approval tokens from URLs for request logs', () => {
    expect(redactApprovalUrl('/approvals/v1.abc.approve.123.deadbeef?x=1')).toBe('/approvals/[REDACTED]?x=1');
  });
});
