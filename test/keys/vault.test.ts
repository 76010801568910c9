import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { TuskguardError } from '../../src/core/errors.js';
import { openKeysDb } from '../../src/keys/db.js';
import { LocalKeyEncryptionKey, type KeyEncryptionKey } from '../../src/keys/kms.js';
import { Vault, vaultStatus, type KeySecrets } from '../../src/keys/vault.js';
import type { ControlDb } from '../../src/store/control.js';
import { caught, dumpKeysTables, errorText, fakeToken, tempHome } from './helpers.js';

const kek = (key = randomBytes(32)) => new LocalKeyEncryptionKey(key);
const secrets = (): KeySecrets => ({ token: fakeToken(), client_id: fakeToken(), client_secret: fakeToken() });

let db: ControlDb | undefined;
afterEach(() => db?.close());

async function setup() {
  db = openKeysDb(tempHome());
  const key = randomBytes(32);
  const vault = await Vault.open(db, kek(key));
  const a = secrets();
  const b = secrets();
  await vault.put('key-a', 1, a);
  await vault.put('key-b', 1, b);
  return { db, key, vault, a, b };
}

function expectDecryptFailed(e: unknown, ...absent: string[]) {
  expect(e).toBeInstanceOf(TuskguardError);
  expect((e as TuskguardError).code).toBe('VAULT_DECRYPT_FAILED');
  expect((e as TuskguardError).hint).toMatch(/nothing was changed/i);
  for (const s of absent) expect(errorText(e)).not.toContain(s);
}

describe('vault round trip', () => {
  it('returns exactly what was sealed, under a fresh data key per record', async () => {
    const { vault, a, b, db } = await setup();
    expect(await vault.get('key-a', 1)).toEqual(a);
    expect(await vault.get('key-b', 1)).toEqual(b);
    const rows = db.prepare('SELECT wrapped_key, iv, ciphertext FROM vault_records').all() as Array<Record<string, Buffer>>;
    expect(new Set(rows.map((r) => r.wrapped_key!.toString('hex'))).size).toBe(2);
    // The stored bytes never contain a secret in the clear.
    const dump = dumpKeysTables(db);
    for (const s of [a.token, a.client_secret, b.token, b.client_secret]) {
      expect(dump).not.toContain(Buffer.from(s).toString('hex'));
    }
  });

  it('seals the same secrets differently each time (random data key and IV)', async () => {
    const { vault } = await setup();
    const s = secrets();
    const one = await vault.seal('k', 1, s);
    const two = await vault.seal('k', 1, s);
    expect(one.ciphertext.equals(two.ciphertext)).toBe(false);
    expect(one.wrapped_key.equals(two.wrapped_key)).toBe(false);
  });

  it('reports KEY_NOT_FOUND for a record it does not hold', async () => {
    const { vault } = await setup();
    const e = await caught(vault.get('nope', 1));
    expect((e as TuskguardError).code).toBe('KEY_NOT_FOUND');
  });
});

describe('wrong master key', () => {
  it('is refused with VAULT_DECRYPT_FAILED naming what to do, and changes nothing', async () => {
    const { db, a } = await setup();
    const before = dumpKeysTables(db);
    const other = randomBytes(32);
    const e = await caught(Vault.open(db, kek(other)));
    expectDecryptFailed(e, a.token, a.client_secret, other.toString('hex'));
    expect((e as TuskguardError).hint).toMatch(/TUSKGUARD_MASTER_KEY/);
    expect(dumpKeysTables(db)).toBe(before);
  });

  it('is caught by the canary even when a KEK claims the right id', async () => {
    const { db, key } = await setup();
    const other = kek();
    const impostor: KeyEncryptionKey = { id: kek(key).id, wrap: (d, aad) => other.wrap(d, aad), unwrap: (w, aad) => other.unwrap(w, aad) };
    const before = dumpKeysTables(db);
    expectDecryptFailed(await caught(Vault.open(db, impostor)));
    expect(dumpKeysTables(db)).toBe(before);
  });
});

describe('tampered records', () => {
  it.each(['ciphertext', 'iv', 'tag', 'wrapped_key'])('a flipped byte in %s fails with VAULT_DECRYPT_FAILED and changes nothing', async (column) => {
    const { db, vault, a } = await setup();
    const row = db.prepare(`SELECT ${column} AS v FROM vault_records WHERE record_id = 'key-a'`).get() as { v: Buffer };
    const bad = Buffer.from(row.v);
    bad[Math.floor(bad.length / 2)]! ^= 0x01;
    db.prepare(`UPDATE vault_records SET ${column} = ? WHERE record_id = 'key-a'`).run(bad);
    const before = dumpKeysTables(db);
    expectDecryptFailed(await caught(vault.get('key-a', 1)), a.token, a.client_secret, a.client_id);
    expect(dumpKeysTables(db)).toBe(before);
    // The other record is unaffected.
    await expect(vault.get('key-b', 1)).resolves.toBeDefined();
  });

  it('a record copied onto another id does not decrypt (record id is authenticated)', async () => {
    const { db, vault } = await setup();
    db.prepare(
      `UPDATE vault_records SET (wrapped_key, iv, ciphertext, tag) =
        (SELECT wrapped_key, iv, ciphertext, tag FROM vault_records WHERE record_id = 'key-a') WHERE record_id = 'key-b'`,
    ).run();
    expectDecryptFailed(await caught(vault.get('key-b', 1)));
  });

  it('a record moved to another version does not decrypt (version is authenticated)', async () => {
    const { db, vault } = await setup();
    db.prepare(`UPDATE vault_records SET version = 2 WHERE record_id = 'key-a'`).run();
    expectDecryptFailed(await caught(vault.get('key-a', 2)));
  });
});

describe('rewrap', () => {
  it('moves every record to the new key; the old key no longer opens the vault', async () => {
    const { db, vault, a, b } = await setup();
    const next = kek();
    const result = await vault.rewrap(next);
    expect(result).toMatchObject({ records: 2, to: next.id });
    const reopened = await Vault.open(db, next);
    expect(await reopened.get('key-a', 1)).toEqual(a);
    expect(await reopened.get('key-b', 1)).toEqual(b);
    expect(vaultStatus(db)).toMatchObject({ kek_id: next.id, records: 2, records_by_kek: { [next.id]: 2 } });
    expect((vaultStatus(db).rewrapped_at ?? '').length).toBeGreaterThan(0);
  });

  it('is all or nothing: one tampered record aborts it with nothing written', async () => {
    const { db, vault, key } = await setup();
    db.prepare(`UPDATE vault_records SET tag = zeroblob(16) WHERE record_id = 'key-b'`).run();
    const before = dumpKeysTables(db);
    expectDecryptFailed(await caught(vault.rewrap(kek())));
    expect(dumpKeysTables(db)).toBe(before);
    await expect(Vault.open(db, kek(key))).resolves.toBeDefined();
  });

  it('refuses a "new" key equal to the current one', async () => {
    const { vault, key } = await setup();
    expect(((await caught(vault.rewrap(kek(key)))) as TuskguardError).code).toBe('USAGE');
  });

  it('works with any KeyEncryptionKey (an AES-KW KEK stands in for an external KMS)', async () => {
    const { db, vault, a } = await setup();
    const kwKey = randomBytes(32);
    // AES-KW has no AAD; this stand-in appends a hash of it so the binding still holds.
    const kw: KeyEncryptionKey = {
      id: 'test-kms:aes-kw',
      async wrap(dek, aad) {
        const c = createCipheriv('id-aes256-wrap-pad', kwKey, Buffer.from('A65959A6', 'hex'));
        return Buffer.concat([c.update(Buffer.concat([dek, aad])), c.final()]);
      },
      async unwrap(w, aad) {
        const d = createDecipheriv('id-aes256-wrap-pad', kwKey, Buffer.from('A65959A6', 'hex'));
        const plain = Buffer.concat([d.update(w), d.final()]);
        if (!plain.subarray(32).equals(aad)) throw new Error('aad mismatch');
        return plain.subarray(0, 32);
      },
    };
    await vault.rewrap(kw);
    expect(await (await Vault.open(db, kw)).get('key-a', 1)).toEqual(a);
  });
});
