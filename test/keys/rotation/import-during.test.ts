import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { stringify } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { createFingerprinter } from '../../../src/core/fingerprint.js';
import { createLogger } from '../../../src/core/logger.js';
import { openKeysDb } from '../../../src/keys/db.js';
import type { Delivery, DistributionTarget } from '../../../src/keys/distribute/types.js';
import { readInventoryFile } from '../../../src/keys/import-file.js';
import { KeyInventory } from '../../../src/keys/inventory.js';
import { LocalKeyEncryptionKey } from '../../../src/keys/kms.js';
import { rotationConfigSchema } from '../../../src/keys/rotation/config.js';
import { RotationService } from '../../../src/keys/rotation/service.js';
import type { InventoryItem } from '../../../src/keys/schema.js';
import { Vault } from '../../../src/keys/vault.js';
import { MastodonClient } from '../../../src/mastodon/client.js';
import type { ControlDb } from '../../../src/store/control.js';
import { runCli } from '../../helpers/cli.js';
import { startMastodonSim, type MastodonSim } from '../../mastodon-sim/index.js';

// The gap "`keys import` during a rotation drops the new vault version": a key whose rotation
// is unfinished is re-imported from an inventory file (the operator's file still holds the old
// token, or a token of their own). The import must leave that key to the rotation, say so by
// name with what to do, import the file's other keys, and print no secret; the rotation then
// completes with its own new token and revokes the old one.

const DAY = 86_400_000;
let dir: string;
let home: string;
let sim: MastodonSim;
let db: ControlDb;
let vault: Vault;
let clock: ManualClock;
const masterKey = randomBytes(32).toString('hex');
const pepper = `pepper-${randomBytes(16).toString('hex')}`;
const fingerprint = createFingerprinter(pepper);
const transcript: string[] = [];
const secrets = new Set<string>();

const logger = createLogger({
  level: 'trace',
  destination: new Writable({ write: (c: Buffer, _e, done) => (transcript.push(c.toString('utf8')), done()) }),
});

function service(targets: DistributionTarget[] = []): RotationService {
  return new RotationService({
    db, vault, client: new MastodonClient({ timeoutMs: 1_500, logger, fingerprint }), fingerprint, logger, clock, env: {},
    config: rotationConfigSchema.parse({ quiet_period: '1h', grace: '7d' }), targets: () => targets,
  });
}

async function appToken(id: string): Promise<InventoryItem> {
  const app = sim.createApp({ name: `app-${id}`, redirectUris: ['urn:ietf:wg:oauth:2.0:oob'], scopes: 'read' });
  const res = await fetch(`${sim.url}/oauth/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'client_credentials', client_id: app.uid, client_secret: app.secret, scope: 'read' }) });
  const token = ((await res.json()) as { access_token: string }).access_token;
  secrets.add(token).add(app.secret);
  return { id, instance: sim.url, kind: 'app', scopes: ['read'], owner: 'ops', purpose: 'import during rotation', labels: {}, token, client_id: app.uid, client_secret: app.secret };
}

function inventoryFile(items: InventoryItem[]): string {
  const file = join(dir, `inventory-${randomBytes(4).toString('hex')}.yaml`);
  writeFileSync(file, stringify({ keys: items }), { mode: 0o600 });
  return file;
}

const tokenState = (token: string) => (sim.state.findToken(token)?.revokedAt ? 'revoked' : 'live');
const currentToken = async (id: string) => (await vault.get(id, new KeyInventory(db).require(id).secret_version)).token;

function leaks(): string[] {
  for (const t of sim.state.tokens.values()) secrets.add(t.token);
  for (const a of sim.state.apps.values()) secrets.add(a.secret);
  const all = transcript.join('\n');
  return [...secrets].filter((s) => all.includes(s));
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tg-import-rotating-'));
  home = join(dir, 'home');
  sim = await startMastodonSim({ throttles: { 'throttle_oauth_application_registrations/ip': { limit: 1000, periodSeconds: 600 } } });
  db = openKeysDb(home);
  vault = await Vault.open(db, new LocalKeyEncryptionKey(Buffer.from(masterKey, 'hex')), logger);
  clock = new ManualClock(Date.now());
  transcript.length = 0;
});
afterEach(async () => {
  await sim.close();
  db.close();
  expect(leaks()).toEqual([]);
});

describe('keys import while a key is rotating', () => {
  it('during the cut-over wait: the rotating key is refused by name, the others imported, the rotation completes with its new token', async () => {
    const bot = await appToken('bot');
    await new KeyInventory(db).upsertMany(vault, pepper, [bot]);
    const svc = service();
    const { rotation } = await svc.rotateKey({ keyId: 'bot', reason: 'quarterly', trigger: 'manual', actor: 'test' });
    expect(rotation.state).toBe('distributed');
    const newToken = await currentToken('bot');
    expect(newToken).not.toBe(bot.token);
    secrets.add(newToken);

    // The operator's file still holds the old token, and changes the owner; it also adds a key.
    const fresh = await appToken('fresh');
    const file = inventoryFile([{ ...bot, owner: 'payments' }, fresh]);
    const configFile = join(dir, 'tuskguard.yaml');
    writeFileSync(configFile, `home: ${JSON.stringify(home)}\n`);
    const r = await runCli(['keys', 'import', file, '--output', 'json', '--config', configFile], {
      env: { TUSKGUARD_HOME: home, TUSKGUARD_PEPPER: pepper, TUSKGUARD_MASTER_KEY: masterKey, TUSKGUARD_LOG_LEVEL: 'trace' },
    });
    transcript.push(r.stdout, r.stderr);

    expect(r.code).toBe(1);
    const json = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as { added: string[]; updated: string[]; refused: Array<{ id: string; reason: string }> };
    expect(json.added).toEqual(['fresh']);
    expect(json.updated).toEqual([]);
    expect(json.refused).toEqual([{ id: 'bot', reason: expect.stringContaining(`bot is being rotated (rotation ${rotation.id}, state distributed)`) }]);
    expect(r.stderr).toMatch(/not imported: bot is being rotated .*Wait for the rotation to complete or roll back/);

    // Nothing of bot changed: the new token is still its current version, the old one kept for revoking.
    const inv = new KeyInventory(db);
    expect(inv.require('bot')).toMatchObject({ fingerprint: fingerprint(newToken), status: 'rotating', owner: 'ops' });
    expect(await currentToken('bot')).toBe(newToken);
    expect((await vault.get('bot', 1)).token).toBe(bot.token); // the old version, kept for revoking
    expect(await currentToken('fresh')).toBe(fresh.token);

    clock.advance(8 * DAY);
    await svc.tick();
    expect(svc.status('bot')[0]).toMatchObject({ state: 'completed', new_fingerprint: fingerprint(newToken) });
    expect(tokenState(bot.token)).toBe('revoked');
    expect(tokenState(newToken)).toBe('live');
    expect(await currentToken('bot')).toBe(newToken);

    // Once the rotation is over, the same file imports bot (here: back to the old, revoked token).
    const again = await new KeyInventory(db).upsertMany(vault, pepper, readInventoryFile(file));
    expect(again.map((x) => [x.id, x.outcome])).toEqual([['bot', 'updated'], ['fresh', 'unchanged']]);
  });

  it('mid-flight (new version stored, delivery in progress): a token of the operator\'s own does not replace the minted one', async () => {
    const bot = await appToken('bot');
    const other = await appToken('other');
    await new KeyInventory(db).upsertMany(vault, pepper, [bot, other]);
    let release!: () => void;
    const gate = new Promise<void>((res) => (release = res));
    let reached!: (d: Delivery) => void;
    const delivering = new Promise<Delivery>((res) => (reached = res));
    const target: DistributionTarget = { id: 'held', type: 'test', deliver: async (d) => (reached(d), await gate, { held: true }) };
    const svc = service([target]);
    const running = svc.rotateKey({ keyId: 'bot', reason: 'quarterly', trigger: 'manual', actor: 'test' });
    const delivery = await delivering;
    const minted = delivery.secrets.token;
    secrets.add(minted);
    expect(svc.status('bot')[0]).toMatchObject({ state: 'verified' });

    // The operator imports a token they made themselves for bot, and changes other's owner.
    const own = await appToken('bot');
    const results = await new KeyInventory(db, logger).upsertMany(vault, pepper, readInventoryFile(inventoryFile([own, { ...other, owner: 'payments' }])));
    expect(results.map((x) => [x.id, x.outcome])).toEqual([['bot', 'refused'], ['other', 'updated']]);
    expect(results[0]!.reason).toMatch(/^bot is being rotated \(rotation [0-9a-f-]+, state verified\)/);
    expect(new KeyInventory(db).require('other').owner).toBe('payments');

    release();
    expect((await running).rotation.state).toBe('distributed');
    clock.advance(8 * DAY);
    await svc.tick();
    expect(svc.status('bot')[0]).toMatchObject({ state: 'completed', new_fingerprint: fingerprint(minted) });
    expect(await currentToken('bot')).toBe(minted);
    expect(tokenState(bot.token)).toBe('revoked');
    expect(tokenState(minted)).toBe('live');
    expect(transcript.join('\n')).toContain('key not imported: it is being rotated');
  });
});
