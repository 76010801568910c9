import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { fingerprint } from '../../src/core/fingerprint.js';
import { KeysSandbox, usageEvent } from './keys-helpers.js';

// Each test runs the real CLI several times (a process each); allow for a busy machine.
vi.setConfig({ testTimeout: 120_000 });

// One sandbox for the whole file: the commands build on each other like a session would.
const box = new KeysSandbox();
const a = box.item('bot-a', { labels: { env: 'prod' }, rotation: { max_age: '90d', strategy: 'client_credentials' } });
const b = box.item('bot-b', { kind: 'user', scopes: ['read:statuses'] });
const fpA = () => fingerprint(box.pepper, a.token as string);

afterAll(() => {
  // The acceptance check of issue 3: no token or client secret in any output or log line.
  expect(box.transcript.join('').length).toBeGreaterThan(1_000);
  // pino lines (trace level, on stderr) are part of what was searched.
  expect(box.transcript.join('')).toContain('"msg":"key imported"');
  expect(box.leaks()).toEqual([]);
});

describe('keys import', () => {
  it('imports a file, reports added ids and reminds the user to delete it', async () => {
    const file = box.writeInventory('keys.json', [a, b]);
    const r = await box.run(['keys', 'import', file, '-o', 'json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ added: ['bot-a', 'bot-b'], updated: [], unchanged: [] });
    expect(out.reminder).toMatch(/delete it/);
    const human = await box.run(['keys', 'import', file]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/0 added, 0 updated, 2 unchanged/);
    expect(human.stdout).toMatch(/shred -u/);
  });

  it('updates changed metadata without duplicating', async () => {
    const file = box.writeInventory('keys2.json', [{ ...a, owner: 'team-z' }, b]);
    const out = JSON.parse((await box.run(['keys', 'import', file, '-o', 'json'])).stdout);
    expect(out).toMatchObject({ added: [], updated: ['bot-a'], unchanged: ['bot-b'] });
    const list = JSON.parse((await box.run(['keys', 'list', '-o', 'json'])).stdout);
    expect(list.map((k: { id: string; owner: string }) => [k.id, k.owner])).toEqual([['bot-a', 'team-z'], ['bot-b', 'team-a']]);
  });

  it('rejects an invalid file naming the file and the item path, exit 2, nothing imported', async () => {
    const bad = box.item('bot-x', { scopes: ['read:reports'] });
    const file = box.writeInventory('bad.json', [box.item('bot-ok'), bad]);
    const r = await box.run(['keys', 'import', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('bad.json');
    expect(r.stderr).toContain('keys[1] (id bot-x).scopes[0]');
    const list = JSON.parse((await box.run(['keys', 'list', '-o', 'json', '--no-last-seen'])).stdout);
    expect(list.map((k: { id: string }) => k.id)).toEqual(['bot-a', 'bot-b']);
  });
});

describe('keys add', () => {
  const flags = ['--instance', 'https://social.example', '--kind', 'app', '--scopes', 'read:statuses,write:statuses', '--owner', 'me', '--purpose', 'cli test', '--client-id', 'abcdefabcdefabcdef12'];

  it('reads the token and client secret from stdin, never argv', async () => {
    const token = box.secret();
    const r = await box.run(['keys', 'add', '--id', 'bot-c', '--label', 'team=c', ...flags, '-o', 'json'], { input: `${token}\n${box.secret('hex')}\n` });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ id: 'bot-c', outcome: 'added', fingerprint: fingerprint(box.pepper, token) });
  });

  it('refuses an existing id, malformed stdin and bad flags with exit 2', async () => {
    const again = await box.run(['keys', 'add', '--id', 'bot-c', ...flags], { input: `${box.secret()}\n${box.secret('hex')}\n` });
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/KEY_EXISTS/);
    const oneLine = await box.run(['keys', 'add', '--id', 'bot-d', ...flags], { input: `${box.secret()}\n` });
    expect(oneLine.code).toBe(2);
    expect(oneLine.stderr).toMatch(/exactly two lines/);
    const badScope = await box.run(['keys', 'add', '--id', 'bot-e', ...flags, '--scopes', 'crypto'], { input: `${box.secret()}\n${box.secret('hex')}\n` });
    expect(badScope.code).toBe(2);
    expect(badScope.stderr).toMatch(/--scopes: not a Mastodon scope/);
  });
});

describe('keys list / show / export', () => {
  it('list --output json gives every key its id and fingerprint, and last seen from the events', async () => {
    await box.writeEvents([
      usageEvent(1, fpA(), 'GET /api/v1/statuses/:id', ['read', 'read:statuses'], '2026-01-01T00:00:00.000Z'),
      usageEvent(2, fpA(), 'POST /api/v1/statuses', ['write', 'write:statuses'], new Date(Date.now() - 3_600_000).toISOString()),
    ]);
    const r = await box.run(['keys', 'list', '-o', 'json']);
    expect(r.code).toBe(0);
    const list = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
    expect(list.map((k) => k.id)).toEqual(['bot-a', 'bot-b', 'bot-c']);
    for (const k of list) expect(k.fingerprint).toMatch(/^[0-9a-f]{32}$/);
    expect(list[0]).toMatchObject({ fingerprint: fpA(), status: 'active', kind: 'app', scopes: ['read', 'write'], labels: { env: 'prod' }, age_days: 0 });
    expect(Date.parse(list[0]!.last_seen as string)).toBeGreaterThan(Date.now() - 2 * 3_600_000);
    expect(list[1]!.last_seen).toBeNull();
    const human = await box.run(['keys', 'list']);
    expect(human.stdout).toMatch(/bot-a\s+active\s+app/);
  });

  it('show gives one key with its rotation policy; an unknown id is exit 2 with a hint', async () => {
    const r = await box.run(['keys', 'show', 'bot-a', '-o', 'json']);
    expect(JSON.parse(r.stdout)).toMatchObject({ id: 'bot-a', fingerprint: fpA(), rotation: { max_age: '90d', strategy: 'client_credentials' }, revocations: [], secret_version: 1 });
    expect((await box.run(['keys', 'show', 'bot-a'])).stdout).toMatch(/rotation\s+client_credentials, max age 90d/);
    const missing = await box.run(['keys', 'show', 'nope']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/keys list/);
  });

  it('export --redacted prints YAML or JSON without secrets; without --redacted it refuses', async () => {
    const yaml = parseYaml((await box.run(['keys', 'export', '--redacted'])).stdout) as { keys: Array<Record<string, unknown>> };
    expect(yaml.keys.map((k) => k.id)).toEqual(['bot-a', 'bot-b', 'bot-c']);
    for (const k of yaml.keys) expect(Object.keys(k)).not.toEqual(expect.arrayContaining(['token']));
    expect(yaml.keys[0]).not.toHaveProperty('client_secret');
    const json = JSON.parse((await box.run(['keys', 'export', '--redacted', '-o', 'json'])).stdout);
    expect(json.keys[0]).toMatchObject({ id: 'bot-a', fingerprint: fpA() });
    expect((await box.run(['keys', 'export'])).code).toBe(2);
  });
});

describe('keys review', () => {
  it('recommends the granular scopes that cover the observed requests', async () => {
    const r = await box.run(['keys', 'review', '--since', '3650d', '-o', 'json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { keys: Array<Record<string, unknown>> };
    const botA = report.keys.find((k) => k.id === 'bot-a')!;
    expect(botA).toMatchObject({ granted: ['read', 'write'], used: ['read', 'write'], recommended: ['read:statuses', 'write:statuses'], requests: 2, app_registration_change: true, unused_key: false });
    expect(report.keys.find((k) => k.id === 'bot-b')).toMatchObject({ requests: 0, unused_key: true });
    const human = await box.run(['keys', 'review', '--since', '3650d']);
    expect(human.stdout).toMatch(/recommended\s+read:statuses write:statuses/);
    expect((await box.run(['keys', 'review', '--since', 'forever'])).code).toBe(2);
  });
});

describe('wrong master key and pepper changes', () => {
  it('a wrong master key fails with VAULT_DECRYPT_FAILED and changes nothing', async () => {
    const before = (await box.run(['keys', 'export', '--redacted', '-o', 'json'])).stdout;
    const file = box.writeInventory('more.json', [box.item('bot-new')]);
    const r = await box.run(['keys', 'import', file, '-o', 'json'], { env: { TUSKGUARD_MASTER_KEY: randomBytes(32).toString('hex') } });
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stderr.trim().split('\n').pop()!).error).toMatchObject({ code: 'VAULT_DECRYPT_FAILED' });
    expect(r.stderr).toMatch(/TUSKGUARD_MASTER_KEY/);
    expect((await box.run(['keys', 'export', '--redacted', '-o', 'json'])).stdout).toBe(before);
  });

  it('refingerprint recomputes fingerprints under a new pepper', async () => {
    const pepper = `new-pepper-${randomBytes(8).toString('hex')}`;
    const r = await box.run(['keys', 'refingerprint', '-o', 'json'], { env: { TUSKGUARD_PEPPER: pepper } });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { keys: Array<{ id: string; fingerprint: string; changed: boolean }> };
    expect(out.keys.find((k) => k.id === 'bot-a')).toEqual({ id: 'bot-a', fingerprint: fingerprint(pepper, a.token as string), changed: true });
    // Back to the sandbox pepper for any later test.
    expect((await box.run(['keys', 'refingerprint'])).code).toBe(0);
  });
});
