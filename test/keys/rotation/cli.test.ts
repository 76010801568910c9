import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFingerprinter } from '../../../src/core/fingerprint.js';
import { openKeysDb } from '../../../src/keys/db.js';
import { KeyInventory } from '../../../src/keys/inventory.js';
import { LocalKeyEncryptionKey } from '../../../src/keys/kms.js';
import type { InventoryItem } from '../../../src/keys/schema.js';
import { Vault } from '../../../src/keys/vault.js';
import { runCli, type CliResult } from '../../helpers/cli.js';
import { startMastodonSim, type MastodonSim } from '../../mastodon-sim/index.js';

// `keys revoke`, `keys rotate` and `keys rotation status` as a user runs them (child process
// through tsx) against the simulator: exit codes, JSON output, the bulk dry run, Mastodon down,
// and no token or client secret anywhere in what the CLI printed (logs at trace included).

const dir = mkdtempSync(join(tmpdir(), 'tg-lifecycle-cli-'));
const home = join(dir, 'home');
const configFile = join(dir, 'tuskguard.yaml');
const envFile = join(dir, 'consumer.env');
const pepper = `pepper-${randomBytes(16).toString('hex')}`;
const masterKey = randomBytes(32).toString('hex');
const transcript: string[] = [];
const secrets = new Set<string>();
let sim: MastodonSim;

async function cli(args: string[]): Promise<CliResult> {
  const r = await runCli([...args, '--config', configFile], {
    env: { TUSKGUARD_HOME: home, TUSKGUARD_PEPPER: pepper, TUSKGUARD_MASTER_KEY: masterKey, TUSKGUARD_LOG_LEVEL: 'trace', TUSKGUARD_AUDIT_KEY: 'audit-key-0123456789' },
  });
  transcript.push(r.stdout, r.stderr);
  return r;
}

async function addKey(id: string, labels: Record<string, string> = {}): Promise<string> {
  const app = sim.createApp({ name: id, redirectUris: ['urn:ietf:wg:oauth:2.0:oob'], scopes: 'read' });
  const res = await fetch(`${sim.url}/oauth/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'client_credentials', client_id: app.uid, client_secret: app.secret, scope: 'read' }) });
  const token = ((await res.json()) as { access_token: string }).access_token;
  secrets.add(token).add(app.secret);
  const db = openKeysDb(home);
  try {
    const vault = await Vault.open(db, new LocalKeyEncryptionKey(Buffer.from(masterKey, 'hex')));
    const item = { id, instance: sim.url, kind: 'app', scopes: ['read'], owner: 'ops', purpose: 'cli test', labels, token, client_id: app.uid, client_secret: app.secret } as InventoryItem;
    await new KeyInventory(db).upsertMany(vault, pepper, [item]);
  } finally {
    db.close();
  }
  return token;
}

const state = (token: string) => (sim.state.findToken(token)?.revokedAt ? 'revoked' : 'live');

beforeAll(async () => {
  sim = await startMastodonSim({ throttles: { 'throttle_oauth_application_registrations/ip': { limit: 1000, periodSeconds: 600 } } });
  writeFileSync(envFile, 'TOKEN=old\n');
  writeFileSync(configFile, [
    `home: ${JSON.stringify(home)}`,
    'rotation:',
    '  targets:',
    `    - { id: consumer, type: env-file, path: ${JSON.stringify(envFile)}, variable: TOKEN }`,
    `    - { id: broken, type: env-file, path: ${JSON.stringify(join(dir, 'no-such-dir', 'x.env'))} }`,
    '  keys:',
    '    rotor: { targets: [consumer] }',
    '    fragile: { targets: [broken] }',
    '',
  ].join('\n'));
});
afterAll(async () => {
  await sim.close();
  for (const t of sim.state.tokens.values()) secrets.add(t.token);
  const all = transcript.join('\n');
  expect([...secrets].filter((s) => all.includes(s))).toEqual([]);
});

describe('keys revoke', () => {
  it('revokes one key, prints the verified 401; a second run is a no-op that says so', async () => {
    const token = await addKey('solo');
    const r = await cli(['keys', 'revoke', 'solo', '--reason', 'leaked in a paste', '--output', 'json']);
    expect(r.code).toBe(0);
    const [result] = JSON.parse(r.stdout).results;
    expect(result).toMatchObject({ key_id: 'solo', outcome: 'revoked', verification: { method: 'GET /oauth/token/info', tokens: [{ status: 401, confirmed: true }] } });
    expect(state(token)).toBe('revoked');
    const again = await cli(['keys', 'revoke', 'solo', '--reason', 'again']);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/already-revoked/);
    expect(again.stdout).toMatch(/was already revoked at .*; nothing was done/);
  });

  it('bulk by label: a dry run lists and changes nothing; --yes revokes', async () => {
    const a = await addKey('pay-a', { team: 'payments' });
    const c = await addKey('pay-b', { team: 'payments' });
    const other = await addKey('search', { team: 'search' });
    const dry = await cli(['keys', 'revoke', '--label', 'team=payments', '--reason', 'laptop stolen']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/pay-a[\s\S]*pay-b[\s\S]*dry run: 2 key\(s\) would be revoked; run again with --yes/);
    expect([a, c].map(state)).toEqual(['live', 'live']);
    const real = await cli(['keys', 'revoke', '--label', 'team=payments', '--reason', 'laptop stolen', '--yes', '-o', 'json']);
    expect(real.code).toBe(0);
    expect(JSON.parse(real.stdout).results.map((x: { key_id: string; outcome: string }) => [x.key_id, x.outcome])).toEqual([['pay-a', 'revoked'], ['pay-b', 'revoked']]);
    expect([a, c, other].map(state)).toEqual(['revoked', 'revoked', 'live']);
  });

  it('Mastodon down: exit 3, revoke-pending, people told on stderr; unknown ids and missing criteria say what to do', async () => {
    const token = await addKey('down');
    await sim.setDown(true);
    const r = await cli(['keys', 'revoke', 'down', '--reason', 'incident']);
    await sim.setDown(false);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/revoke-pending/);
    expect(r.stderr).toMatch(/notice\[revoke-pending\]/);
    expect(state(token)).toBe('live');
    const unknown = await cli(['keys', 'revoke', 'nope', '--reason', 'x']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/KEY_NOT_FOUND[\s\S]*hint: `tuskguard keys list`/);
    const none = await cli(['keys', 'revoke', '--reason', 'x']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/needs at least one of --owner, --app, --instance, --label/);
  });
});

describe('keys rotate', () => {
  it('--now rotates end to end; rotation status shows it', async () => {
    const old = await addKey('rotor');
    const r = await cli(['keys', 'rotate', 'rotor', '--now', '--reason', 'yearly', '-o', 'json']);
    expect(r.code).toBe(0);
    const { created, rotation } = JSON.parse(r.stdout);
    expect(created).toBe(true);
    expect(rotation).toMatchObject({ key_id: 'rotor', state: 'completed', targets_done: ['consumer'], immediate: true });
    expect(state(old)).toBe('revoked');
    const newToken = readFileSync(envFile, 'utf8').trim().replace(/^TOKEN=/, '');
    secrets.add(newToken);
    expect(state(newToken)).toBe('live');
    const status = await cli(['keys', 'rotation', 'status', 'rotor', '-o', 'json']);
    expect(JSON.parse(status.stdout).rotations).toEqual([expect.objectContaining({ id: rotation.id, state: 'completed' })]);
    const human = await cli(['keys', 'rotation', 'status']);
    expect(human.stdout).toMatch(/rotor\s+completed\s+client_credentials\s+manual/);
  });

  it('a rotation that fails exits 1, says why, and leaves the current key active', async () => {
    const token = await addKey('fragile');
    const r = await cli(['keys', 'rotate', 'fragile']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/rolled-back: env-file broken: could not write .*no-such-dir/);
    expect(r.stderr).toMatch(/notice\[rotation-rolled-back\]/);
    expect(state(token)).toBe('live');
    const status = await cli(['keys', 'rotation', 'status', 'fragile', '-o', 'json']);
    expect(JSON.parse(status.stdout).rotations[0]).toMatchObject({ state: 'rolled-back', old_fingerprint: createFingerprinter(pepper)(token) });
  });
});
