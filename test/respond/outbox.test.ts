import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Metrics } from '../../src/core/metrics.js';
import { openRespondDb } from '../../src/respond/db.js';
import { Outbox, type OutboxJob } from '../../src/respond/outbox.js';
import { backoffDelay, DeliveryError, OutboxWorker, type OutboxChannel, type Settlement } from '../../src/respond/outbox-worker.js';
import type { ControlDb } from '../../src/store/control.js';

const FAST = { pollMs: 10, leaseMs: 5_000, backoff: { baseMs: 5, maxMs: 20 } };

function channel(deliver: OutboxChannel['deliver'], concurrency = 4): OutboxChannel {
  return { concurrency, timeoutMs: 2_000, deliver };
}

describe('outbox', () => {
  let home: string;
  let db: ControlDb;
  let outbox: Outbox;
  const workers: OutboxWorker[] = [];

  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'tg-outbox-'));
    db = openRespondDb(home);
    outbox = new Outbox(db);
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
    db.close();
    rmSync(home, { recursive: true, force: true });
  });

  function worker(channels: Record<string, OutboxChannel>, extra: ConstructorParameters<typeof OutboxWorker>[2] = {}, box = outbox) {
    const w = new OutboxWorker(box, channels, { ...FAST, ...extra });
    workers.push(w);
    return w;
  }

  it('enqueue is idempotent by key; replacePending updates only a job not yet attempted', () => {
    const a = outbox.enqueue({ key: 'f1:notify-slack:slack', channel: 'notify-slack', payload: { n: 1 } });
    const b = outbox.enqueue({ key: 'f1:notify-slack:slack', channel: 'notify-slack', payload: { n: 2 } });
    expect(a.created).toBe(true);
    expect(b).toMatchObject({ created: false, replaced: false });
    expect(b.job.payload).toEqual({ n: 1 });
    const c = outbox.enqueue({ key: 'f1:notify-slack:slack', channel: 'notify-slack', payload: { n: 3 }, replacePending: true });
    expect(c).toMatchObject({ replaced: true });
    expect(outbox.get(a.job.id)!.payload).toEqual({ n: 3 });
    outbox.lease('notify-slack', 'w', 1, 1000);
    const d = outbox.enqueue({ key: 'f1:notify-slack:slack', channel: 'notify-slack', payload: { n: 4 }, replacePending: true });
    expect(d.replaced).toBe(false);
  });

  it('retries with backoff until the peer recovers, then records the result', async () => {
    let calls = 0;
    const settled: Array<[string, Settlement]> = [];
    const metrics = new Metrics();
    worker(
      {
        slack: channel(async () => {
          calls += 1;
          if (calls < 3) throw new Error('connect ECONNREFUSED');
          return { status: 200 };
        }),
      },
      { metrics, onSettled: (job, outcome) => settled.push([job.key, outcome]) },
    ).start();
    const { job } = outbox.enqueue({ key: 'k1', channel: 'slack', payload: {} });
    const w = workers[0]!;
    expect(await w.drain(5_000)).toMatchObject({ drained: true, dead: 0 });
    expect(outbox.get(job.id)).toMatchObject({ status: 'done', attempts: 3, result: { status: 200 }, lastError: null });
    expect(settled).toEqual([['k1', 'delivered']]);
    expect(await metrics.value('tuskguard_errors_total', { component: 'outbox', stage: 'slack' })).toBe(2);
  });

  it('dead-letters after max attempts (visible with the error), and a requeue delivers it', async () => {
    let up = false;
    const settled: Settlement[] = [];
    const w = worker(
      { email: channel(async () => { if (!up) throw new DeliveryError('smtp 421 try later'); return 'ok'; }) },
      { onSettled: (_j, o) => settled.push(o) },
    );
    const { job } = outbox.enqueue({ key: 'k2', channel: 'email', payload: {}, maxAttempts: 3 });
    expect(await w.drain(5_000)).toMatchObject({ drained: true, dead: 1 });
    expect(outbox.get(job.id)).toMatchObject({ status: 'dead', attempts: 3, lastError: 'smtp 421 try later' });
    expect(outbox.list({ status: 'dead' }).map((j) => j.key)).toEqual(['k2']);
    up = true;
    expect(outbox.requeue({ allDead: true })).toBe(1);
    expect(await w.drain(5_000)).toMatchObject({ drained: true, dead: 0 });
    expect(outbox.get(job.id)).toMatchObject({ status: 'done', attempts: 1 });
    expect(settled).toEqual(['dead', 'delivered']);
  });

  it('dead-letters a permanent failure at once', async () => {
    const w = worker({ hook: channel(async () => { throw new DeliveryError('HTTP 400 invalid_blocks', { permanent: true }); }) });
    const { job } = outbox.enqueue({ key: 'k3', channel: 'hook', payload: {} });
    await w.drain(2_000);
    expect(outbox.get(job.id)).toMatchObject({ status: 'dead', attempts: 1 });
  });

  it('honours per-channel concurrency', async () => {
    let inFlight = 0;
    let peak = 0;
    const slow = channel(async () => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await sleep(20);
      inFlight -= 1;
    }, 2);
    const w = worker({ slow });
    for (let i = 0; i < 8; i++) outbox.enqueue({ key: `c${i}`, channel: 'slow', payload: {} });
    expect(await w.drain(5_000)).toMatchObject({ drained: true });
    expect(peak).toBe(2);
    expect(outbox.counts()).toMatchObject({ done: 8 });
  });

  it('a restart resumes pending work, and a crashed worker’s expired lease is taken over', async () => {
    outbox.enqueue({ key: 'leased-by-crashed', channel: 'mastodon', payload: { op: 'revoke' } });
    outbox.enqueue({ key: 'pending-before-crash', channel: 'mastodon', payload: { op: 'revoke' } });
    // A worker leases one job for a minute and dies without completing it.
    expect(outbox.lease('mastodon', 'crashed-worker', 1, 60_000)).toHaveLength(1);
    db.close();

    db = openRespondDb(home);
    let offset = 0;
    const reopened = new Outbox(db, { clock: { now: () => Date.now() + offset } });
    const delivered: string[] = [];
    const w = worker({ mastodon: channel(async (job: OutboxJob) => void delivered.push(job.key)) }, {}, reopened);
    expect(await w.drain(300)).toMatchObject({ drained: false, pending: 1 });
    expect(delivered).toEqual(['pending-before-crash']);
    offset = 61_000; // the crashed worker's lease has expired
    expect(await w.drain(3_000)).toMatchObject({ drained: true });
    expect(delivered).toEqual(['pending-before-crash', 'leased-by-crashed']);
    expect(reopened.getByKey('leased-by-crashed')).toMatchObject({ status: 'done', attempts: 2 });
  });

  it('abandons a delivery that exceeds its timeout and retries it', async () => {
    let calls = 0;
    const w = worker({
      hung: { concurrency: 1, timeoutMs: 30, deliver: async () => { calls += 1; if (calls === 1) await sleep(1_000); } },
    });
    const { job } = outbox.enqueue({ key: 'k4', channel: 'hung', payload: {} });
    await w.drain(3_000);
    expect(outbox.get(job.id)).toMatchObject({ status: 'done', attempts: 2 });
  });

  it('drain times out while a producer-scheduled job waits, and releaseScheduled sends it', async () => {
    const delivered: string[] = [];
    const w = worker({ digest: channel(async (job) => void delivered.push(job.key)) });
    outbox.enqueue({ key: 'digest-1', channel: 'digest', payload: {}, availableAt: Date.now() + 3_600_000 });
    expect(await w.drain(100)).toMatchObject({ drained: false, pending: 1 });
    expect(delivered).toEqual([]);
    expect(await w.drain(2_000, { releaseScheduled: true })).toMatchObject({ drained: true });
    expect(delivered).toEqual(['digest-1']);
  });

  it('leaves jobs of channels it does not handle alone', async () => {
    const w = worker({ a: channel(async () => undefined) });
    outbox.enqueue({ key: 'for-b', channel: 'b', payload: {} });
    expect(await w.drain(200)).toMatchObject({ drained: true });
    expect(outbox.getByKey('for-b')!.status).toBe('pending');
  });

  it('purges delivered jobs past retention, never pending or dead ones', async () => {
    let now = 1_000_000;
    const box = new Outbox(db, { clock: { now: () => now } });
    for (const key of ['done-old', 'dead', 'pending']) box.enqueue({ key, channel: 'c', payload: {}, maxAttempts: 1 });
    const [a, b] = box.lease('c', 'w', 2, 1_000);
    box.complete(a!.id, 'w');
    box.fail(b!.id, 'w', 'boom', { retryAt: now });
    now += 8 * 86_400_000;
    expect(box.purgeDone(now - 7 * 86_400_000)).toBe(1);
    expect(box.list().map((j) => j.key).sort()).toEqual(['dead', 'pending']);
  });

  it('backoff grows exponentially with equal jitter and a ceiling', () => {
    const s = { baseMs: 1_000, maxMs: 60_000 };
    expect(backoffDelay(1, s, () => 0)).toBe(500);
    expect(backoffDelay(1, s, () => 1)).toBe(1_000);
    expect(backoffDelay(4, s, () => 0)).toBe(4_000);
    expect(backoffDelay(4, s, () => 1)).toBe(8_000);
    expect(backoffDelay(30, s, () => 1)).toBe(60_000);
  });
});
