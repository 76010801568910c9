import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/core/logger.js';
import { openKeysDb } from '../../src/keys/db.js';
import { KeyInventory } from '../../src/keys/inventory.js';
import { LocalKeyEncryptionKey } from '../../src/keys/kms.js';
import { Vault } from '../../src/keys/vault.js';
import { caught, errorText, item, tempHome } from './helpers.js';

const PEPPER = 'secrets-test-pepper-0123456789';

/** A pino logger at trace level whose every line lands in `lines`. */
function capturingLogger() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, logger: createLogger({ level: 'trace', destination }) };
}

describe('no secret in any log line or error of the vault and inventory', () => {
  it('holds across import, update, refingerprint, rewrap and every failure path', async () => {
    const { lines, logger } = capturingLogger();
    const db = openKeysDb(tempHome());
    const masterKey = randomBytes(32);
    const newKey = randomBytes(32);
    const a = item('bot-a');
    const b = item('bot-b');
    const secrets = [a.token, a.client_secret, a.client_id, b.token, b.client_secret, masterKey.toString('hex'), newKey.toString('hex'), PEPPER];
    const errors: unknown[] = [];
    try {
      const vault = await Vault.open(db, new LocalKeyEncryptionKey(masterKey), logger);
      const inventory = new KeyInventory(db, logger);
      await inventory.upsertMany(vault, PEPPER, [a, b]);
      await inventory.upsertMany(vault, PEPPER, [{ ...a, token: b.token }, b]).catch((e: unknown) => errors.push(e));
      await inventory.upsertMany(vault, PEPPER, [{ ...a, client_secret: `${a.client_secret}x` }]);
      await inventory.refingerprint(vault, PEPPER);
      errors.push(await caught(Vault.open(db, new LocalKeyEncryptionKey(randomBytes(32)), logger)));
      db.prepare(`UPDATE vault_records SET tag = zeroblob(16) WHERE record_id = 'bot-b'`).run();
      errors.push(await caught(vault.get('bot-b', 1)));
      errors.push(await caught(vault.rewrap(new LocalKeyEncryptionKey(newKey))));
      errors.push(await caught(inventory.upsertMany(vault, 'a-different-pepper-123', [b])));
    } finally {
      db.close();
    }
    // The paths above really logged and really failed, so the check below means something.
    expect(lines.some((l) => l.includes('key imported'))).toBe(true);
    expect(lines.some((l) => l.includes('key fingerprints recomputed'))).toBe(true);
    expect(errors).toHaveLength(5);
    const everything = [...lines, ...errors.map(errorText), ...errors.map((e) => JSON.stringify(e))].join('\n');
    for (const s of secrets) expect(everything).not.toContain(s);
  });
});
