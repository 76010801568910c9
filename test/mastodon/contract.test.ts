import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TuskguardError } from '../../src/core/errors.js';
import { MastodonClient } from '../../src/mastodon/client.js';
import { startMastodonSim, type MastodonSim } from '../mastodon-sim/index.js';

/**
 * The same client calls against the simulator (always) and against a real Mastodon when
 * MASTODON_URL, MASTODON_CLIENT_ID and MASTODON_CLIENT_SECRET are set (see README.md here).
 * If the simulator and the real server disagree, FACTS.md and the simulator are what to fix.
 */

interface Target {
  instance: string;
  clientId: string;
  clientSecret: string;
  /** A user token with admin:read admin:write whose user has manage_blocks / manage_users. */
  adminToken?: string | undefined;
  /** An expendable account to suspend and unsuspend. */
  testAccountId?: string | undefined;
}

const env = process.env;
const LIVE: Target | null =
  env.MASTODON_URL && env.MASTODON_CLIENT_ID && env.MASTODON_CLIENT_SECRET
    ? {
        instance: env.MASTODON_URL.replace(/\/+$/, ''),
        clientId: env.MASTODON_CLIENT_ID,
        clientSecret: env.MASTODON_CLIENT_SECRET,
        adminToken: env.MASTODON_ADMIN_TOKEN,
        testAccountId: env.MASTODON_TEST_ACCOUNT_ID,
      }
    : null;

if (LIVE === null) {
  console.info('[contract] live Mastodon contract tests skipped: set MASTODON_URL, MASTODON_CLIENT_ID and MASTODON_CLIENT_SECRET (test/mastodon/README.md)');
}

async function failure(p: Promise<unknown>): Promise<TuskguardError> {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(e).toBeInstanceOf(TuskguardError);
  return e as TuskguardError;
}

function contract(target: () => Target): void {
  const client = new MastodonClient({ timeoutMs: 15_000 });

  it('client_credentials: a live app-only token with the requested scope, reused until revoked', async () => {
    const t = target();
    const creds = { instance: t.instance, clientId: t.clientId, clientSecret: t.clientSecret };
    const first = await client.mintAppToken({ ...creds, scopes: ['read'] });
    expect(first.accessToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const v = await client.verifyKey({ instance: t.instance, token: first.accessToken });
    expect(v).toMatchObject({ live: true, status: 'live', scopes: ['read'], appUid: t.clientId, ownerUserId: null, account: null });
    expect((await client.mintAppToken({ ...creds, scopes: ['read'] })).accessToken).toBe(first.accessToken);

    const other = await client.registerApp({ instance: t.instance, name: 'tuskguard contract test', redirectUris: ['urn:ietf:wg:oauth:2.0:oob'], scopes: ['read'] });
    const denied = await failure(client.revoke({ instance: t.instance, clientId: other.clientId, clientSecret: other.clientSecret, token: first.accessToken }));
    expect([denied.code, denied.details?.error]).toEqual(['MASTODON_FORBIDDEN', 'unauthorized_client']);
    expect((await client.verifyKey({ instance: t.instance, token: first.accessToken })).live).toBe(true);

    expect(await client.revoke({ ...creds, token: first.accessToken })).toEqual({ revoked: true, confirmed: true, status: 401 });
    expect(await client.verifyKey({ instance: t.instance, token: first.accessToken })).toMatchObject({ live: false, status: 'revoked' });
    const second = await client.mintAppToken({ ...creds, scopes: ['read'] });
    expect(second.accessToken).not.toBe(first.accessToken);
    await client.revoke({ ...creds, token: second.accessToken });
  });

  it('an unknown token is invalid; revoking it is a no-op 200', async () => {
    const t = target();
    const unknown = 'tuskguardContractTestUnknownToken0000000000'.slice(0, 43);
    expect(await client.verifyKey({ instance: t.instance, token: unknown })).toMatchObject({ live: false, status: 'invalid' });
    expect((await client.revoke({ instance: t.instance, clientId: t.clientId, clientSecret: t.clientSecret, token: unknown })).revoked).toBe(true);
  });

  it('an unregistered scope is refused with invalid_scope', async () => {
    const t = target();
    const e = await failure(client.mintAppToken({ instance: t.instance, clientId: t.clientId, clientSecret: t.clientSecret, scopes: ['crypto'] }));
    expect([e.details?.status, e.details?.error]).toEqual([400, 'invalid_scope']);
  });

  it('IP blocks: create, list, delete (needs an admin token)', async (ctx) => {
    const t = target();
    if (!t.adminToken) return ctx.skip();
    const admin = { instance: t.instance, token: t.adminToken };
    // TEST-NET-1 with the harmless severity and a short expiry, in case cleanup fails.
    const block = await client.createIpBlock({ ...admin, ip: '192.0.2.123/32', severity: 'sign_up_block', comment: 'tuskguard contract test', expiresInSeconds: 600 });
    expect(block).toMatchObject({ ip: '192.0.2.123/32', severity: 'sign_up_block' });
    try {
      expect((await client.listIpBlocks(admin)).map((b) => b.id)).toContain(block.id);
    } finally {
      await client.deleteIpBlock({ ...admin, id: block.id });
    }
  });

  it('suspend and unsuspend an expendable account (needs an admin token and a test account)', async (ctx) => {
    const t = target();
    if (!t.adminToken || !t.testAccountId) return ctx.skip();
    const args = { instance: t.instance, token: t.adminToken, accountId: t.testAccountId };
    await client.suspendAccount({ ...args, text: 'tuskguard contract test' });
    await client.unsuspendAccount(args);
    await client.disableAccount(args);
    await client.enableAccount(args);
  });
}

describe('Mastodon contract: simulator', () => {
  let sim: MastodonSim;
  let target: Target;
  beforeAll(async () => {
    sim = await startMastodonSim();
    const app = sim.createApp({ name: 'contract', redirectUris: ['urn:ietf:wg:oauth:2.0:oob'], scopes: 'read write' });
    const ops = sim.createApp({ name: 'ops', redirectUris: ['urn:ietf:wg:oauth:2.0:oob'], scopes: 'admin:read admin:write' });
    const owner = sim.createUser({ username: 'owner', role: 'Owner' });
    const victim = sim.createUser({ username: 'expendable' });
    target = {
      instance: sim.url, clientId: app.uid, clientSecret: app.secret,
      adminToken: sim.issueUserToken(ops, owner, ['admin:read', 'admin:write']).token, testAccountId: victim.accountId,
    };
  });
  afterAll(async () => sim.close());
  contract(() => target);
});

describe.skipIf(LIVE === null)(
  `Mastodon contract: live instance${LIVE ? ` ${LIVE.instance}` : ' (skipped: set MASTODON_URL, MASTODON_CLIENT_ID and MASTODON_CLIENT_SECRET; see test/mastodon/README.md)'}`,
  () => {
    contract(() => LIVE as Target);
  },
);
