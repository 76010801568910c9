import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { validateConfig } from '../../../src/config/load.js';
import type { LoadedConfig } from '../../../src/config/load.js';
import { createLogger, silentLogger } from '../../../src/core/logger.js';
import { openKeysDb } from '../../../src/keys/db.js';
import { KeyInventory } from '../../../src/keys/inventory.js';
import { LocalKeyEncryptionKey } from '../../../src/keys/kms.js';
import { buildLifecycle, startKeyLifecycle } from '../../../src/keys/rotation/runtime.js';
import type { InventoryItem } from '../../../src/keys/schema.js';
import { Vault } from '../../../src/keys/vault.js';
import { startMastodonSim, type MastodonSim } from '../../mastodon-sim/index.js';
import { tempHome } from '../helpers.js';
import { until } from './harness.js';

// startKeyLifecycle is what `serve` runs at start: with a master key and a pepper it drains
// revocations left pending (by `keys revoke` while the instance was down) and resumes rotations.

let sim: MastodonSim;
let home: string;
let loaded: LoadedConfig;
const masterKey = randomBytes(32).toString('hex');
const pepper = `pepper-${randomBytes(12).toString('hex')}`;
const env = { TUSKGUARD_MASTER_KEY: masterKey, TUSKGUARD_PEPPER: pepper };

beforeEach(async () => {
  sim = await startMastodonSim();
  home = tempHome('tg-runtime-');
  loaded = { config: validateConfig({ revocation: { retry_base: '10ms', retry_max: '50ms' } }), home, file: null };
});
afterEach(async () => sim.close());

async function seedKey(): Promise<string> {
  const app = sim.createApp({ name: 'bot', redirectUris: ['urn:ietf:wg:oauth:2.0:oob'], scopes: 'read' });
  const token = sim.issueUserToken(app, sim.createUser({ username: 'u1' }), ['read']).token;
  const db = openKeysDb(home);
  const vault = await Vault.open(db, new LocalKeyEncryptionKey(Buffer.from(masterKey, 'hex')));
  const item = { id: 'bot', instance: sim.url, kind: 'user', scopes: ['read'], owner: 'o', purpose: 'p', labels: {}, token, client_id: app.uid, client_secret: app.secret } as InventoryItem;
  await new KeyInventory(db).upsertMany(vault, pepper, [item]);
  await sim.setDown(true);
  const lc = buildLifecycle({ loaded, db, vault, pepper, logger: silentLogger, env, events: null, audit: () => undefined });
  expect((await lc.revocations.revokeKey({ keyId: 'bot', reason: 'r', actor: 'cli:a' })).outcome).toBe('pending');
  db.close();
  await sim.setDown(false);
  return token;
}

describe('startKeyLifecycle', () => {
  it('drains a revocation left pending by an earlier process', async () => {
    const token = await seedKey();
    const running = await startKeyLifecycle({ loaded, logger: silentLogger, env, events: null });
    try {
      expect(running).not.toBeNull();
      await until(() => sim.state.findToken(token)?.revokedAt instanceof Date);
      await until(() => running!.lifecycle.revocations.inventory.require('bot').status === 'revoked');
    } finally {
      await running?.stop();
    }
  });

  it('is off (null) without a master key, saying why in the log', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', destination: new Writable({ write: (c: Buffer, _e, done) => (lines.push(c.toString()), done()) }) });
    expect(await startKeyLifecycle({ loaded, logger, env: { TUSKGUARD_PEPPER: pepper }, events: null })).toBeNull();
    expect(lines.join('')).toMatch(/need the master key and the pepper/);
  });
});
