import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { KeysSandbox } from './keys-helpers.js';

// Each test runs the real CLI several times (a process each); allow for a busy machine.
vi.setConfig({ testTimeout: 120_000 });

const box = new KeysSandbox();
const original = box.masterKey;
const next = randomBytes(32).toString('hex');
box.secrets.push(original, next);

afterAll(() => expect(box.leaks()).toEqual([]));

const status = async (env: NodeJS.ProcessEnv = {}) => {
  const r = await box.run(['vault', 'status', '-o', 'json'], { env });
  return { code: r.code, body: JSON.parse(r.stdout) as Record<string, unknown> };
};

describe('vault status', () => {
  it('reports an empty vault, then one sealed under the configured key', async () => {
    expect((await status()).body).toMatchObject({ initialized: false, records: 0, master_key: 'uninitialized' });
    const file = box.writeInventory('keys.json', [box.item('bot-a'), box.item('bot-b')]);
    expect((await box.run(['keys', 'import', file])).code).toBe(0);
    const s = await status();
    expect(s.code).toBe(0);
    expect(s.body).toMatchObject({ initialized: true, records: 2, master_key: 'match', alg: 'A256GCM+A256GCM-KW' });
    expect(s.body.kek_id).toBe(s.body.master_key_id);
  });

  it('exits 1 when the configured master key does not open the vault', async () => {
    const s = await status({ TUSKGUARD_MASTER_KEY: randomBytes(32).toString('hex') });
    expect(s.code).toBe(1);
    expect(s.body.master_key).toBe('mismatch');
  });
});

describe('vault rewrap', () => {
  it('needs the new key and says where to put it', async () => {
    const r = await box.run(['vault', 'rewrap']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/TUSKGUARD_NEW_MASTER_KEY/);
  });

  it('is all or nothing: a tampered record aborts it and the old key still works', async () => {
    const db = new Database(join(box.home, 'control.db'));
    const row = db.prepare(`SELECT ciphertext FROM vault_records WHERE record_id = 'bot-b'`).get() as { ciphertext: Buffer };
    const tampered = Buffer.from(row.ciphertext);
    tampered[0]! ^= 0xff;
    db.prepare(`UPDATE vault_records SET ciphertext = ? WHERE record_id = 'bot-b'`).run(tampered);
    const r = await box.run(['vault', 'rewrap', '-o', 'json'], { env: { TUSKGUARD_NEW_MASTER_KEY: next } });
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stderr.trim().split('\n').pop()!).error).toMatchObject({ code: 'VAULT_DECRYPT_FAILED' });
    expect((await status()).body).toMatchObject({ master_key: 'match', rewrapped_at: null });
    db.prepare(`UPDATE vault_records SET ciphertext = ? WHERE record_id = 'bot-b'`).run(row.ciphertext);
    db.close();
  });

  it('re-wraps every record under the new key; afterwards only the new key opens the vault', async () => {
    const r = await box.run(['vault', 'rewrap', '-o', 'json'], { env: { TUSKGUARD_NEW_MASTER_KEY: next } });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ records: 2 });
    expect((await status()).body.master_key).toBe('mismatch');
    const withNew = await status({ TUSKGUARD_MASTER_KEY: next });
    expect(withNew.body).toMatchObject({ master_key: 'match', records: 2 });
    expect(Object.keys(withNew.body.records_by_kek as object)).toEqual([withNew.body.master_key_id]);
    // Decryption really works under the new key: refingerprint decrypts every token.
    expect((await box.run(['keys', 'refingerprint'], { env: { TUSKGUARD_MASTER_KEY: next } })).code).toBe(0);
    expect((await box.run(['keys', 'refingerprint'])).code).toBe(2);
  });

  it('has --help', async () => {
    const r = await box.run(['vault', 'rewrap', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/openssl rand -hex 32/);
  });
});
