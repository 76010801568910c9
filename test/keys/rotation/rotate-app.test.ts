import { randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { silentLogger } from '../../../src/core/logger.js';
import { Metrics } from '../../../src/core/metrics.js';
import { rotationConfigSchema, type RotationConfig } from '../../../src/keys/rotation/config.js';
import { eventStoreUsage } from '../../../src/keys/rotation/cutover.js';
import { RotationService } from '../../../src/keys/rotation/service.js';
import { SqliteStore } from '../../../src/store/sqlite/store.js';
import { startVaultKv, type VaultKvPeer } from '../../helpers/vault-kv.js';
import { call } from '../../mastodon/sim-helpers.js';
import { Bench } from './harness.js';
import { startWebhookReceiver, type WebhookReceiver } from './receivers.js';

// client_credentials rotation end to end against the simulator: a NEW app, verification,
// delivery to an env file, Vault KV v2 and a signed webhook, the usage-confirmed cut-over on
// real events, revocation of the old token with its 401; and the rollbacks.

const HOOK_SECRET = 'whsec-0123456789abcdef0123456789';
let b: Bench;
let clock: ManualClock;
let events: SqliteStore;
let vaultKv: VaultKvPeer;
let hook: WebhookReceiver;
let envFile: string;

function config(over: Partial<RotationConfig> = {}): RotationConfig {
  return rotationConfigSchema.parse({
    quiet_period: '1h',
    grace: '7d',
    targets: [
      { id: 'app-env', type: 'env-file', path: envFile, variable: 'MASTODON_TOKEN' },
      { id: 'vault', type: 'vault-kv', url: vaultKv.url, mount: 'secret', path: 'bots/{key_id}', token_env: 'TEST_VAULT_TOKEN' },
      { id: 'deploy', type: 'webhook', url: hook.url, secret_env: 'TEST_HOOK_SECRET' },
    ],
    keys: { bot: { targets: ['app-env', 'vault', 'deploy'] } },
    ...over,
  });
}

function service(over: Partial<RotationConfig> = {}): RotationService {
  return new RotationService({
    db: b.db, vault: b.vault, client: b.client, fingerprint: b.fingerprint, config: config(over), usage: eventStoreUsage(events),
    notifier: b.notifier, audit: b.auditHook, logger: b.logger, clock, env: { TEST_VAULT_TOKEN: vaultKv.token, TEST_HOOK_SECRET: HOOK_SECRET },
  });
}

async function seen(fingerprint: string, at: number): Promise<void> {
  await events.writeEvents([{ '@timestamp': new Date(at).toISOString(), 'event.id': randomBytes(8).toString('hex'), 'event.dataset': 'nginx-json', 'tuskguard.fingerprint': fingerprint, 'url.path': '/api/v1/timelines/home' }]);
}

beforeEach(async () => {
  clock = new ManualClock(Date.now());
  b = await Bench.start({ clock });
  events = new SqliteStore({ path: ':memory:', retentionMs: 30 * 86_400_000, metrics: new Metrics(), logger: silentLogger });
  await events.init();
  vaultKv = await startVaultKv();
  hook = await startWebhookReceiver(HOOK_SECRET);
  envFile = join(b.home, 'bot.env');
  writeFileSync(envFile, '# bot settings\nMASTODON_URL=https://social.example\nMASTODON_TOKEN=placeholder\n', { mode: 0o644 });
});
afterEach(async () => {
  await Promise.all([b.close(), events.close(), vaultKv.close(), hook.close()]);
});

describe('client_credentials rotation', () => {
  it('end to end: new app and token, delivered everywhere, old key revoked once silent, 401 confirmed', async () => {
    const { app: oldApp, token: oldToken } = await b.addAppKey('bot');
    const oldFp = b.fingerprint(oldToken);
    const svc = service();
    const appsBefore = b.sim.state.apps.size;

    const { created, rotation } = await svc.rotateKey({ keyId: 'bot', reason: 'quarterly', trigger: 'manual', actor: 'cli:alice' });
    expect(created).toBe(true);
    expect(rotation).toMatchObject({ state: 'distributed', strategy: 'client_credentials', old_fingerprint: oldFp, targets_done: ['app-env', 'vault', 'deploy'] });
    const newFp = rotation.new_fingerprint!;
    expect(newFp).not.toBe(oldFp);

    // A new app issued the new token; old and new both work during the grace period.
    expect(b.sim.state.apps.size).toBe(appsBefore + 1);
    const newToken = [...b.sim.state.tokens.values()].find((t) => b.fingerprint(t.token) === newFp)!.token;
    expect(b.sim.state.apps.get(b.sim.state.findToken(newToken)!.appId)!.uid).not.toBe(oldApp.uid);
    expect(b.simTokenState(oldToken)).toBe('live');
    expect((await call(b.sim, 'GET', '/oauth/token/info', { token: newToken })).body.scope).toEqual(['read', 'write:statuses']);

    // Delivered: env file (atomic, 0600, other lines kept), Vault KV v2, signed webhook.
    expect(readFileSync(envFile, 'utf8')).toBe(`# bot settings\nMASTODON_URL=https://social.example\nMASTODON_TOKEN=${newToken}\n`);
    expect(statSync(envFile).mode & 0o777).toBe(0o600);
    expect(vaultKv.latest('bots/bot')).toMatchObject({ token: newToken, fingerprint: newFp, key_id: 'bot' });
    expect(hook.accepted).toEqual([expect.objectContaining({ type: 'tuskguard.key.rotated', key_id: 'bot', fingerprint: newFp, token: newToken })]);
    expect(hook.rejected).toBe(0);

    // The inventory now names the new key; it is `rotating` until the old one is revoked.
    expect(b.inventory.require('bot')).toMatchObject({ fingerprint: newFp, status: 'rotating' });

    // Cut-over: the old fingerprint is still seen → wait; silent for the quiet period → revoke.
    clock.advance(30 * 60_000);
    await seen(oldFp, clock.now());
    clock.advance(45 * 60_000);
    await svc.tick();
    expect(svc.status('bot')[0]).toMatchObject({ state: 'distributed', old_last_seen: new Date(clock.now() - 45 * 60_000).toISOString() });
    expect(b.simTokenState(oldToken)).toBe('live');

    await seen(newFp, clock.now()); // the consumer uses the new key now; that does not hold anything up
    clock.advance(16 * 60_000);
    await svc.tick();
    const [done] = svc.status('bot');
    expect(done).toMatchObject({ state: 'completed', new_fingerprint: newFp });
    expect(b.simTokenState(oldToken)).toBe('revoked');
    expect((await call(b.sim, 'GET', '/oauth/token/info', { token: oldToken })).status).toBe(401);
    expect(b.simTokenState(newToken)).toBe('live');
    expect(b.inventory.require('bot')).toMatchObject({ fingerprint: newFp, status: 'active' });
    expect(b.vault.has('bot', 1)).toBe(false);
    expect((await b.vault.get('bot', b.inventory.require('bot').secret_version)).token).toBe(newToken);
    expect(b.inventory.revocations('bot')).toEqual([expect.objectContaining({ fingerprint: oldFp, outcome: 'revoked', actor: `rotation:${done!.id}` })]);
    expect(b.audit).toEqual([expect.objectContaining({ action: 'key.rotate', result: 'done', target: 'bot' })]);
    expect(b.notices.map((n) => n.kind)).toEqual(['rotation-completed']);
    expect(b.leaks(svc.status(), readFileSync(envFile, 'utf8').replace(newToken, ''))).toEqual([]);
  });

  it('without any use of the old key after the new one went out, it is revoked after the quiet period', async () => {
    const { token } = await b.addAppKey('bot');
    const svc = service();
    await svc.rotateKey({ keyId: 'bot', reason: 'r', trigger: 'manual' });
    clock.advance(59 * 60_000);
    await svc.tick();
    expect(b.simTokenState(token)).toBe('live');
    clock.advance(60_000);
    await svc.tick();
    expect(b.simTokenState(token)).toBe('revoked');
  });

  it('grace period over while the old key is still used: revoked anyway, people told', async () => {
    const { token } = await b.addAppKey('bot', { rotation: { grace: '2h' } });
    const oldFp = b.fingerprint(token);
    const svc = service();
    await svc.rotateKey({ keyId: 'bot', reason: 'r', trigger: 'manual' });
    for (let i = 0; i < 5; i++) {
      clock.advance(25 * 60_000);
      await seen(oldFp, clock.now());
      await svc.tick();
    }
    expect(svc.status('bot')[0]!.state).toBe('completed');
    expect(b.simTokenState(token)).toBe('revoked');
    expect(b.notices.map((n) => n.kind)).toEqual(['old-key-still-in-use', 'rotation-completed']);
  });

  it('--now (immediate): the old key is revoked as soon as the new one is out', async () => {
    const { token } = await b.addAppKey('bot');
    const { rotation } = await service().rotateKey({ keyId: 'bot', reason: 'leak', trigger: 'event', immediate: true });
    expect(rotation.state).toBe('completed');
    expect(b.simTokenState(token)).toBe('revoked');
  });
});

describe('rollback', () => {
  it('a distribution target fails: targets already written get the old key back, the new token is revoked, people told', async () => {
    const { token: oldToken } = await b.addAppKey('bot');
    hook.failWith = 500;
    const svc = service();
    const { rotation } = await svc.rotateKey({ keyId: 'bot', reason: 'r', trigger: 'manual' });

    expect(rotation.state).toBe('rolled-back');
    expect(rotation.error).toMatch(/webhook deploy: receiver answered 500/);
    const newToken = [...b.sim.state.tokens.values()].find((t) => b.fingerprint(t.token) === rotation.new_fingerprint)!.token;
    expect(b.simTokenState(newToken)).toBe('revoked');
    expect(b.simTokenState(oldToken)).toBe('live');
    expect(readFileSync(envFile, 'utf8')).toContain(`MASTODON_TOKEN=${oldToken}\n`);
    expect(vaultKv.latest('bots/bot')).toMatchObject({ token: oldToken });
    expect(b.inventory.require('bot')).toMatchObject({ status: 'active', fingerprint: b.fingerprint(oldToken), secret_version: 1 });
    expect(b.vault.has('bot', 2)).toBe(false);
    expect(b.notices.map((n) => [n.kind, n.severity])).toEqual([['rotation-rolled-back', 'warning']]);
    expect(b.leaks(rotation, svc.status())).toEqual([]);
  });

  it('the new token fails verification (wrong scopes): rolled back, old key untouched', async () => {
    const { token: oldToken } = await b.addAppKey('bot');
    // A client whose mint asks for less than the key needs: Mastodon gives exactly what is asked.
    const narrow = Object.create(b.client) as typeof b.client;
    narrow.mintAppToken = (input) => b.client.mintAppToken({ ...input, scopes: ['read'] });
    const svc = new RotationService({ db: b.db, vault: b.vault, client: narrow, fingerprint: b.fingerprint, config: config(), usage: eventStoreUsage(events), notifier: b.notifier, logger: b.logger, clock, env: { TEST_VAULT_TOKEN: vaultKv.token, TEST_HOOK_SECRET: HOOK_SECRET } });
    const { rotation } = await svc.rotateKey({ keyId: 'bot', reason: 'r', trigger: 'manual' });

    expect(rotation.state).toBe('rolled-back');
    expect(rotation.error).toMatch(/verification failed: the new token has scopes \[read\], not the intended \[read write:statuses\]/);
    expect(rotation.targets_done).toEqual([]);
    expect(readFileSync(envFile, 'utf8')).toContain('MASTODON_TOKEN=placeholder');
    const newToken = [...b.sim.state.tokens.values()].find((t) => b.fingerprint(t.token) === rotation.new_fingerprint)!.token;
    expect(b.simTokenState(newToken)).toBe('revoked');
    expect(b.simTokenState(oldToken)).toBe('live');
    expect(b.inventory.require('bot').status).toBe('active');
  });

  it('Mastodon down when the rotation starts: rolled back before anything changed', async () => {
    const { token } = await b.addAppKey('bot');
    await b.sim.setDown(true);
    const { rotation } = await service().rotateKey({ keyId: 'bot', reason: 'r', trigger: 'event' });
    await b.sim.setDown(false);
    expect(rotation.state).toBe('rolled-back');
    expect(rotation.error).toMatch(/cannot be reached/);
    expect(b.simTokenState(token)).toBe('live');
    expect(b.inventory.require('bot').status).toBe('active');
  });

  it('an unreachable instance while rolling back: stays rolling-back and finishes at a later tick', async () => {
    const { token: oldToken } = await b.addAppKey('bot');
    hook.failWith = 503;
    const flaky = Object.create(b.client) as typeof b.client;
    let down = false;
    flaky.revoke = async (input) => {
      if (down) return b.client.revoke({ ...input, instance: 'http://127.0.0.1:9' });
      return b.client.revoke(input);
    };
    down = true;
    const svc = new RotationService({ db: b.db, vault: b.vault, client: flaky, fingerprint: b.fingerprint, config: config(), usage: null, notifier: b.notifier, logger: b.logger, clock, env: { TEST_VAULT_TOKEN: vaultKv.token, TEST_HOOK_SECRET: HOOK_SECRET } });
    const { rotation } = await svc.rotateKey({ keyId: 'bot', reason: 'r', trigger: 'manual' });
    expect(rotation.state).toBe('rolling-back');
    down = false;
    await svc.tick();
    expect(svc.status('bot')[0]!.state).toBe('rolled-back');
    expect(b.simTokenState(oldToken)).toBe('live');
  });
});
