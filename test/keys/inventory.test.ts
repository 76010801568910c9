import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { TuskguardError } from '../../src/core/errors.js';
import { fingerprint } from '../../src/core/fingerprint.js';
import { openKeysDb } from '../../src/keys/db.js';
import { readInventoryFile } from '../../src/keys/import-file.js';
import { KeyInventory } from '../../src/keys/inventory.js';
import { LocalKeyEncryptionKey } from '../../src/keys/kms.js';
import { ReloadingKeys } from '../../src/detect/replay-keys.js';
import { Vault } from '../../src/keys/vault.js';
import type { ControlDb } from '../../src/store/control.js';
import { caught, dumpKeysTables, errorText, fakeToken, item, tempHome } from './helpers.js';

const PEPPER = 'test-pepper-0123456789abcdef';


function writeFile(dir: string, name: string, content: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, typeof content === 'string' ? content : name.endsWith('.json') ? JSON.stringify(content) : stringify(content));
  return file;
}

let db: ControlDb | undefined;
afterEach(() => db?.close());

async function open(home = tempHome()) {
  db = openKeysDb(home);
  const vault = await Vault.open(db, new LocalKeyEncryptionKey(randomBytes(32)));
  return { home, db, vault, inventory: new KeyInventory(db) };
}

describe('inventory file', () => {
  it('reads YAML and JSON with a top-level keys list and normalises the instance URL', () => {
    const dir = tempHome();
    const a = { ...item('bot-a'), instance: 'https://social.example/' };
    const fromYaml = readInventoryFile(writeFile(dir, 'k.yaml', { keys: [a] }));
    const fromJson = readInventoryFile(writeFile(dir, 'k.json', { keys: [a] }));
    expect(fromYaml).toEqual(fromJson);
    expect(fromYaml[0]!.instance).toBe('https://social.example');
  });

  it('names the file, the item (index and id) and the field of every problem, never a secret', async () => {
    const dir = tempHome();
    const bad = [
      item('ok-one'),
      { ...item('bot-b'), scopes: ['read:reports'], kind: 'robot' },
      { ...item('bot-c'), toekn: 'x' },
      { ...item('bot-d'), kind: 'user', rotation: { strategy: 'client_credentials', max_age: '90 days' } },
      { ...item('ok-one') },
    ];
    const file = writeFile(dir, 'bad.yaml', { keys: bad });
    const e = (await caught(() => readInventoryFile(file))) as TuskguardError;
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.message).toContain(file);
    expect(e.message).toContain('keys[1] (id bot-b).scopes[0]');
    expect(e.message).toContain('keys[1] (id bot-b).kind');
    expect(e.message).toMatch(/keys\[2\] \(id bot-c\): unknown field\(s\): toekn/);
    expect(e.message).toContain('keys[3] (id bot-d).rotation.max_age');
    expect(e.message).toContain('keys[3] (id bot-d).rotation.strategy');
    expect(e.message).toMatch(/keys\[4\] \(id ok-one\)\.id: duplicate id/);
    for (const k of bad) {
      expect(errorText(e)).not.toContain(k.token);
      expect(errorText(e)).not.toContain(k.client_secret);
    }
  });

  it('reports a YAML syntax error by position without quoting the line that holds the token', async () => {
    const token = fakeToken();
    const file = writeFile(tempHome(), 'broken.yaml', `keys:\n  - id: a\n    token: ${token}: [oops\n`);
    const e = (await caught(() => readInventoryFile(file))) as TuskguardError;
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.message).toMatch(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:3:\\d+`));
    expect(errorText(e)).not.toContain(token);
  });

  it('rejects a malformed secret without echoing it, and a missing or empty list', async () => {
    const dir = tempHome();
    const leaked = 'has spaces but is a secret value 123';
    const e1 = (await caught(() => readInventoryFile(writeFile(dir, 'a.yaml', { keys: [{ ...item('a'), client_secret: leaked }] })))) as TuskguardError;
    expect(e1.message).toContain('keys[0] (id a).client_secret');
    expect(errorText(e1)).not.toContain(leaked);
    expect(((await caught(() => readInventoryFile(writeFile(dir, 'b.yaml', { keys: [] })))) as TuskguardError).message).toMatch(/lists no keys/);
    expect(((await caught(() => readInventoryFile(writeFile(dir, 'c.yaml', 'tokens: []')))) as TuskguardError).message).toMatch(/keys/);
    expect(((await caught(() => readInventoryFile(join(dir, 'missing.yaml')))) as TuskguardError).code).toBe('CONFIG_NOT_FOUND');
  });
});

describe('upsertMany', () => {
  it('adds keys with their fingerprint and seals the secrets', async () => {
    const { inventory, vault } = await open();
    const a = item('bot-a', { labels: { team: 'a' }, rotation: { max_age: '90d', strategy: 'client_credentials' } });
    const result = await inventory.upsertMany(vault, PEPPER, [a]);
    expect(result).toEqual([{ id: 'bot-a', fingerprint: fingerprint(PEPPER, a.token), outcome: 'added', secret_changed: false }]);
    const stored = inventory.require('bot-a');
    expect(stored).toMatchObject({ status: 'active', fingerprint: fingerprint(PEPPER, a.token), labels: { team: 'a' }, secret_version: 1 });
    expect(await vault.get('bot-a', 1)).toEqual({ token: a.token, client_id: a.client_id, client_secret: a.client_secret });
  });

  it('is idempotent: the same file again changes nothing; changed metadata updates in place', async () => {
    const { inventory, vault, db } = await open();
    const a = item('bot-a');
    const b = item('bot-b');
    await inventory.upsertMany(vault, PEPPER, [a, b]);
    const before = dumpKeysTables(db);
    expect((await inventory.upsertMany(vault, PEPPER, [a, b])).map((r) => r.outcome)).toEqual(['unchanged', 'unchanged']);
    expect(dumpKeysTables(db).replace(/"updated_at":"[^"]+"/g, '')).toBe(before.replace(/"updated_at":"[^"]+"/g, ''));
    const res = await inventory.upsertMany(vault, PEPPER, [{ ...a, owner: 'team-z' }, b]);
    expect(res.map((r) => [r.id, r.outcome])).toEqual([['bot-a', 'updated'], ['bot-b', 'unchanged']]);
    expect(inventory.list().map((k) => [k.id, k.owner])).toEqual([['bot-a', 'team-z'], ['bot-b', 'team-a']]);
  });

  it('a new token for an existing id bumps the secret version and keeps one vault record', async () => {
    const { inventory, vault, db } = await open();
    const a = item('bot-a');
    await inventory.upsertMany(vault, PEPPER, [a]);
    const a2 = { ...a, token: fakeToken() };
    const [r] = await inventory.upsertMany(vault, PEPPER, [a2]);
    expect(r).toMatchObject({ outcome: 'updated', secret_changed: true, fingerprint: fingerprint(PEPPER, a2.token) });
    expect(inventory.require('bot-a').secret_version).toBe(2);
    expect((await vault.get('bot-a', 2)).token).toBe(a2.token);
    expect(db.prepare('SELECT COUNT(*) AS n FROM vault_records').get()).toEqual({ n: 1 });
  });

  it('refuses one token under two ids, naming both, and writes nothing', async () => {
    const { inventory, vault, db } = await open();
    const a = item('bot-a');
    await inventory.upsertMany(vault, PEPPER, [a]);
    const before = dumpKeysTables(db);
    const e = (await caught(inventory.upsertMany(vault, PEPPER, [item('bot-c'), { ...item('bot-b'), token: a.token }]))) as TuskguardError;
    expect(e.code).toBe('KEY_EXISTS');
    expect(e.message).toMatch(/bot-b.*bot-a/);
    expect(errorText(e)).not.toContain(a.token);
    expect(dumpKeysTables(db)).toBe(before);
  });

  it('detects a changed pepper, and refingerprint recomputes every fingerprint', async () => {
    const { inventory, vault, home } = await open();
    const a = item('bot-a');
    await inventory.upsertMany(vault, PEPPER, [a]);
    const newPepper = 'another-pepper-9876543210';
    expect(inventory.pepperState(newPepper)).toBe('mismatch');
    expect(((await caught(inventory.upsertMany(vault, newPepper, [item('x')]))) as TuskguardError).code).toBe('KEY_FINGERPRINTS_STALE');
    expect(((await caught(() => ReloadingKeys.load(home, newPepper))) as TuskguardError).code).toBe('KEY_FINGERPRINTS_STALE');
    const res = await inventory.refingerprint(vault, newPepper);
    expect(res).toEqual([{ id: 'bot-a', fingerprint: fingerprint(newPepper, a.token), changed: true }]);
    expect(inventory.pepperState(newPepper)).toBe('match');
    expect(ReloadingKeys.load(home, newPepper).keyIdFor(fingerprint(newPepper, a.token))).toBe('bot-a');
  });
});

describe('ReloadingKeys (the fingerprint → key id index of ingest)', () => {
  it('maps stored fingerprints to key ids and unknown ones to null, and reloads', async () => {
    const { inventory, vault, home } = await open();
    const a = item('bot-a');
    await inventory.upsertMany(vault, PEPPER, [a]);
    const lookup = ReloadingKeys.load(home, PEPPER);
    expect(lookup.keyIdFor(fingerprint(PEPPER, a.token))).toBe('bot-a');
    expect(lookup.keyIdFor(fingerprint(PEPPER, fakeToken()))).toBeNull();
    const b = item('bot-b');
    await inventory.upsertMany(vault, PEPPER, [b]);
    expect(lookup.keyIdFor(fingerprint(PEPPER, b.token))).toBeNull();
    lookup.reload();
    expect(lookup.keyIdFor(fingerprint(PEPPER, b.token))).toBe('bot-b');
    expect(lookup.size).toBe(2);
  });

  it('is empty for a home with no control database', () => {
    expect(ReloadingKeys.load(tempHome(), PEPPER).size).toBe(0);
  });
});
