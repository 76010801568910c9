import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { validateConfig } from '../../../src/config/load.js';
import { RESPONDER_REVOKE_CHANNEL, REVOKE_RETRY_CHANNEL } from '../../../src/keys/revocation/retry.js';
import { startKeyLifecycle, type RunningLifecycle } from '../../../src/keys/rotation/runtime.js';
import { Outbox } from '../../../src/respond/outbox.js';
import { openControlDb } from '../../../src/store/control.js';
import { MastodonBench } from '../../respond/mastodon-bench.js';

/**
 * The reverse of held.test.ts: a `keys-revoke-retry` job (queued by `keys revoke` or an aborted
 * rotation) already holds the key's pending revocation when a finding makes the responder's
 * `revoke` action run. The action queues no second job while that one is live, and says so.
 */
const REVOKE = { policies: [{ id: 'revoke-high', match: { severity: 'high', managed_key: true }, actions: [{ type: 'revoke' }] }] };

let b: MastodonBench;
let lifecycle: RunningLifecycle | null = null;
beforeEach(async () => {
  b = await MastodonBench.start();
});
afterEach(async () => {
  await lifecycle?.stop();
  lifecycle = null;
  await b.close();
});

/** Jobs of `channel` in the data dir: id and status. */
const jobsOf = (channel: string): Array<{ id: number; status: string }> => b.outboxJobs(channel).map((j) => ({ id: j.id, status: j.status }));

/**
 * `keys revoke bot` while Mastodon is down: the key is revoke-pending and its retry job waits
 * (a long base delay keeps it pending; the lifecycle is stopped so nothing delivers it).
 */
async function pendingByCli(): Promise<{ token: string; retryJob: number }> {
  const { token, item } = await b.appKey('bot');
  await b.importKeys([item]);
  await b.sim.setDown(true);
  const loaded = { config: validateConfig({ home: b.home, revocation: { retry_base: '1h', retry_max: '2h' } }), home: b.home, file: null };
  lifecycle = await startKeyLifecycle({ loaded, logger: b.logger, env: b.env(), events: null, notifier: () => undefined });
  const report = await lifecycle!.lifecycle.revocations.revokeKey({ keyId: 'bot', reason: 'leaked in a paste', actor: 'cli:alice' });
  expect(report.outcome).toBe('pending');
  await lifecycle!.stop();
  lifecycle = null;
  expect(b.keyStatus('bot')).toBe('revoke-pending');
  const jobs = jobsOf(REVOKE_RETRY_CHANNEL);
  expect(jobs).toEqual([{ id: expect.any(Number), status: 'pending' }]);
  return { token, retryJob: jobs[0]!.id };
}

/** Settle job `id` as its worker would after its last attempt (dead) or a delivery (done). */
function settle(id: number, how: 'done' | 'dead'): void {
  const db = openControlDb(b.home);
  try {
    const outbox = new Outbox(db, { clock: { now: () => Date.now() + 3 * 3_600_000 } }); // past its delay
    expect(outbox.lease(REVOKE_RETRY_CHANNEL, 'test', 10, 1_000).map((j) => j.id)).toContain(id);
    if (how === 'done') expect(outbox.complete(id, 'test', { outcome: 'pending' })).toBe(true);
    else expect(outbox.fail(id, 'test', 'attempts used up', { retryAt: 0, permanent: true })).toBe('dead');
  } finally {
    db.close();
  }
}

describe('the responder revoke action while a keys-revoke-retry job holds the key', () => {
  it('queues no second job and says which job holds the revocation', async () => {
    const { token, retryJob } = await pendingByCli();
    const r = await b.respond(REVOKE);

    const report = await r.dispatch(b.finding('bot'));
    expect(report.outcomes).toEqual([expect.objectContaining({ action: 'revoke', target: 'bot', status: 'skipped' })]);
    const message = report.outcomes[0]!.message;
    expect(message).toContain(`already being retried by job ${retryJob}`);
    expect(message).toContain('keys revoke');
    expect(message).not.toMatch(/\bqueued;|revocation of bot \(fingerprint [0-9a-f]+\) queued/);
    expect(jobsOf(RESPONDER_REVOKE_CHANNEL)).toEqual([]);
    expect(jobsOf(REVOKE_RETRY_CHANNEL)).toEqual([{ id: retryJob, status: 'pending' }]);

    // The audit chain records it as skipped, with the job that holds it.
    const rec = r.responder.audit.list({ limit: 50 }).find((a) => a.action === 'revoke')!;
    expect(rec.result).toBe('skipped');
    expect(rec.details).toMatchObject({ job: retryJob, channel: REVOKE_RETRY_CHANNEL, queued: false });
    expect(b.tokenState(token)).toBe('live');
    expect(b.leaks(r.responder.audit.list({ limit: 50 }))).toEqual([]);
  });

  it.each(['dead', 'done'] as const)('queues its own job as before once that job is %s and the key is still revoke-pending', async (how) => {
    const { token, retryJob } = await pendingByCli();
    settle(retryJob, how);
    await b.sim.setDown(false);
    const r = await b.respond(REVOKE);

    const report = await r.dispatch(b.finding('bot'));
    expect(report.outcomes).toEqual([expect.objectContaining({ action: 'revoke', target: 'bot', status: 'queued' })]);
    expect(await r.drain(5_000)).toMatchObject({ drained: true, pending: 0, dead: 0 });
    expect(b.tokenState(token)).toBe('revoked');
    expect(b.keyStatus('bot')).toBe('revoked');
    expect(jobsOf(RESPONDER_REVOKE_CHANNEL).map((j) => j.status)).toEqual(['done']);
    expect(jobsOf(REVOKE_RETRY_CHANNEL)).toEqual([{ id: retryJob, status: how }]);
  });
});
