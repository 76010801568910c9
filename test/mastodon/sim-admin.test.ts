import { Agent, request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startMastodonSim, type MastodonSim, type SimApp, type SimUser } from '../mastodon-sim/index.js';
import { appToken, call, registerApp } from './sim-helpers.js';

// FACTS.md §7: app registration, account actions, IP blocks.

let sim: MastodonSim;
let app: SimApp;
let admin: string;
let target: SimUser;
let targetToken: string;
let n = 0;

beforeAll(async () => {
  sim = await startMastodonSim({
    trustedProxies: ['127.0.0.1'],
    throttles: { 'throttle_oauth_application_registrations/ip': { limit: 1000, periodSeconds: 600 } },
  });
  app = sim.createApp({ name: 'ops', redirectUris: ['urn:ietf:wg:oauth:2.0:oob'], scopes: 'read write admin:read admin:write admin:write:accounts' });
  const owner = sim.createUser({ username: 'owner', role: 'Owner' });
  admin = sim.issueUserToken(app, owner, ['admin:read', 'admin:write']).token;
});
afterAll(async () => sim.close());

beforeEach(() => {
  n += 1;
  target = sim.createUser({ username: `target${n}` });
  targetToken = sim.issueUserToken(app, target, ['read']).token;
});

const action = (token: string, accountId: string, type: string) =>
  call(sim, 'POST', `/api/v1/admin/accounts/${accountId}/action`, { token, json: { type, text: 'token abuse', send_email_notification: false } });

describe('POST /api/v1/apps (FACTS §7)', () => {
  it.each([
    [{ redirect_uris: 'urn:ietf:wg:oauth:2.0:oob' }, "Validation failed: Application name can't be blank"],
    [{ client_name: 'x', redirect_uris: 'urn:ietf:wg:oauth:2.0:oob', scopes: 'read crypto' }, "Validation failed: Scopes doesn't match those configured on the server."],
    [{ client_name: 'x', redirect_uris: 'urn:ietf:wg:oauth:2.0:oob', scopes: 'read:reports' }, "Validation failed: Scopes doesn't match those configured on the server."],
    [{ client_name: 'x', redirect_uris: 'relative/path' }, 'Validation failed: Redirect URI must be an absolute URI.'],
  ])('%j → 422 %s', async (body, message) => {
    const r = await call(sim, 'POST', '/api/v1/apps', { json: body });
    expect(r.status).toBe(422);
    expect(r.body).toEqual({ error: message });
  });

  it('defaults scopes to read, accepts an array of redirect URIs, and returns the credentials once', async () => {
    const r = await call(sim, 'POST', '/api/v1/apps', { json: { client_name: 'x', redirect_uris: ['https://a.example/cb', 'urn:ietf:wg:oauth:2.0:oob'] } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ scopes: ['read'], redirect_uris: ['https://a.example/cb', 'urn:ietf:wg:oauth:2.0:oob'], client_secret_expires_at: 0 });
    expect(r.body.redirect_uri).toBe('https://a.example/cb\nurn:ietf:wg:oauth:2.0:oob');
    const verify = await call(sim, 'GET', '/api/v1/apps/verify_credentials', { token: (await appToken(sim, { id: r.body.client_id, secret: r.body.client_secret })).body.access_token });
    expect(verify.body.client_secret).toBeUndefined();
  });

  it('throttles registrations at 5 per 10 minutes per IP', async () => {
    const strict = await startMastodonSim();
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 6; i += 1) statuses.push((await call(strict, 'POST', '/api/v1/apps', { json: { client_name: 'x', redirect_uris: 'urn:ietf:wg:oauth:2.0:oob' } })).status);
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    } finally {
      await strict.close();
    }
  });
});

describe('account actions (FACTS §7)', () => {
  it('suspend blocks every API request of the user, token/info still works, unsuspend restores (tokens not revoked)', async () => {
    expect((await action(admin, target.accountId, 'suspend')).body).toEqual({});
    expect((await call(sim, 'GET', '/api/v1/timelines/home', { token: targetToken })).body.error).toBe('Your login is currently disabled');
    expect((await call(sim, 'GET', '/api/v1/apps/verify_credentials', { token: targetToken })).status).toBe(403);
    expect((await call(sim, 'GET', '/oauth/token/info', { token: targetToken })).status).toBe(200);
    const undo = await call(sim, 'POST', `/api/v1/admin/accounts/${target.accountId}/unsuspend`, { token: admin });
    expect([undo.status, undo.body.suspended]).toEqual([200, false]);
    expect((await call(sim, 'GET', '/api/v1/timelines/home', { token: targetToken })).status).toBe(200);
  });

  it('disable blocks require_user! endpoints, enable restores', async () => {
    await action(admin, target.accountId, 'disable');
    expect((await call(sim, 'GET', '/api/v1/timelines/home', { token: targetToken })).status).toBe(403);
    expect((await call(sim, 'GET', '/api/v1/apps/verify_credentials', { token: targetToken })).status).toBe(200);
    await call(sim, 'POST', `/api/v1/admin/accounts/${target.accountId}/enable`, { token: admin });
    expect((await call(sim, 'GET', '/api/v1/timelines/home', { token: targetToken })).status).toBe(200);
  });

  it.each(['none', 'sensitive', 'silence'])('%s answers 200 {} and blocks nothing in the API', async (type) => {
    expect((await action(admin, target.accountId, type)).body).toEqual({});
    expect((await call(sim, 'GET', '/api/v1/timelines/home', { token: targetToken })).status).toBe(200);
  });

  it('an unknown type is a validation error; an unknown account is 404', async () => {
    expect((await action(admin, target.accountId, 'nuke')).status).toBe(422);
    expect((await action(admin, '999', 'suspend')).body).toEqual({ error: 'Record not found' });
  });

  it.each([
    ['a user without manage_users', () => sim.issueUserToken(app, sim.createUser({ username: `plain${n}` }), ['admin:write']).token, 403, 'This action is not allowed'],
    ['a moderator with admin:write:accounts', () => sim.issueUserToken(app, sim.createUser({ username: `mod${n}`, role: 'Moderator' }), ['admin:write:accounts']).token, 200, undefined],
    ['an admin token without an admin scope', () => sim.issueUserToken(app, sim.createUser({ username: `adm${n}`, role: 'Admin' }), ['read', 'write']).token, 403, 'This action is outside the authorized scopes'],
  ])('%s → %i', async (_who, tok, status, error) => {
    const r = await action(tok(), target.accountId, 'silence');
    expect(r.status).toBe(status);
    expect(r.body.error).toBe(error);
  });

  it('an app-only token with admin scopes cannot act (no user, no role)', async () => {
    const client = await registerApp(sim, 'admin:write');
    const t = (await appToken(sim, client, 'admin:write')).body.access_token;
    expect((await action(t, target.accountId, 'suspend')).body.error).toBe('This action is not allowed');
  });

  it('lists accounts by status', async () => {
    await action(admin, target.accountId, 'suspend');
    const r = await call(sim, 'GET', '/api/v1/admin/accounts?suspended=true', { token: admin });
    expect(r.body.map((a: { id: string }) => a.id)).toContain(target.accountId);
    expect(r.body.every((a: { suspended: boolean }) => a.suspended)).toBe(true);
  });
});

describe('IP blocks (FACTS §7)', () => {
  const create = (body: Record<string, unknown>) => call(sim, 'POST', '/api/v1/admin/ip_blocks', { token: admin, json: body });

  it('creates, lists, updates and deletes, storing the network', async () => {
    const r = await create({ ip: '198.51.100.77/24', severity: 'sign_up_block', comment: 'spam', expires_in: 3600 });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ ip: '198.51.100.0/24', severity: 'sign_up_block', comment: 'spam' });
    expect(Date.parse(r.body.expires_at) - Date.parse(r.body.created_at)).toBeCloseTo(3_600_000, -3);
    expect((await create({ ip: '198.51.100.0/24', severity: 'no_access' })).body.error).toBe('Validation failed: Ip has already been taken');
    const list = await call(sim, 'GET', '/api/v1/admin/ip_blocks', { token: admin });
    expect(list.body.map((b: { id: string }) => b.id)).toContain(r.body.id);
    const upd = await call(sim, 'PUT', `/api/v1/admin/ip_blocks/${r.body.id}`, { token: admin, json: { severity: 'sign_up_requires_approval' } });
    expect(upd.body.severity).toBe('sign_up_requires_approval');
    expect((await call(sim, 'DELETE', `/api/v1/admin/ip_blocks/${r.body.id}`, { token: admin })).body).toEqual({});
    expect((await call(sim, 'GET', `/api/v1/admin/ip_blocks/${r.body.id}`, { token: admin })).status).toBe(404);
  });

  it.each([
    [{ severity: 'no_access' }, "Validation failed: Ip can't be blank"],
    [{ ip: 'not-an-ip', severity: 'no_access' }, "Validation failed: Ip can't be blank"],
    [{ ip: '192.0.2.1', severity: 'ban' }, 'Validation failed: Severity is not included in the list'],
  ])('%j → 422', async (body, message) => {
    expect((await create(body)).body).toEqual({ error: message });
  });

  it('no_access answers 403 text/plain Forbidden on every Rails request from that IP; other severities do not', async () => {
    const blocked = { 'x-forwarded-for': '203.0.113.9' };
    await create({ ip: '203.0.113.0/24', severity: 'no_access' });
    await create({ ip: '192.0.2.0/24', severity: 'sign_up_block' });
    for (const [m, p] of [['GET', '/api/v1/timelines/public'], ['POST', '/oauth/token'], ['GET', '/oauth/token/info']] as const) {
      const r = await call(sim, m, p, { headers: blocked });
      expect([r.status, r.headers.get('content-type'), r.text]).toEqual([403, 'text/plain', 'Forbidden\n']);
    }
    expect((await call(sim, 'GET', '/api/v1/timelines/public', { headers: { 'x-forwarded-for': '192.0.2.9' } })).status).toBe(200);
    expect((await call(sim, 'GET', '/api/v1/timelines/public')).status).toBe(200);
  });

  it('an expired block no longer blocks', async () => {
    const r = await create({ ip: '2001:db8:1::/48', severity: 'no_access', expires_in: 1 });
    expect(r.body.ip).toBe('2001:db8:1::/48');
    sim.state.ipBlocks.get(r.body.id)!.expiresAt = new Date(Date.now() - 1000);
    expect((await call(sim, 'GET', '/api/v1/timelines/public', { headers: { 'x-forwarded-for': '2001:db8:1::5' } })).status).toBe(200);
  });

  it('blocks by the socket address when no proxy is involved', async () => {
    await create({ ip: '127.0.0.5/32', severity: 'no_access' });
    const from5 = new Agent({ localAddress: '127.0.0.5' });
    try {
      const r = await request(`${sim.url}/api/v1/timelines/public`, { dispatcher: from5 });
      expect([r.statusCode, await r.body.text()]).toEqual([403, 'Forbidden\n']);
    } finally {
      await from5.close();
    }
    expect((await call(sim, 'GET', '/api/v1/timelines/public')).status).toBe(200);
  });

  it('X-Forwarded-For from an untrusted peer is ignored', async () => {
    const strict = await startMastodonSim();
    try {
      strict.state.ipBlocks.set('1', { id: '1', cidr: { version: 4, network: 0xcb007100n, prefix: 24 }, severity: 'no_access', comment: '', createdAt: new Date(), expiresAt: null });
      expect((await call(strict, 'GET', '/api/v1/timelines/public', { headers: { 'x-forwarded-for': '203.0.113.9' } })).status).toBe(200);
    } finally {
      await strict.close();
    }
  });
});
