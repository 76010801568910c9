import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import type { DistributionTarget } from '../../../src/keys/distribute/types.js';
import { RevocationService } from '../../../src/keys/revocation/service.js';
import { rotationConfigSchema } from '../../../src/keys/rotation/config.js';
import { ConsentLinks } from '../../../src/keys/rotation/reauthorize/links.js';
import { startRotationScheduler } from '../../../src/keys/rotation/scheduler.js';
import { RotationService, type RotationDeps } from '../../../src/keys/rotation/service.js';
import { STRATEGIES } from '../../../src/keys/rotation/strategies.js';
import { Bench, until } from './harness.js';

// Serialization (one rotation per key, lease locks across processes), resuming after a crash,
// revocation in the middle of a rotation, max_age scheduling and the registries.

let b: Bench;
let clock: ManualClock;
const noUse = { lastSeen: async () => null };

function service(over: Partial<RotationDeps> = {}): RotationService {
  return new RotationService({
    db: b.db, vault: b.vault, client: b.client, fingerprint: b.fingerprint, usage: noUse, notifier: b.notifier, logger: b.logger, clock,
    config: rotationConfigSchema.parse({ quiet_period: '5m', lock_lease: '10m' }), ...over,
  });
}

beforeEach(async () => {
  clock = new ManualClock(Date.now());
  b = await Bench.start({ clock });
});
afterEach(async () => b.close());

describe('serialization', () => {
  it('two concurrent requests to rotate one key meet the same rotation; one new app, one new token', async () => {
    await b.addAppKey('bot');
    const apps = b.sim.state.apps.size;
    const svc = service();
    const [r1, r2] = await Promise.all([
      svc.rotateKey({ keyId: 'bot', reason: 'a', trigger: 'manual' }),
      svc.rotateKey({ keyId: 'bot', reason: 'b', trigger: 'event' }),
    ]);
    expect([r1.created, r2.created].sort()).toEqual([false, true]);
    expect(r1.rotation.id).toBe(r2.rotation.id);
    expect(b.sim.state.apps.size).toBe(apps + 1);
    expect(svc.status('bot')).toHaveLength(1);
  });

  it('another process holding the key lock: ROTATION_BUSY until its lease expires', async () => {
    await b.addAppKey('bot');
    const other = service({ owner: 'other-process' });
    expect(other.locks.acquire('bot', 'other-process', 'rotation x', 10 * 60_000)).toBe(true);
    const svc = service({ owner: 'this-process' });
    await expect(svc.rotateKey({ keyId: 'bot', reason: 'r', trigger: 'manual' })).rejects.toMatchObject({ code: 'ROTATION_BUSY' });
    expect(svc.status('bot')[0]!.state).toBe('started');
    clock.advance(10 * 60_000 + 1);
    await svc.tick();
    expect(svc.status('bot')[0]!.state).toBe('distributed');
    expect(svc.locks.holder('bot')).toBeNull();
  });
});

describe('restart', () => {
  it('a rotation interrupted mid-distribution is resumed by another process once the lease expires', async () => {
    const { token: oldToken } = await b.addAppKey('bot');
    const delivered: string[] = [];
    const stuck: DistributionTarget = { id: 'slow', type: 'test', deliver: () => new Promise(() => undefined) };
    const good: DistributionTarget = { id: 'slow', type: 'test', deliver: async (d) => (delivered.push(d.fingerprint), {}) };
    const crashed = service({ owner: 'crashed', targets: () => [stuck] });
    void crashed.rotateKey({ keyId: 'bot', reason: 'r', trigger: 'manual' });
    await until(() => crashed.status('bot')[0]?.state === 'verified');

    const restarted = service({ owner: 'restarted', targets: () => [good] });
    await restarted.tick();
    expect(restarted.status('bot')[0]!.state).toBe('verified'); // the lease still holds
    clock.advance(10 * 60_000 + 1);
    await restarted.tick();
    const [r] = restarted.status('bot');
    expect(r).toMatchObject({ state: 'distributed', targets_done: ['slow'] });
    expect(delivered).toEqual([r!.new_fingerprint]);
    clock.advance(6 * 60_000);
    await restarted.tick();
    expect(restarted.status('bot')[0]!.state).toBe('completed');
    expect(b.simTokenState(oldToken)).toBe('revoked');
  });
});

describe('revocation during a rotation', () => {
  it('the panic button revokes the old AND the new token; the rotation is aborted', async () => {
    const { token: oldToken } = await b.addAppKey('bot');
    const svc = service();
    const { rotation } = await svc.rotateKey({ keyId: 'bot', reason: 'r', trigger: 'manual' });
    expect(rotation.state).toBe('distributed');
    const revocations = new RevocationService({ db: b.db, vault: b.vault, fingerprint: b.fingerprint, client: b.client, logger: b.logger });
    const report = await revocations.revokeKey({ keyId: 'bot', reason: 'compromised host', actor: 'cli:alice' });
    expect(report.outcome).toBe('revoked');
    expect(report.verification!.tokens.map((t) => t.fingerprint).sort()).toEqual([b.fingerprint(oldToken), rotation.new_fingerprint].sort());
    expect([...b.sim.state.tokens.values()].every((t) => t.revokedAt instanceof Date)).toBe(true);
    await svc.tick();
    expect(svc.status('bot')[0]!.state).toBe('aborted');
    await expect(svc.rotateKey({ keyId: 'bot', reason: 'again', trigger: 'manual' })).rejects.toMatchObject({ code: 'USAGE' });
  });
});

describe('revocation racing a rotation', () => {
  it('a token minted after the key was revoked is revoked when the rotation aborts', async () => {
    const { token: oldToken } = await b.addAppKey('bot');
    const revocations = new RevocationService({ db: b.db, vault: b.vault, fingerprint: b.fingerprint, client: b.client, logger: b.logger });
    const racing = Object.create(b.client) as typeof b.client;
    racing.mintAppToken = async (input) => {
      expect((await revocations.revokeKey({ keyId: 'bot', reason: 'panic', actor: 'responder' })).outcome).toBe('revoked');
      return b.client.mintAppToken(input);
    };
    const { rotation } = await service({ client: racing }).rotateKey({ keyId: 'bot', reason: 'r', trigger: 'manual' });
    expect(rotation.state).toBe('aborted');
    expect(b.simTokenState(oldToken)).toBe('revoked');
    expect([...b.sim.state.tokens.values()].map((t) => t.revokedAt instanceof Date)).toEqual([true, true]);
    expect(b.inventory.require('bot').status).toBe('revoked');
  });

  it('when that revocation cannot reach Mastodon, the key goes back to revoke-pending and is queued for retry', async () => {
    await b.addAppKey('bot');
    const revocations = new RevocationService({ db: b.db, vault: b.vault, fingerprint: b.fingerprint, client: b.client, logger: b.logger });
    const queued: Array<[number, string]> = [];
    const racing = Object.create(b.client) as typeof b.client;
    racing.mintAppToken = async (input) => {
      await revocations.revokeKey({ keyId: 'bot', reason: 'panic', actor: 'responder' });
      const t = await b.client.mintAppToken(input);
      await b.sim.setDown(true);
      return t;
    };
    const svc = service({ client: racing, revocationRetry: { schedule: (id, key) => void queued.push([id, key]) } });
    const { rotation } = await svc.rotateKey({ keyId: 'bot', reason: 'r', trigger: 'manual' });
    await b.sim.setDown(false);
    expect(rotation).toMatchObject({ state: 'aborted', error: expect.stringMatching(/could not be revoked yet/) });
    expect(b.inventory.require('bot').status).toBe('revoke-pending');
    expect(queued).toHaveLength(1);
    expect(await revocations.retry(queued[0]![0])).toMatchObject({ outcome: 'revoked' });
    expect([...b.sim.state.tokens.values()].every((t) => t.revokedAt instanceof Date)).toBe(true);
  });
});

describe('max_age policy', () => {
  it('the scheduler tick starts rotations of keys older than max_age, and only those', async () => {
    await b.addAppKey('old-bot', { rotation: { max_age: '1d' } });
    await b.addAppKey('no-policy');
    await b.addAppKey('young-bot', { rotation: { max_age: '30d' } });
    const svc = service();
    expect(svc.dueForMaxAge()).toEqual([]);
    clock.advance(2 * 86_400_000);
    expect(svc.dueForMaxAge().map((k) => k.id)).toEqual(['old-bot']);
    const scheduler = startRotationScheduler(svc, '*/5 * * * *', b.logger);
    try {
      await scheduler.runOnce();
    } finally {
      await scheduler.stop();
    }
    expect(svc.status().map((r) => [r.key_id, r.trigger, r.state])).toEqual([['old-bot', 'max_age', 'distributed']]);
    expect(svc.dueForMaxAge()).toEqual([]);
  });

  it('an invalid cron expression is a config error', () => {
    expect(() => startRotationScheduler(service(), 'every five minutes')).toThrow(/not a cron expression/);
    expect(rotationConfigSchema.safeParse({ schedule: '61 * * * *' }).success).toBe(false);
  });
});

describe('registries and links', () => {
  it('the strategy registry matches the folders under src/keys/rotation (kebab-case of the id)', () => {
    const dir = fileURLToPath(new URL('../../../src/keys/rotation/', import.meta.url));
    const folders = readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
    expect(Object.keys(STRATEGIES).map((id) => id.replace(/_/g, '-')).sort()).toEqual(folders);
  });

  it('consent links: valid until exp, any change or a 10 kB hostile value refused in constant form', () => {
    const links = new ConsentLinks('s'.repeat(40), 'https://tg.example/');
    const now = Date.now();
    const q = Object.fromEntries(new URL(links.link('rot-1', now + 60_000)).searchParams);
    expect(links.verifyLink(q, now)).toBe('rot-1');
    expect(() => links.verifyLink(q, now + 61_000)).toThrow(/expired/);
    expect(() => links.verifyLink({ ...q, r: 'rot-2' }, now)).toThrow(/not valid/);
    expect(() => links.verifyLink({ ...q, sig: 'A'.repeat(10_000) }, now)).toThrow(/not valid/);
    expect(() => links.verifyLink({ ...q, exp: '9'.repeat(10_000) }, now)).toThrow(/malformed/);
    expect(() => new ConsentLinks('short', 'https://x')).toThrow(/32 characters/);
    expect(ConsentLinks.challenge(links.verifier('r', 'n'))).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});
