import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OutboxRevocationRetry, RESPONDER_REVOKE_CHANNEL, REVOKE_RETRY_CHANNEL } from '../../../src/keys/revocation/retry.js';
import { revoke } from '../../../src/respond/actions/revoke/index.js';
import { openRespondDb } from '../../../src/respond/db.js';
import { Outbox } from '../../../src/respond/outbox.js';
import type { ControlDb } from '../../../src/store/control.js';

/**
 * A revocation the responder's own `revoke` job holds gets no second job from the revocation
 * retry queue; once that job is done or dead, the queue takes the revocation over again.
 */
let home: string;
let db: ControlDb;
let outbox: Outbox;
let retry: OutboxRevocationRetry;
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'tg-revoke-held-'));
  db = openRespondDb(home);
  outbox = new Outbox(db);
  retry = new OutboxRevocationRetry(outbox, { baseMs: 10, maxMs: 50, maxAttempts: 3 });
});
afterEach(() => {
  db.close();
  rmSync(home, { recursive: true, force: true });
});

/** A responder revoke job of `keyId`, as src/respond/actions/revoke enqueues it. */
function responderJob(keyId: string, n = 1): number {
  const payload = { key_id: keyId, reason: 'test', actor: 'responder', finding_id: `f-${n}` };
  return outbox.enqueue({ key: `revoke:f-${n}:${keyId}`, channel: RESPONDER_REVOKE_CHANNEL, payload, findingId: `f-${n}`, target: keyId, maxAttempts: 3 }).job.id;
}

/** Lease job `id` (due or not) and settle it as the worker would. */
function settle(id: number, how: 'done' | 'dead'): void {
  db.prepare("UPDATE outbox_jobs SET available_at = 0 WHERE id = ?").run(id);
  const channel = outbox.get(id)!.channel;
  expect(outbox.lease(channel, 'test', 10, 1_000).map((j) => j.id)).toContain(id);
  if (how === 'done') expect(outbox.complete(id, 'test', { outcome: 'revoked' })).toBe(true);
  else expect(outbox.fail(id, 'test', 'gave up', { retryAt: 0, permanent: true })).toBe('dead');
}

const retryJobs = (): Array<[string, string]> => outbox.list({ channel: REVOKE_RETRY_CHANNEL }).map((j) => [j.key, j.status]);

describe('Outbox.liveJob', () => {
  it('finds a pending or leased job of the channel and target, and nothing once it is done or dead', () => {
    expect(RESPONDER_REVOKE_CHANNEL).toBe(revoke.id);
    const a = responderJob('bot', 1);
    expect(outbox.liveJob(RESPONDER_REVOKE_CHANNEL, 'bot')?.id).toBe(a);
    expect(outbox.liveJob(RESPONDER_REVOKE_CHANNEL, 'other')).toBeNull();
    expect(outbox.liveJob('notify-slack', 'bot')).toBeNull();
    outbox.lease(RESPONDER_REVOKE_CHANNEL, 'test', 1, 60_000);
    expect(outbox.liveJob(RESPONDER_REVOKE_CHANNEL, 'bot')).toMatchObject({ id: a, status: 'leased' });
    expect(outbox.complete(a, 'test')).toBe(true);
    expect(outbox.liveJob(RESPONDER_REVOKE_CHANNEL, 'bot')).toBeNull();
    const b = responderJob('bot', 2);
    settle(b, 'dead');
    expect(outbox.liveJob(RESPONDER_REVOKE_CHANNEL, 'bot')).toBeNull();
  });
});

describe('OutboxRevocationRetry.schedule', () => {
  it('queues nothing for a key whose responder revoke job is live, and does not revive its own dead job', () => {
    responderJob('bot');
    expect(retry.schedule(7, 'bot', 0)).toBe(false);
    expect(retryJobs()).toEqual([]);
    // Another key is not held by it.
    expect(retry.schedule(8, 'other', 0)).toBe(true);
    expect(retryJobs()).toEqual([['keys-revoke:8', 'pending']]);
  });

  it('does not requeue its dead job while a responder job holds the key', () => {
    expect(retry.schedule(7, 'bot', 0)).toBe(true);
    settle(outbox.getByKey('keys-revoke:7')!.id, 'dead');
    responderJob('bot');
    expect(retry.schedule(7, 'bot', 0)).toBe(false);
    expect(retryJobs()).toEqual([['keys-revoke:7', 'dead']]);
  });

  it.each(['dead', 'done'] as const)('takes the revocation over once the responder job is %s', (how) => {
    settle(responderJob('bot'), how);
    expect(retry.schedule(7, 'bot', 0)).toBe(true);
    expect(retryJobs()).toEqual([['keys-revoke:7', 'pending']]);
  });
});
