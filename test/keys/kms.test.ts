import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TuskguardError } from '../../src/core/errors.js';
import { loadLocalKek, LocalKeyEncryptionKey, NEW_MASTER_KEY_VARS, parseMasterKey, requireKek } from '../../src/keys/kms.js';
import { caught, errorText, hexKey, tempHome } from './helpers.js';

describe('parseMasterKey', () => {
  const hex = hexKey();
  const bytes = Buffer.from(hex, 'hex');

  it.each([
    ['64 hex characters', hex],
    ['upper-case hex', hex.toUpperCase()],
    ['base64', bytes.toString('base64')],
    ['base64url', bytes.toString('base64url')],
    ['with surrounding whitespace', `  ${hex}\n`],
  ])('accepts %s', (_, text) => {
    expect(parseMasterKey(text, 'TEST').equals(bytes)).toBe(true);
  });

  it.each([
    ['31 bytes of hex', hex.slice(0, 62)],
    ['33 bytes of hex', `${hex}ab`],
    ['a passphrase', 'correct horse battery staple'],
    ['base64 of 31 bytes', bytes.subarray(0, 31).toString('base64')],
    ['empty', ''],
  ])('rejects %s without echoing it', async (_, text) => {
    const e = (await caught(() => parseMasterKey(text, 'TUSKGUARD_MASTER_KEY'))) as TuskguardError;
    expect(e.code).toBe('VAULT_MASTER_KEY_INVALID');
    expect(e.message).toContain('TUSKGUARD_MASTER_KEY');
    expect(e.hint).toMatch(/openssl rand -hex 32/);
    if (text.trim()) expect(errorText(e)).not.toContain(text.trim());
  });
});

describe('loading the master key', () => {
  it('reads TUSKGUARD_MASTER_KEY, or the file named by TUSKGUARD_MASTER_KEY_FILE (which wins)', () => {
    const inEnv = hexKey();
    const inFile = hexKey();
    const file = join(tempHome(), 'master.key');
    writeFileSync(file, `${inFile}\n`);
    chmodSync(file, 0o600);
    expect(loadLocalKek({ TUSKGUARD_MASTER_KEY: inEnv })!.id).toBe(new LocalKeyEncryptionKey(Buffer.from(inEnv, 'hex')).id);
    expect(loadLocalKek({ TUSKGUARD_MASTER_KEY: inEnv, TUSKGUARD_MASTER_KEY_FILE: file })!.id).toBe(
      new LocalKeyEncryptionKey(Buffer.from(inFile, 'hex')).id,
    );
    expect(loadLocalKek({})).toBeNull();
    expect(loadLocalKek({ TUSKGUARD_NEW_MASTER_KEY: inEnv }, NEW_MASTER_KEY_VARS)).not.toBeNull();
  });

  it('says how to provide a key when none is set, and when the file is missing', async () => {
    const none = (await caught(() => requireKek({}))) as TuskguardError;
    expect(none.code).toBe('SECRET_MISSING');
    expect(none.message).toMatch(/TUSKGUARD_MASTER_KEY/);
    const missing = (await caught(() => requireKek({ TUSKGUARD_MASTER_KEY_FILE: '/nonexistent/key' }))) as TuskguardError;
    expect(missing.code).toBe('SECRET_MISSING');
    expect(missing.message).toContain('/nonexistent/key');
  });

  it('names a key by a one-way id that does not reveal it and does not serialise it', () => {
    const hex = hexKey();
    const kek = new LocalKeyEncryptionKey(Buffer.from(hex, 'hex'));
    expect(kek.id).toMatch(/^local:[0-9a-f]{16}$/);
    expect(hex).not.toContain(kek.id.slice(6));
    expect(JSON.stringify(kek)).not.toContain(hex);
  });
});
