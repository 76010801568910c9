import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HttpReceiver } from '../../helpers/slack-receiver.js';
import { MastodonBench, until } from '../mastodon-bench.js';

// The revoke action end to end below the detection engine: finding → policy → safeguards →
// outbox → key revocation service → simulator (RFC 7009) → /oauth/token/info answers 401.

let b: MastodonBench;
beforeEach(async () => {
  b = await MastodonBench.start();
});
afterEach(async () => b.close());

const REVOKE = { policies: [{ id: 'revoke-high', match: { severity: 'high', managed_key: true }, actions: [{ type: 'revoke' }] }] };

describe('revoke', () => {
  it('revokes the key on Mastodon, confirms the 401 and records the verification', async () => {
    const { token, item } = await b.appKey('bot');
    await b.importKeys([item]);
    const r = await b.respond(REVOKE);

    const report = await r.dispatch(b.finding('bot'));
    expect(report.outcomes).toEqual([expect.objectContaining({ action: 'revoke', target: 'bot', status: 'queued' })]);
    expect(await r.drain(5_000)).toMatchObject({ drained: true, pending: 0, dead: 0 });

    expect(b.tokenState(token)).toBe('revoked');
    expect(b.keyStatus('bot')).toBe('revoked');
    const job = r.responder.outbox.list({ channel: 'revoke' })[0]!;
    expect(job).toMatchObject({ status: 'done', result: { outcome: 'revoked', verification: { tokens: [{ status: 401, confirmed: true }] } } });
    const actions = r.responder.audit.list({ limit: 50 }).map((a) => [a.action, a.result]);
    expect(actions).toEqual(expect.arrayContaining([['revoke', 'queued'], ['key.revoke', 'done'], ['revoke.delivered', 'done']]));
    const delivered = r.responder.audit.list({ limit: 50 }).find((a) => a.action === 'revoke.delivered')!;
    expect(delivered.details.result).toMatchObject({ outcome: 'revoked', verification: { method: 'GET /oauth/token/info' } });
    expect(b.leaks(r.responder.audit.list({ limit: 50 }), r.responder.outbox.list({}))).toEqual([]);
  });

  it('keeps the revocation pending while Mastodon is down (people are told once) and finishes it when it is back, across a restart', async () => {
    const { token, item } = await b.appKey('bot');
    await b.importKeys([item]);
    const slack = await HttpReceiver.start();
    const env = { TUSKGUARD_SLACK_WEBHOOK_URL: slack.url() };
    let r = await b.respond(REVOKE, env);
    await b.sim.setDown(true);

    await r.dispatch(b.finding('bot'));
    expect(await r.drain(300)).toMatchObject({ drained: false });
    const job = r.responder.outbox.list({ channel: 'revoke' })[0]!;
    expect(['pending', 'leased']).toContain(job.status);
    expect(job.maxAttempts).toBe(500); // revocation.max_attempts: an outage does not dead-letter it within minutes
    await slack.waitFor(1);
    await new Promise((res) => setTimeout(res, 200)); // more retries fail meanwhile
    expect(slack.requests.map((q) => q.raw).filter((x) => x.includes('revoke-pending for bot'))).toHaveLength(1);
    await slack.close();
    expect(b.keyStatus('bot')).toBe('revoke-pending');
    expect(b.tokenState(token)).toBe('live');
    expect(r.responder.outbox.list({ channel: 'revoke' })[0]!.lastError).toMatch(/revoke-pending|cannot be reached|ECONNREFUSED/);

    // A restart: the new responder finds the pending job and delivers it once Mastodon answers.
    r = await b.respond(REVOKE);
    await b.sim.setDown(false);
    expect(await r.drain(5_000)).toMatchObject({ drained: true, pending: 0 });
    expect(b.tokenState(token)).toBe('revoked');
    expect(b.keyStatus('bot')).toBe('revoked');
    expect(b.leaks()).toEqual([]);
  });

  it('holds a protected (admin:*) key for approval and revokes it once a person approves', async () => {
    const { token, item } = b.userKey('admin', b.owner, ['admin:read', 'admin:write']);
    await b.importKeys([item]);
    const r = await b.respond(REVOKE);

    const report = await r.dispatch(b.finding('admin'));
    expect(report.outcomes[0]).toMatchObject({ action: 'revoke', status: 'approval-pending' });
    await r.drain(2_000);
    expect(b.tokenState(token)).toBe('live');

    const approval = r.responder.approvals!.get(report.outcomes[0]!.approval!.id)!;
    const decided = await r.responder.dispatcher.decide(approval, 'approve', 'alice');
    expect(decided.status).toBe('queued');
    await r.drain(5_000);
    expect(b.tokenState(token)).toBe('revoked');
    const rec = r.responder.audit.list({ limit: 50 }).find((a) => a.action === 'key.revoke')!;
    expect(rec.actor).toBe('person:alice');
  });

  it('fails with what to set when there is no master key, and revokes nothing', async () => {
    const { token, item } = await b.appKey('bot');
    await b.importKeys([item]);
    const r = await b.respond(REVOKE, { TUSKGUARD_MASTER_KEY: '' });

    expect(r.keyActions).toBe(false);
    const report = await r.dispatch(b.finding('bot'));
    expect(report.outcomes[0]).toMatchObject({ status: 'failed', message: expect.stringContaining('TUSKGUARD_MASTER_KEY') });
    await r.drain(500);
    expect(b.tokenState(token)).toBe('live');
  });

  it('skips a key that is already revoked and a finding without a managed key', async () => {
    const { item } = await b.appKey('bot');
    await b.importKeys([item]);
    const r = await b.respond({ policies: [{ id: 'all', match: { severity: 'high' }, actions: [{ type: 'revoke' }] }] });
    await r.dispatch(b.finding('bot'));
    await r.drain(5_000);

    const again = await r.dispatch(b.finding('bot', { rule: 'key-new-origin' }));
    // The cooldown of the first revocation covers the key; past it, the key's status would.
    expect(again.outcomes[0]).toMatchObject({ status: 'skipped' });
    const none = await r.dispatch(b.finding(null));
    expect(none.outcomes[0]).toMatchObject({ status: 'skipped', message: expect.stringContaining('no target') });
    await until(() => r.responder.outbox.counts().pending === 0);
    expect(r.responder.outbox.list({ channel: 'revoke' })).toHaveLength(1);
  });
});
