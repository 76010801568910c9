import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { validateConfig } from '../../../src/config/load.js';
import { openKeysDb } from '../../../src/keys/db.js';
import { RESPONDER_REVOKE_CHANNEL, REVOKE_RETRY_CHANNEL } from '../../../src/keys/revocation/retry.js';
import { ACTIONS } from '../../../src/respond/actions/registry.js';
import { createResponder, type ResponseHook } from '../../../src/respond/index.js';
import { Outbox } from '../../../src/respond/outbox.js';
import { validatePolicies } from '../../../src/respond/policies.js';
import { openControlDb } from '../../../src/store/control.js';
import type { Notice } from '../../../src/keys/revocation/types.js';
import { startKeyLifecycle, type RunningLifecycle } from '../../../src/keys/rotation/runtime.js';
import { MastodonBench, until } from '../../respond/mastodon-bench.js';

/**
 * A revocation the responder queued while Mastodon was down is `revoke-pending` with a live
 * `revoke` job in the outbox. After a restart, `serve` starts the key lifecycle (whose retry
 * runtime resumes every pending revocation) and the responder (whose worker resumes its job).
 * Mastodon must then be asked to revoke the token once, and people told once.
 */
const REVOKE = { policies: [{ id: 'revoke-high', match: { severity: 'high', managed_key: true }, actions: [{ type: 'revoke' }] }] };

let b: MastodonBench;
let lifecycle: RunningLifecycle | null = null;
let front: Front | null = null;
beforeEach(async () => {
  b = await MastodonBench.start();
});
afterEach(async () => {
  await lifecycle?.stop();
  lifecycle = null;
  await b.close();
  await front?.close();
  front = null;
});

/**
 * A proxy in front of the simulator that counts every `/oauth/revoke` request, including those
 * it answers 502 itself while `down` (the simulator's own log only sees requests it serves).
 */
interface Front {
  url: string;
  down: boolean;
  revokes: { down: number; up: number };
  close(): Promise<void>;
}

async function startFront(target: string): Promise<Front> {
  const upstream = new URL(target);
  const f = { down: false, revokes: { down: 0, up: 0 } } as Front;
  const server: Server = createServer((req, res) => {
    if (req.url?.startsWith('/oauth/revoke')) f.revokes[f.down ? 'down' : 'up'] += 1;
    if (f.down) return void res.writeHead(502, { 'content-type': 'text/html' }).end('<html><body>502 Bad Gateway</body></html>');
    const out = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  f.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  f.close = () => new Promise((resolve) => (server.closeAllConnections(), server.close(() => resolve())));
  return f;
}

/** Lifecycle notices and the responder's logged info notices of `kind`. */
function noticesOf(kind: string, notices: Notice[]): number {
  return notices.filter((n) => n.kind === kind).length + b.logLines.filter((l) => l.includes(`"notice":"${kind}"`)).length;
}

/** The outbox jobs of `channel` in the data dir: status, attempts, result. */
const jobsOf = (channel: string): Array<{ status: string; attempts: number; result: unknown }> =>
  b.outboxJobs(channel).map((j) => ({ status: j.status, attempts: j.attempts, result: j.result }));

/** The key's pending-revocation attempts so far (the verification the service records). */
function revocationAttempts(keyId: string): number {
  const db = openKeysDb(b.home);
  try {
    const row = db.prepare('SELECT verification FROM key_revocations WHERE key_id = ? ORDER BY id DESC LIMIT 1').get(keyId) as { verification: string | null };
    return row.verification ? (JSON.parse(row.verification) as { attempts: number }).attempts : 0;
  } finally {
    db.close();
  }
}

const revokeCalls = (): number => b.sim.logLines.filter((l) => l.includes('/oauth/revoke')).length;

describe('pending revocations after a restart', () => {
  it('are sent to Mastodon once, with one completion record and one notice, when the responder job holds it and the start-up retry resumes pending revocations', async () => {
    const { token, item } = await b.appKey('bot');
    await b.importKeys([item]);
    let r = await b.respond(REVOKE);
    await b.sim.setDown(true);
    await r.dispatch(b.finding('bot'));
    await until(() => b.keyStatus('bot') === 'revoke-pending', 5_000);
    await r.close();
    b.response = null;
    const before = revokeCalls();

    // The restart, wired as `serve` wires it: the key lifecycle first, then the responder.
    await b.sim.setDown(false);
    const notices: Notice[] = [];
    const loaded = { config: validateConfig({ home: b.home, revocation: { retry_base: '10ms', retry_max: '50ms' } }), home: b.home, file: null };
    lifecycle = await startKeyLifecycle({ loaded, logger: b.logger, env: b.env(), events: null, notifier: (n) => void notices.push(n) });
    r = await b.respond(REVOKE);
    await until(() => b.keyStatus('bot') === 'revoked', 5_000);
    expect(await r.drain(5_000)).toMatchObject({ drained: true, pending: 0 });
    const retries = lifecycle!.lifecycle.outbox;
    await until(() => retries.counts([REVOKE_RETRY_CHANNEL]).pending + retries.counts([REVOKE_RETRY_CHANNEL]).leased === 0, 5_000);
    await new Promise((res) => setTimeout(res, 300)); // a second delivery would land meanwhile

    expect(b.tokenState(token)).toBe('revoked');
    expect(revokeCalls() - before).toBe(1);
    const done = r.responder.audit.list({ limit: 100 }).filter((a) => a.action === 'key.revoke' && a.result === 'done');
    expect(done).toHaveLength(1);
    // The lifecycle's notices land in `notices`, the responder's info notices in its log.
    const completed = notices.filter((n) => n.kind === 'revoke-completed').length + b.logLines.filter((l) => l.includes('"notice":"revoke-completed"')).length;
    expect(completed).toBe(1);
    // The responder's job held the revocation, so the start-up retry queued none of its own.
    expect(retries.list({ channel: REVOKE_RETRY_CHANNEL })).toEqual([]);
    expect(retries.list({ channel: RESPONDER_REVOKE_CHANNEL }).map((j) => j.status)).toEqual(['done']);
    expect(b.leaks(notices)).toEqual([]);
  });
});

describe('a pending revocation the responder job holds, after a restart', () => {
  const lifecycleConfig = () => ({ config: validateConfig({ home: b.home, revocation: { retry_base: '10ms', retry_max: '50ms' } }), home: b.home, file: null });

  /** Revoke `bot` through the responder while its instance is down, then stop the responder. */
  async function pendingRevocation(): Promise<{ token: string }> {
    front = await startFront(b.sim.url);
    const { token, item } = await b.appKey('bot', undefined, { instance: front.url });
    await b.importKeys([item]);
    const r = await b.respond(REVOKE);
    front.down = true;
    await r.dispatch(b.finding('bot'));
    await until(() => b.keyStatus('bot') === 'revoke-pending', 5_000);
    await r.close();
    b.response = null;
    return { token };
  }

  it('gets no start-up retry job: while Mastodon stays down each retry makes one call, and it completes once', async () => {
    const { token } = await pendingRevocation();
    const notices: Notice[] = [];
    lifecycle = await startKeyLifecycle({ loaded: lifecycleConfig(), logger: b.logger, env: b.env(), events: null, notifier: (n) => void notices.push(n) });
    const r = await b.respond(REVOKE);
    expect(jobsOf(REVOKE_RETRY_CHANNEL)).toEqual([]);

    // Several retries while the instance is still down; read between deliveries (job pending).
    await until(() => {
      const [job] = jobsOf(RESPONDER_REVOKE_CHANNEL);
      return job !== undefined && job.status === 'pending' && job.attempts >= 4;
    }, 5_000);
    await r.close(); // no delivery in flight from here on
    b.response = null;
    const [job] = jobsOf(RESPONDER_REVOKE_CHANNEL);
    expect(jobsOf(RESPONDER_REVOKE_CHANNEL)).toHaveLength(1);
    expect(jobsOf(REVOKE_RETRY_CHANNEL)).toEqual([]);
    expect(front!.revokes.down).toBe(job!.attempts);
    expect(revocationAttempts('bot')).toBe(job!.attempts);
    expect(noticesOf('revoke-given-up', notices)).toBe(0);

    front!.down = false;
    const again = await b.respond(REVOKE);
    await until(() => b.keyStatus('bot') === 'revoked', 5_000);
    expect(await again.drain(5_000)).toMatchObject({ drained: true, pending: 0 });
    await new Promise((res) => setTimeout(res, 300)); // a second delivery would land meanwhile

    expect(b.tokenState(token)).toBe('revoked');
    expect(front!.revokes.up).toBe(1);
    const done = again.responder.audit.list({ limit: 100 }).filter((a) => a.action === 'key.revoke' && a.result === 'done');
    expect(done).toHaveLength(1);
    expect(noticesOf('revoke-completed', notices)).toBe(1);
    expect(jobsOf(REVOKE_RETRY_CHANNEL)).toEqual([]);
    expect(jobsOf(RESPONDER_REVOKE_CHANNEL).map((j) => j.status)).toEqual(['done']);
    expect(b.leaks(notices)).toEqual([]);
  });

  /** The responder as `b.respond` builds it, but with `revocation.max_attempts` and a backoff of our own. */
  async function respondWith(maxAttempts: number, baseMs: number): Promise<ResponseHook> {
    await b.response?.close();
    b.response = await createResponder({
      loaded: { config: validateConfig({ home: b.home, revocation: { max_attempts: maxAttempts } }), home: b.home, file: null },
      logger: b.logger, metrics: b.metrics, env: b.env(),
      policies: validatePolicies({ version: 1, ...REVOKE }, ACTIONS, 'bench-policies.yaml'),
      worker: { pollMs: 10, backoff: { baseMs, maxMs: baseMs * 5 } },
      mastodonTimeoutMs: 1_500,
    });
    return b.response;
  }

  it('tells people once (critical revoke-given-up) when the responder job uses its last attempt with Mastodon down for good', async () => {
    front = await startFront(b.sim.url);
    const { token, item } = await b.appKey('bot', undefined, { instance: front.url });
    await b.importKeys([item]);
    front.down = true;
    // A slow backoff before the restart (the next try 0.5-1 s later): one attempt only, then pending.
    let r = await respondWith(3, 1_000);
    await r.dispatch(b.finding('bot'));
    await until(() => b.keyStatus('bot') === 'revoke-pending', 5_000);
    await r.close();
    b.response = null;

    const notices: Notice[] = [];
    lifecycle = await startKeyLifecycle({ loaded: lifecycleConfig(), logger: b.logger, env: b.env(), events: null, notifier: (n) => void notices.push(n) });
    r = await respondWith(3, 10);
    expect(jobsOf(REVOKE_RETRY_CHANNEL)).toEqual([]); // the responder's job holds the revocation
    await until(() => jobsOf(RESPONDER_REVOKE_CHANNEL)[0]?.status === 'dead', 5_000);
    await new Promise((res) => setTimeout(res, 300)); // a second notice would land meanwhile

    expect(jobsOf(RESPONDER_REVOKE_CHANNEL).map((j) => [j.status, j.attempts])).toEqual([['dead', 3]]);
    expect(front.revokes.down).toBe(3);
    expect(b.keyStatus('bot')).toBe('revoke-pending');
    expect(b.tokenState(token)).toBe('live');
    expect(noticesOf('revoke-given-up', notices)).toBe(1);
    const line = b.logLines.find((l) => l.includes('"notice":"revoke-given-up"'))!;
    expect(JSON.parse(line)).toMatchObject({ key_id: 'bot', fingerprint: b.fingerprint(token), msg: expect.stringContaining('bot is still not revoked after 3 retries') });
    expect(b.leaks(notices)).toEqual([]);
  });

  it('gets a start-up retry job of its own when the responder job is dead, and is revoked by it', async () => {
    const { token } = await pendingRevocation();
    // The responder's job gave up (its attempts used up) while the key stayed revoke-pending.
    const db = openControlDb(b.home);
    try {
      const outbox = new Outbox(db, { clock: { now: () => Date.now() + 3_600_000 } }); // past any backoff
      const [job] = outbox.lease(RESPONDER_REVOKE_CHANNEL, 'test', 1, 1_000);
      expect(outbox.fail(job!.id, 'test', 'attempts used up', { retryAt: 0, permanent: true })).toBe('dead');
    } finally {
      db.close();
    }
    front!.down = false;
    const before = front!.revokes.up;
    const notices: Notice[] = [];
    lifecycle = await startKeyLifecycle({ loaded: lifecycleConfig(), logger: b.logger, env: b.env(), events: null, notifier: (n) => void notices.push(n) });
    const r = await b.respond(REVOKE);
    await until(() => b.keyStatus('bot') === 'revoked', 5_000);
    const retries = lifecycle!.lifecycle.outbox;
    await until(() => retries.counts([REVOKE_RETRY_CHANNEL]).pending + retries.counts([REVOKE_RETRY_CHANNEL]).leased === 0, 5_000);
    await new Promise((res) => setTimeout(res, 300));

    expect(b.tokenState(token)).toBe('revoked');
    expect(front!.revokes.up - before).toBe(1);
    expect(jobsOf(REVOKE_RETRY_CHANNEL).map((j) => [j.status, j.result])).toEqual([['done', { outcome: 'revoked' }]]);
    expect(jobsOf(RESPONDER_REVOKE_CHANNEL).map((j) => j.status)).toEqual(['dead']);
    const done = r.responder.audit.list({ limit: 100 }).filter((a) => a.action === 'key.revoke' && a.result === 'done');
    expect(done).toHaveLength(1);
    expect(noticesOf('revoke-completed', notices)).toBe(1);
    expect(b.leaks(notices)).toEqual([]);
  });
});
