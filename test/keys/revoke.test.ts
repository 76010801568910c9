import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TuskguardError } from '../../src/core/errors.js';
import { Metrics } from '../../src/core/metrics.js';
import {
  OutboxRevocationRetry, RevocationService, revokeMany, selectKeys, startRevocationRetry, Announcer, REVOKE_RETRY_CHANNEL,
  type RevocationClient,
} from '../../src/keys/revocation/index.js';
import { Outbox } from '../../src/respond/outbox.js';
import { call } from '../mastodon/sim-helpers.js';
import { Bench, until } from './rotation/harness.js';

// Revocation against the Mastodon simulator: the 401 is confirmed, revoking twice is a no-op,
// an unreachable instance leaves the key revoke-pending until the retry gets through, bulk
// selection by label/owner/app/instance, and no secret in any log line, notice or audit entry.

let b: Bench;
let outbox: Outbox;
let metrics: Metrics;
const SETTINGS = { baseMs: 10, maxMs: 50, maxAttempts: 1000 };

function service(client: RevocationClient = b.client): RevocationService {
  return new RevocationService({
    db: b.db, vault: b.vault, fingerprint: b.fingerprint, client, logger: b.logger,
    notifier: b.notifier, audit: b.auditHook, retry: new OutboxRevocationRetry(outbox, SETTINGS), metrics,
  });
}

beforeEach(async () => {
  b = await Bench.start();
  outbox = new Outbox(b.db);
  metrics = new Metrics();
});
afterEach(async () => b.close());

describe('revokeKey', () => {
  it('(the leak check used below finds a planted secret, so its empty answers mean something)', async () => {
    const { token } = await b.addAppKey('bot');
    expect(b.leaks()).toEqual([]);
    b.logger.info({ oops: token }, 'planted');
    expect(b.leaks()).toContain(token);
  });

  it('revokes through the issuing app and confirms that the token answers 401', async () => {
    const { token } = await b.addAppKey('bot');
    const report = await service().revokeKey({ keyId: 'bot', reason: 'leaked in a paste', actor: 'cli:alice' });

    expect(report).toMatchObject({ key_id: 'bot', outcome: 'revoked', fingerprint: b.fingerprint(token) });
    expect(report.verification?.tokens).toEqual([{ version: 1, fingerprint: b.fingerprint(token), status: 401, confirmed: true }]);
    expect(b.simTokenState(token)).toBe('revoked');
    // Independently of the service: the liveness endpoints of FACTS §5 answer 401.
    expect((await call(b.sim, 'GET', '/api/v1/apps/verify_credentials', { token })).status).toBe(401);
    expect((await call(b.sim, 'GET', '/oauth/token/info', { token })).status).toBe(401);
    expect(b.inventory.require('bot').status).toBe('revoked');
    const [rec] = b.inventory.revocations('bot');
    expect(rec).toMatchObject({ actor: 'cli:alice', reason: 'leaked in a paste', outcome: 'revoked' });
    expect(rec!.completed_at).not.toBeNull();
    expect(b.audit).toEqual([expect.objectContaining({ actor: 'cli:alice', action: 'key.revoke', target: 'bot', result: 'done' })]);
    expect(b.leaks(report)).toEqual([]);
  });

  it('is idempotent: a second revocation does not call Mastodon and says so', async () => {
    await b.addAppKey('bot');
    const svc = service();
    await svc.revokeKey({ keyId: 'bot', reason: 'first', actor: 'responder' });
    const requestsBefore = b.sim.logLines.length;
    const again = await svc.revokeKey({ keyId: 'bot', reason: 'second', actor: 'cli:bob' });
    expect(again.outcome).toBe('already-revoked');
    expect(again.message).toMatch(/already revoked/);
    expect(b.sim.logLines.length).toBe(requestsBefore);
    expect(b.inventory.revocations('bot')).toHaveLength(1);
  });

  it('a token that was revoked elsewhere is still confirmed (RFC 7009 answers 200, then 401)', async () => {
    const { token } = await b.addAppKey('bot');
    b.sim.state.revokeToken(b.sim.state.findToken(token)!);
    expect((await service().revokeKey({ keyId: 'bot', reason: 'cleanup', actor: 'cli:a' })).outcome).toBe('revoked');
  });

  it('wrong client credentials: failed, the key stays active, people are told (critical)', async () => {
    const { token } = await b.addAppKey('bot');
    const other = b.sim.createApp({ name: 'other', redirectUris: ['urn:ietf:wg:oauth:2.0:oob'], scopes: 'read' });
    await b.importKey({ id: 'bot', kind: 'app', scopes: ['read', 'write:statuses'], token, client_id: other.uid, client_secret: other.secret });
    const report = await service().revokeKey({ keyId: 'bot', reason: 'test', actor: 'cli:a' });
    expect(report).toMatchObject({ outcome: 'failed', error: { code: 'MASTODON_FORBIDDEN' } });
    expect(b.simTokenState(token)).toBe('live');
    expect(b.inventory.require('bot').status).toBe('active');
    expect(b.inventory.revocations('bot')[0]!.outcome).toBe('failed');
    expect(b.notices.map((n) => [n.kind, n.severity])).toEqual([['revoke-failed', 'critical']]);
    expect(b.leaks(report)).toEqual([]);
  });

  it('needs a reason and an existing key', async () => {
    await expect(service().revokeKey({ keyId: 'bot', reason: ' ', actor: 'a' })).rejects.toMatchObject({ code: 'USAGE' });
    const e = await service().revokeKey({ keyId: 'nope', reason: 'x', actor: 'a' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TuskguardError);
    expect((e as TuskguardError).code).toBe('KEY_NOT_FOUND');
  });
});

describe('Mastodon unreachable', () => {
  it.each(['refuse', 'bad-gateway'] as const)('down (%s) then up: revoke-pending, told, retried through the outbox until 401', async (mode) => {
    const { token } = await b.addAppKey('bot');
    const svc = service();
    await b.sim.setDown(mode);
    const report = await svc.revokeKey({ keyId: 'bot', reason: 'incident 42', actor: 'responder' });

    expect(report.outcome).toBe('pending');
    expect(report.error?.code).toMatch(/^MASTODON_(UNREACHABLE|UNEXPECTED_RESPONSE)$/);
    expect(b.inventory.require('bot').status).toBe('revoke-pending');
    expect(b.notices.map((n) => n.kind)).toEqual(['revoke-pending']);
    expect(b.logLines.some((l) => l.includes('"level":40') && l.includes('revocation pending'))).toBe(true);
    expect(await metrics.registry.getSingleMetricAsString('tuskguard_errors_total')).toContain('tuskguard_errors_total{component="keys",stage="revoke-pending"} 1');
    const job = outbox.getByKey(`keys-revoke:${report.revocation_id}`);
    expect(job).toMatchObject({ channel: REVOKE_RETRY_CHANNEL, status: 'pending', payload: { revocation_id: report.revocation_id, key_id: 'bot' } });

    const runtime = startRevocationRetry({ outbox, service: svc, retry: new OutboxRevocationRetry(outbox, SETTINGS), announce: new Announcer(b.logger, b.notifier, b.auditHook), settings: SETTINGS, logger: b.logger });
    try {
      await new Promise((r) => setTimeout(r, 150)); // several failed retries while still down
      expect(b.inventory.require('bot').status).toBe('revoke-pending');
      await b.sim.setDown(false);
      await until(() => b.inventory.require('bot').status === 'revoked');
    } finally {
      await runtime.stop();
    }
    expect(b.simTokenState(token)).toBe('revoked');
    const [rec] = b.inventory.revocations('bot');
    expect(rec).toMatchObject({ outcome: 'revoked', actor: 'responder', reason: 'incident 42' });
    expect((rec!.verification as { attempts: number }).attempts).toBeGreaterThan(1);
    expect(b.notices.map((n) => n.kind)).toEqual(['revoke-pending', 'revoke-completed']);
    expect(b.audit.map((a) => a.result)).toEqual(['pending', 'done']);
    expect(b.leaks(report)).toEqual([]);
  });

  it('a pending revocation left by a finished process is drained when the service starts', async () => {
    const { token } = await b.addAppKey('bot');
    await b.sim.setDown(true);
    const first = await service().revokeKey({ keyId: 'bot', reason: 'r', actor: 'cli:a' });
    expect(first.outcome).toBe('pending');
    // The job died (e.g. attempts ran out while the instance stayed down).
    const job = outbox.getByKey(`keys-revoke:${first.revocation_id}`)!;
    b.db.prepare(`UPDATE outbox_jobs SET status = 'dead' WHERE id = ?`).run(job.id);
    await b.sim.setDown(false);

    const svc = service();
    const runtime = startRevocationRetry({ outbox, service: svc, retry: new OutboxRevocationRetry(outbox, SETTINGS), announce: new Announcer(b.logger, undefined, undefined), settings: SETTINGS });
    try {
      expect(runtime.resumed).toBe(1);
      await until(() => b.simTokenState(token) === 'revoked' && b.inventory.require('bot').status === 'revoked');
    } finally {
      await runtime.stop();
    }
  });

  it('running keys revoke again on a pending key retries at once and reuses the same record', async () => {
    await b.addAppKey('bot');
    await b.sim.setDown(true);
    const first = await service().revokeKey({ keyId: 'bot', reason: 'r', actor: 'cli:a' });
    await b.sim.setDown(false);
    const second = await service().revokeKey({ keyId: 'bot', reason: 'r again', actor: 'cli:a' });
    expect(second).toMatchObject({ outcome: 'revoked', revocation_id: first.revocation_id });
    expect(b.inventory.revocations('bot')).toHaveLength(1);
  });
});

describe('bulk revocation', () => {
  it('by label: only the matching keys are revoked; revoked ones are reported as such', async () => {
    const a = await b.addAppKey('pay-a', { labels: { team: 'payments', env: 'prod' } });
    const c = await b.addAppKey('pay-b', { labels: { team: 'payments', env: 'staging' } });
    const other = await b.addAppKey('search', { labels: { team: 'search' } });
    const svc = service();
    const selected = await selectKeys(b.inventory, b.vault, { labels: { team: 'payments' } });
    expect(selected.map((k) => k.id)).toEqual(['pay-a', 'pay-b']);
    await svc.revokeKey({ keyId: 'pay-b', reason: 'earlier', actor: 'x' });

    const reports = await revokeMany(svc, selected, 'panic: payments creds leaked', 'cli:alice');
    expect(reports.map((r) => [r.key_id, r.outcome])).toEqual([['pay-a', 'revoked'], ['pay-b', 'already-revoked']]);
    expect([a.token, c.token].map((t) => b.simTokenState(t))).toEqual(['revoked', 'revoked']);
    expect(b.simTokenState(other.token)).toBe('live');
  });

  it('by owner, instance and app (client_id, read from the vault); criteria combine with AND', async () => {
    const one = await b.addAppKey('one', { owner: 'ops' });
    await b.addAppKey('two', { owner: 'ops' });
    await b.addAppKey('three', { owner: 'dev' });
    const ids = async (s: Parameters<typeof selectKeys>[2]) => (await selectKeys(b.inventory, b.vault, s)).map((k) => k.id);
    expect(await ids({ owner: 'ops' })).toEqual(['one', 'two']);
    expect(await ids({ instance: `${b.sim.url}/` })).toEqual(['one', 'three', 'two']);
    expect(await ids({ app: one.app.uid })).toEqual(['one']);
    expect(await ids({ owner: 'dev', app: one.app.uid })).toEqual([]);
    await expect(selectKeys(b.inventory, b.vault, {})).rejects.toMatchObject({ code: 'USAGE' });
  });
});
