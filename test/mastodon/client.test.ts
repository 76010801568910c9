import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TuskguardError } from '../../src/core/errors.js';
import { MastodonClient } from '../../src/mastodon/client.js';
import { isRetryable, retryAtOf } from '../../src/mastodon/errors.js';
import { startMastodonSim, type MastodonSim, type SimApp, type SimUser } from '../mastodon-sim/index.js';

// MastodonClient against the simulator: results, FACTS.md semantics, error mapping.

let sim: MastodonSim;
let client: MastodonClient;
let app: SimApp;
let adminToken: string;
let user: SimUser;
let n = 0;

async function failure(p: Promise<unknown>): Promise<TuskguardError> {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(e).toBeInstanceOf(TuskguardError);
  return e as TuskguardError;
}

beforeAll(async () => {
  sim = await startMastodonSim({ throttles: { 'throttle_oauth_application_registrations/ip': { limit: 1000, periodSeconds: 600 } } });
  client = new MastodonClient({ timeoutMs: 2000 });
  app = sim.createApp({ name: 'svc', redirectUris: ['https://tg.example/cb'], scopes: 'read write profile read:statuses admin:read admin:write' });
  adminToken = sim.issueUserToken(app, sim.createUser({ username: 'root', role: 'Owner' }), ['admin:read', 'admin:write']).token;
});
afterAll(async () => sim.close());
beforeEach(() => {
  n += 1;
  user = sim.createUser({ username: `carol${n}` });
});

describe('verifyKey', () => {
  it('a user token: scopes, app, owner user id and account', async () => {
    const token = sim.issueUserToken(app, user, ['read', 'write']).token;
    const v = await client.verifyKey({ instance: sim.url, token });
    expect(v).toMatchObject({ live: true, status: 'live', scopes: ['read', 'write'], appUid: app.uid, appName: 'svc', ownerUserId: user.id });
    expect(v.account).toEqual({ id: user.accountId, username: `carol${n}`, acct: `carol${n}` });
    expect(v.appScopes).toContain('admin:write');
  });

  it('an app-only token has no owner and no account', async () => {
    const minted = await client.mintAppToken({ instance: sim.url, clientId: app.uid, clientSecret: app.secret, scopes: ['read'] });
    const v = await client.verifyKey({ instance: sim.url, token: minted.accessToken });
    expect(v).toMatchObject({ live: true, ownerUserId: null, account: null, scopes: ['read'] });
  });

  it('a narrow token never gets a misleading 403: read:statuses is live, without account', async () => {
    const v = await client.verifyKey({ instance: sim.url, token: sim.issueUserToken(app, user, ['read:statuses']).token });
    expect(v).toMatchObject({ live: true, status: 'live', account: null, ownerUserId: user.id });
  });

  it.each([
    ['revoked', (t: string) => sim.state.revokeToken(sim.state.findToken(t)!)],
    ['invalid', (t: string) => {
      sim.state.revokeToken(sim.state.findToken(t)!);
      sim.vacuum();
    }],
  ] as const)('a %s token is not live', async (status, kill) => {
    const token = sim.issueUserToken(app, user, ['read']).token;
    kill(token);
    expect(await client.verifyKey({ instance: sim.url, token })).toMatchObject({ live: false, status, scopes: [] });
  });

  it('a revoked token of a suspended owner is still reported revoked (suspension is checked first)', async () => {
    const token = sim.issueUserToken(app, user, ['read']).token;
    sim.state.revokeToken(sim.state.findToken(token)!);
    sim.state.accountOf(user).suspendedAt = new Date();
    expect(await client.verifyKey({ instance: sim.url, token })).toMatchObject({ live: false, status: 'revoked' });
  });

  it('suspended and disabled owners: the token is live but blocked', async () => {
    const token = sim.issueUserToken(app, user, ['read']).token;
    user.disabled = true;
    expect((await client.verifyKey({ instance: sim.url, token })).status).toBe('disabled');
    sim.state.accountOf(user).suspendedAt = new Date();
    expect(await client.verifyKey({ instance: sim.url, token })).toMatchObject({ live: true, status: 'suspended' });
  });
});

describe('revoke', () => {
  it('revokes with the issuing app and confirms the 401', async () => {
    const token = sim.issueUserToken(app, user, ['read']).token;
    expect(await client.revoke({ instance: sim.url, clientId: app.uid, clientSecret: app.secret, token })).toEqual({ revoked: true, confirmed: true, status: 401 });
    expect(sim.state.findToken(token)?.revokedAt).toBeInstanceOf(Date);
  });

  it('the wrong app gets MASTODON_FORBIDDEN unauthorized_client and the token stays live', async () => {
    const token = sim.issueUserToken(app, user, ['read']).token;
    const other = sim.createApp({ name: 'other', redirectUris: ['urn:ietf:wg:oauth:2.0:oob'] });
    const e = await failure(client.revoke({ instance: sim.url, clientId: other.uid, clientSecret: other.secret, token }));
    expect(e.code).toBe('MASTODON_FORBIDDEN');
    expect(e.details).toMatchObject({ status: 403, error: 'unauthorized_client', retryable: false });
    expect(e.hint).toMatch(/app that issued the token/);
    expect((await client.verifyKey({ instance: sim.url, token })).live).toBe(true);
  });

  it('while Mastodon is down: retryable MASTODON_UNREACHABLE and the token untouched; once up, revoked and confirmed', async () => {
    const token = sim.issueUserToken(app, user, ['read']).token;
    const args = { instance: sim.url, clientId: app.uid, clientSecret: app.secret, token };
    await sim.setDown('refuse');
    try {
      const e = await failure(client.revoke(args));
      expect([e.code, isRetryable(e)]).toEqual(['MASTODON_UNREACHABLE', true]);
      expect(sim.state.findToken(token)?.revokedAt).toBeNull();
    } finally {
      await sim.setDown(false);
    }
    expect(await client.revoke(args)).toEqual({ revoked: true, confirmed: true, status: 401 });
  });

  it('is idempotent: an already revoked token confirms again', async () => {
    const token = sim.issueUserToken(app, user, ['read']).token;
    await client.revoke({ instance: sim.url, clientId: app.uid, clientSecret: app.secret, token });
    expect((await client.revoke({ instance: sim.url, clientId: app.uid, clientSecret: app.secret, token })).confirmed).toBe(true);
  });
});

describe('mint, register, exchange', () => {
  it('mintAppToken returns the same token for the same scopes until it is revoked', async () => {
    const args = { instance: sim.url, clientId: app.uid, clientSecret: app.secret, scopes: ['read', 'write'] };
    const a = await client.mintAppToken(args);
    const b = await client.mintAppToken(args);
    expect(b.accessToken).toBe(a.accessToken);
    await client.revoke({ instance: sim.url, clientId: app.uid, clientSecret: app.secret, token: a.accessToken });
    expect((await client.mintAppToken(args)).accessToken).not.toBe(a.accessToken);
  });

  it('an unregistered scope is rejected (exact strings)', async () => {
    const narrow = sim.createApp({ name: 'narrow', redirectUris: ['urn:ietf:wg:oauth:2.0:oob'], scopes: 'read' });
    const e = await failure(client.mintAppToken({ instance: sim.url, clientId: narrow.uid, clientSecret: narrow.secret, scopes: ['read:statuses'] }));
    expect([e.code, e.details?.status, e.details?.error]).toEqual(['MASTODON_ERROR', 400, 'invalid_scope']);
  });

  it('registerApp returns the credentials; a validation failure is a 422 MASTODON_ERROR', async () => {
    const reg = await client.registerApp({ instance: sim.url, name: 'tuskguard rotation', redirectUris: ['https://tg.example/cb'], scopes: ['read:statuses'] });
    expect(reg).toMatchObject({ name: 'tuskguard rotation', scopes: ['read:statuses'], redirectUris: ['https://tg.example/cb'] });
    expect(reg.clientId).toMatch(/^[\w-]{43}$/);
    const e = await failure(client.registerApp({ instance: sim.url, name: 'x', redirectUris: ['https://tg.example/cb'], scopes: ['crypto'] }));
    expect([e.code, e.details?.status]).toEqual(['MASTODON_ERROR', 422]);
  });

  it('exchangeCode sends the PKCE verifier', async () => {
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const grant = sim.authorize({ clientId: app.uid, username: user.email.split('@')[0] as string, redirectUri: 'https://tg.example/cb', scope: 'read', codeChallenge: challenge, codeChallengeMethod: 'S256' });
    if (grant.kind !== 'redirect' || !grant.code) throw new Error('no code');
    const base = { instance: sim.url, clientId: app.uid, clientSecret: app.secret, code: grant.code, redirectUri: 'https://tg.example/cb' };
    expect((await failure(client.exchangeCode({ ...base, codeVerifier: 'wrong'.repeat(9) }))).details?.error).toBe('invalid_grant');
    const t = await client.exchangeCode({ ...base, codeVerifier: verifier });
    expect(sim.state.findToken(t.accessToken)?.userId).toBe(user.id);
  });
});

describe('admin actions', () => {
  const admin = () => ({ instance: sim.url, token: adminToken });

  it('suspend / unsuspend and disable / enable change what the key can do, never revoke it', async () => {
    const token = sim.issueUserToken(app, user, ['read']).token;
    await client.suspendAccount({ ...admin(), accountId: user.accountId, text: 'leaked key' });
    expect((await client.verifyKey({ instance: sim.url, token })).status).toBe('suspended');
    await client.unsuspendAccount({ ...admin(), accountId: user.accountId });
    await client.disableAccount({ ...admin(), accountId: user.accountId });
    expect((await client.verifyKey({ instance: sim.url, token })).status).toBe('disabled');
    await client.enableAccount({ ...admin(), accountId: user.accountId });
    expect((await client.verifyKey({ instance: sim.url, token })).status).toBe('live');
  });

  it('IP blocks: create, list, delete', async () => {
    const block = await client.createIpBlock({ ...admin(), ip: `198.18.${n}.0/24`, severity: 'no_access', comment: 'token abuse', expiresInSeconds: 86_400 });
    expect(block).toMatchObject({ ip: `198.18.${n}.0/24`, severity: 'no_access', comment: 'token abuse' });
    expect(typeof block.expiresAt).toBe('string');
    expect((await client.listIpBlocks(admin())).map((b) => b.id)).toContain(block.id);
    await client.deleteIpBlock({ ...admin(), id: block.id });
    expect((await client.listIpBlocks(admin())).map((b) => b.id)).not.toContain(block.id);
  });

  it.each([
    ['a token without an admin scope', ['read'], 'This action is outside the authorized scopes', ['admin:write', 'admin:write:accounts']],
    ['a user without the role permission', ['admin:write'], 'This action is not allowed', undefined],
  ])('%s → MASTODON_FORBIDDEN', async (_case, scopes, error, required) => {
    const token = sim.issueUserToken(app, sim.createUser({ username: `nobody${n}` }), scopes).token;
    const e = await failure(client.suspendAccount({ instance: sim.url, token, accountId: user.accountId }));
    expect(e.code).toBe('MASTODON_FORBIDDEN');
    expect(e.details).toMatchObject({ error, requiredScopes: required });
  });
});

describe('unhealthy instances', () => {
  it.each([
    ['refuse', 'MASTODON_UNREACHABLE'],
    ['hang', 'MASTODON_UNREACHABLE'],
    ['bad-gateway', 'MASTODON_UNEXPECTED_RESPONSE'],
  ] as const)('down mode %s → %s (retryable)', async (mode, code) => {
    const down = await startMastodonSim();
    try {
      await down.setDown(mode);
      const quick = new MastodonClient({ timeoutMs: 300 });
      const e = await failure(quick.verifyKey({ instance: down.url, token: 'x'.repeat(43) }));
      expect(e.code).toBe(code);
      expect(isRetryable(e)).toBe(true);
    } finally {
      await down.close();
    }
  });

  it('an IP block (403 text/plain) surfaces as "possibly IP-blocked"', async () => {
    const blocked = await startMastodonSim({ trustedProxies: ['127.0.0.1'] });
    try {
      blocked.state.ipBlocks.set('1', { id: '1', cidr: { version: 4, network: 0x7f000001n, prefix: 32 }, severity: 'no_access', comment: '', createdAt: new Date(), expiresAt: null });
      const e = await failure(client.verifyKey({ instance: blocked.url, token: 'y'.repeat(43) }));
      expect(e.code).toBe('MASTODON_UNEXPECTED_RESPONSE');
      expect(e.hint).toMatch(/IP-blocked/);
    } finally {
      await blocked.close();
    }
  });

  it('429 exposes retryAt from X-RateLimit-Reset, and the local budget then refuses without calling', async () => {
    const tight = await startMastodonSim({ throttles: { throttle_per_token_api: { limit: 1, periodSeconds: 300 } } });
    try {
      const a = tight.createApp({ name: 'a', redirectUris: ['urn:ietf:wg:oauth:2.0:oob'] });
      const token = tight.issueUserToken(a, tight.createUser({ username: 'dave' }), ['read:statuses']).token;
      const spent = await fetch(`${tight.url}/api/v1/timelines/home`, { headers: { authorization: `Bearer ${token}` } });
      const serverReset = Date.parse(spent.headers.get('x-ratelimit-reset') ?? '');
      const c = new MastodonClient({ budget: { margin: 0 } });
      const e = await failure(c.verifyKey({ instance: tight.url, token }));
      expect([e.code, e.details?.status, e.details?.local]).toEqual(['MASTODON_RATE_LIMITED', 429, undefined]);
      expect(Math.abs((retryAtOf(e)?.getTime() ?? 0) - serverReset)).toBeLessThan(1000);
      expect(retryAtOf(e)?.getTime()).toBeGreaterThan(Date.now());
      const before = tight.logLines.length;
      const local = await failure(c.verifyKey({ instance: tight.url, token }));
      expect([local.code, local.details?.local]).toEqual(['MASTODON_RATE_LIMITED', true]);
      expect(tight.logLines.length).toBe(before + 1); // only the unthrottled token/info reached the server
    } finally {
      await tight.close();
    }
  });
});
