import { mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvFileTarget, setEnvVariables } from '../../../src/keys/distribute/env-file/index.js';
import { TARGET_TYPES, targetSchema, targetsFor } from '../../../src/keys/distribute/registry.js';
import type { Delivery } from '../../../src/keys/distribute/types.js';
import { VaultKvTarget, vaultKvTargetSchema } from '../../../src/keys/distribute/vault-kv/index.js';
import { WebhookTarget, webhookTargetSchema } from '../../../src/keys/distribute/webhook/index.js';
import { startVaultKv, type VaultKvPeer } from '../../helpers/vault-kv.js';
import { errorText, fakeToken, tempHome } from '../helpers.js';
import { startWebhookReceiver, verifySignature, type WebhookReceiver } from './receivers.js';

// Distribution targets against real peers: files on disk, a Vault KV v2 HTTP peer
// (test/helpers/vault-kv.ts, since no Vault server runs here) and a verifying webhook receiver.

const SECRET = 'whsec-abcdefghijklmnopqrstuvwxyz012345';
let vault: VaultKvPeer;
let hook: WebhookReceiver;

function delivery(token = fakeToken()): Delivery {
  return { keyId: 'bot', instance: 'https://social.example', fingerprint: 'f'.repeat(32), scopes: ['read'], rotatedAt: '2026-09-01T00:00:00.000Z', reason: 'rotate', secrets: { token, client_id: 'cid-123', client_secret: 'csec-0123456789abcdef' } };
}

beforeAll(async () => {
  vault = await startVaultKv();
  hook = await startWebhookReceiver(SECRET);
});
afterAll(async () => Promise.all([vault.close(), hook.close()]));

it('the registry lists exactly the folders under src/keys/distribute', () => {
  const dir = fileURLToPath(new URL('../../../src/keys/distribute/', import.meta.url));
  const folders = readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  expect(Object.keys(TARGET_TYPES).sort()).toEqual(folders);
});

describe('env-file', () => {
  it('sets the variable, keeps every other line and an export prefix, leaves mode 0600, no temp file behind', async () => {
    const dir = tempHome();
    const path = join(dir, 'app.env');
    writeFileSync(path, 'A=1\nexport MASTODON_TOKEN=old\n# comment\nB="two words"\n', { mode: 0o644 });
    const d = delivery();
    const t = new EnvFileTarget({ id: 'e', type: 'env-file', path, variable: 'MASTODON_TOKEN', client_id_variable: 'MASTODON_CLIENT_ID' });
    expect(await t.deliver(d)).toEqual({ path, variables: ['MASTODON_TOKEN', 'MASTODON_CLIENT_ID'] });
    expect(readFileSync(path, 'utf8')).toBe(`A=1\nexport MASTODON_TOKEN=${d.secrets.token}\n# comment\nB="two words"\nMASTODON_CLIENT_ID=cid-123\n`);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['app.env']);
  });

  it('creates a missing file; a missing directory is a DISTRIBUTION_FAILED that names the path, not the token', async () => {
    const dir = tempHome();
    const d = delivery();
    await new EnvFileTarget({ id: 'e', type: 'env-file', path: join(dir, 'new.env'), variable: 'T' }).deliver(d);
    expect(readFileSync(join(dir, 'new.env'), 'utf8')).toBe(`T=${d.secrets.token}\n`);
    const err = await new EnvFileTarget({ id: 'e', type: 'env-file', path: join(dir, 'nope', 'x.env'), variable: 'T' }).deliver(d).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'DISTRIBUTION_FAILED' });
    expect(errorText(err)).toContain(join(dir, 'nope', 'x.env'));
    expect(errorText(err)).not.toContain(d.secrets.token);
  });

  it('replaces a symlink with a regular file instead of writing through it', async () => {
    const dir = tempHome();
    mkdirSync(join(dir, 'elsewhere'));
    writeFileSync(join(dir, 'elsewhere', 'target'), 'UNTOUCHED=1\n');
    symlinkSync(join(dir, 'elsewhere', 'target'), join(dir, 'link.env'));
    await new EnvFileTarget({ id: 'e', type: 'env-file', path: join(dir, 'link.env'), variable: 'T' }).deliver(delivery());
    expect(readFileSync(join(dir, 'elsewhere', 'target'), 'utf8')).toBe('UNTOUCHED=1\n');
  });

  it('setEnvVariables on a 10 kB hostile line keeps it as it is', () => {
    const hostile = `${'='.repeat(5000)}export ${'A'.repeat(5000)}`;
    expect(setEnvVariables(`${hostile}\n`, new Map([['T', 'v']]))).toBe(`${hostile}\nT=v\n`);
  });
});

describe('vault-kv', () => {
  const config = (over = {}) => vaultKvTargetSchema.parse({ id: 'v', type: 'vault-kv', url: vault.url, path: 'apps/{key_id}', token_env: 'VT', ...over });

  it('PUTs the secret to /v1/<mount>/data/<path> with X-Vault-Token and confirms by reading it back', async () => {
    const d = delivery();
    const result = await new VaultKvTarget(config(), { VT: vault.token }).deliver(d);
    expect(result).toMatchObject({ mount: 'secret', path: 'apps/bot', version: 1 });
    expect(vault.latest('apps/bot')).toMatchObject({ token: d.secrets.token, fingerprint: d.fingerprint, key_id: 'bot', client_id: 'cid-123' });
    expect(vault.latest('apps/bot')).not.toHaveProperty('client_secret');
    expect(vault.requests.slice(-2)).toEqual([
      { method: 'PUT', path: '/v1/secret/data/apps/bot', authorized: true },
      { method: 'GET', path: '/v1/secret/data/apps/bot', authorized: true },
    ]);
  });

  it.each([
    ['no token variable', {}, null, /VT is not set/],
    ['a wrong token', { VT: 'hvs.wrong' }, null, /answered 403: permission denied/],
    ['a sealed Vault', { VT: 'x' }, 503, /answered 503: Vault is sealed/],
    ['an unreachable Vault', { VT: 'x' }, 'down', /PUT failed/],
  ] as const)('%s → DISTRIBUTION_FAILED without the token', async (_n, env, fail, message) => {
    const d = delivery();
    vault.failWith = typeof fail === 'number' ? fail : null;
    const cfg = fail === 'down' ? config({ url: 'http://127.0.0.1:9' }) : config();
    const given = env as Record<string, string>;
    const e = await new VaultKvTarget(cfg, { ...given, ...(given.VT === 'x' ? { VT: vault.token } : {}) }).deliver(d).catch((x: unknown) => x);
    vault.failWith = null;
    expect(e).toMatchObject({ code: 'DISTRIBUTION_FAILED' });
    expect((e as Error).message).toMatch(message);
    expect(errorText(e)).not.toContain(d.secrets.token);
  });
});

describe('webhook', () => {
  const config = (over = {}) => webhookTargetSchema.parse({ id: 'w', type: 'webhook', url: hook.url, secret_env: 'WS', ...over });

  it('POSTs a body the receiver verifies with the shared secret (timestamped HMAC-SHA256)', async () => {
    const d = delivery();
    const res = await new WebhookTarget(config(), { WS: SECRET }).deliver(d);
    expect(res).toMatchObject({ status: 204 });
    expect(hook.accepted.at(-1)).toMatchObject({ type: 'tuskguard.key.rotated', key_id: 'bot', token: d.secrets.token, fingerprint: d.fingerprint });
    expect(hook.accepted.at(-1)).not.toHaveProperty('client_secret');
  });

  it('a receiver with another secret rejects it, and the target reports the 401', async () => {
    const before = hook.rejected;
    const e = await new WebhookTarget(config(), { WS: 'another-secret-0123456789abcdef' }).deliver(delivery()).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'DISTRIBUTION_FAILED', message: expect.stringMatching(/answered 401/) });
    expect(hook.rejected).toBe(before + 1);
  });

  it('include_token: false sends only the fingerprint; signature check is exact', async () => {
    await new WebhookTarget(config({ include_token: false }), { WS: SECRET }).deliver(delivery());
    expect(hook.accepted.at(-1)).not.toHaveProperty('token');
    expect(verifySignature(SECRET, 't=1,v1=' + '0'.repeat(64), 'x')).toBe(false);
  });

  it('config: plain http only to loopback; unknown target ids are a config error', () => {
    expect(webhookTargetSchema.safeParse({ id: 'w', type: 'webhook', url: 'http://hooks.example/x' }).success).toBe(false);
    expect(targetSchema.safeParse({ id: 'w', type: 'webhook', url: 'https://hooks.example/x' }).success).toBe(true);
    expect(() => targetsFor(['nope'], [])).toThrow(/not defined in rotation.targets/);
  });
});
