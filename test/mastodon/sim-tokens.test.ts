import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startMastodonSim, type MastodonSim, type SimApp, type SimUser } from '../mastodon-sim/index.js';
import { appToken, call, registerApp } from './sim-helpers.js';

// FACTS.md §4 (revocation) and §5 (checking a token), table by table.

let sim: MastodonSim;
let app: SimApp;
let other: SimApp;
let bob: SimUser;
let token: string;

const REVOKE_DENIED = { error: 'unauthorized_client', error_description: 'You are not authorized to revoke this token' };
const revoke = (t: string, creds: Record<string, string>) => call(sim, 'POST', '/oauth/revoke', { form: { token: t, ...creds } });

beforeAll(async () => {
  sim = await startMastodonSim({ throttles: { 'throttle_oauth_application_registrations/ip': { limit: 1000, periodSeconds: 600 } } });
  app = sim.createApp({ name: 'main', redirectUris: ['urn:ietf:wg:oauth:2.0:oob'], scopes: 'read write read:statuses profile' });
  other = sim.createApp({ name: 'other', redirectUris: ['urn:ietf:wg:oauth:2.0:oob'], scopes: 'read' });
});
afterAll(async () => sim.close());

let n = 0;
beforeEach(() => {
  n += 1;
  bob = sim.createUser({ username: `bob${n}` });
  token = sim.issueUserToken(app, bob, ['read']).token;
});

describe('POST /oauth/revoke (FACTS §4 table)', () => {
  const mine = () => ({ client_id: app.uid, client_secret: app.secret });
  it.each([
    ['revoked now', 200, () => token, mine, {}],
    ['token unknown', 200, () => 'A'.repeat(43), mine, {}],
    ['missing client credentials', 403, () => token, () => ({}), REVOKE_DENIED],
    ['wrong client secret', 403, () => token, () => ({ client_id: app.uid, client_secret: 'nope' }), REVOKE_DENIED],
    ['token issued to a different app', 403, () => token, () => ({ client_id: other.uid, client_secret: other.secret }), REVOKE_DENIED],
  ])('%s → %i', async (_case, status, tok, creds, body) => {
    const r = await revoke(tok(), creds());
    expect(r.status).toBe(status);
    expect(r.body).toEqual(body);
  });

  it('already revoked → 200 {} again', async () => {
    await revoke(token, { client_id: app.uid, client_secret: app.secret });
    const again = await revoke(token, { client_id: app.uid, client_secret: app.secret });
    expect([again.status, again.body]).toEqual([200, {}]);
  });

  it('a refused revocation leaves the token working; an accepted one kills it and its streams', async () => {
    await revoke(token, { client_id: other.uid, client_secret: other.secret });
    expect((await call(sim, 'GET', '/api/v1/timelines/home', { token })).status).toBe(200);
    await revoke(token, { client_id: app.uid, client_secret: app.secret });
    expect((await call(sim, 'GET', '/api/v1/timelines/home', { token })).status).toBe(401);
    const id = sim.state.findToken(token)?.id;
    expect(sim.state.sideEffects.some((e) => e.kind === 'streaming-kill' && e.tokenId === id)).toBe(true);
  });

  it('is not rate-limited', async () => {
    const r = await revoke('B'.repeat(43), { client_id: app.uid, client_secret: app.secret });
    expect(r.headers.get('x-ratelimit-limit')).toBeNull();
  });
});

describe('failing requests (FACTS §5 table)', () => {
  const WWW = (desc: string, err = 'invalid_token') => `Bearer realm="Doorkeeper", error="${err}", error_description="${desc}"`;

  it('revoked token → 401 "The access token was revoked", exact headers', async () => {
    await revoke(token, { client_id: app.uid, client_secret: app.secret });
    const r = await call(sim, 'GET', '/api/v1/timelines/home', { token });
    expect(r.status).toBe(401);
    expect(r.body).toEqual({ error: 'The access token was revoked' });
    expect(r.headers.get('www-authenticate')).toBe(WWW('The access token was revoked'));
    expect(r.headers.get('cache-control')).toBe('no-store, no-cache');
  });

  it('unknown token, or revoked row vacuumed → 401 "The access token is invalid"', async () => {
    await revoke(token, { client_id: app.uid, client_secret: app.secret });
    sim.vacuum();
    for (const t of [token, 'C'.repeat(43)]) {
      const r = await call(sim, 'GET', '/api/v1/notifications', { token: t });
      expect([r.status, r.body.error]).toEqual([401, 'The access token is invalid']);
      expect(r.headers.get('www-authenticate')).toBe(WWW('The access token is invalid'));
    }
  });

  it('valid token, scope missing → 403 with insufficient_scope naming the scopes (quotes as _)', async () => {
    const narrow = sim.issueUserToken(app, bob, ['profile']).token;
    const r = await call(sim, 'GET', '/api/v1/timelines/home', { token: narrow });
    expect(r.status).toBe(403);
    expect(r.body).toEqual({ error: 'This action is outside the authorized scopes' });
    expect(r.headers.get('www-authenticate')).toBe(WWW('Access to this resource requires scope _read read:statuses_.', 'insufficient_scope'));
  });

  it("owner's account suspended → 403 on any Api::BaseController endpoint", async () => {
    sim.state.accountOf(bob).suspendedAt = new Date();
    for (const path of ['/api/v1/timelines/home', '/api/v1/apps/verify_credentials', '/api/v1/timelines/public']) {
      const r = await call(sim, 'GET', path, { token });
      expect([path, r.status, r.body.error]).toEqual([path, 403, 'Your login is currently disabled']);
    }
  });

  it('user disabled → 403 on require_user! endpoints only (§6 disabled users)', async () => {
    bob.disabled = true;
    expect((await call(sim, 'GET', '/api/v1/timelines/home', { token })).body.error).toBe('Your login is currently disabled');
    expect((await call(sim, 'GET', '/api/v1/statuses/1/source', { token: sim.issueUserToken(app, bob, ['read:statuses']).token })).status).toBe(200);
  });

  it('an app-only token on a require_user! endpoint → 422', async () => {
    const t = (await appToken(sim, await registerApp(sim))).body.access_token;
    const r = await call(sim, 'GET', '/api/v1/timelines/home', { token: t });
    expect([r.status, r.body.error]).toEqual([422, 'This method requires an authenticated user']);
  });
});

describe('revoked tokens still accepted until cleanup (FACTS §5)', () => {
  it.each(['/api/v1/announcements', '/api/v1/donation_campaigns', '/api/v1/accounts/1/identity_proofs'])(
    '%s answers 200 for a revoked token, then 422 after the vacuum',
    async (path) => {
      await revoke(token, { client_id: app.uid, client_secret: app.secret });
      expect((await call(sim, 'GET', path, { token })).status).toBe(200);
      sim.vacuum();
      expect((await call(sim, 'GET', path, { token })).status).toBe(422);
    },
  );

  it('a revoked token still updates last_used_at', async () => {
    await revoke(token, { client_id: app.uid, client_secret: app.secret });
    await call(sim, 'GET', '/api/v1/announcements', { token });
    expect(sim.state.findToken(token)?.lastUsedAt).toBeInstanceOf(Date);
  });
});

describe('liveness checks (FACTS §5)', () => {
  it('token/info returns the token\'s own scopes, user id and app uid', async () => {
    const r = await call(sim, 'GET', '/oauth/token/info', { token });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      resource_owner_id: bob.id, scope: ['read'], expires_in: null, application: { uid: app.uid },
      created_at: sim.state.findToken(token)?.createdAt,
    });
  });

  it('token/info answers a dead token 401 with WWW-Authenticate', async () => {
    await revoke(token, { client_id: app.uid, client_secret: app.secret });
    const r = await call(sim, 'GET', '/oauth/token/info', { token });
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toMatch(/^Bearer realm="Doorkeeper", error="invalid_token"/);
  });

  it('apps/verify_credentials accepts any live token, even one with no read scope, and shows the app scopes', async () => {
    const narrow = sim.issueUserToken(app, bob, ['profile']).token;
    const r = await call(sim, 'GET', '/api/v1/apps/verify_credentials', { token: narrow });
    expect(r.status).toBe(200);
    expect(r.body.scopes).toEqual(['read', 'write', 'read:statuses', 'profile']);
    expect(r.body.client_id).toBeUndefined();
    expect(r.body.client_secret).toBeUndefined();
  });

  it.each([
    [['profile'], 200],
    [['read:accounts'], 200],
    [['read:statuses'], 403],
  ])('accounts/verify_credentials with %j → %i', async (scopes, status) => {
    const r = await call(sim, 'GET', '/api/v1/accounts/verify_credentials', { token: sim.issueUserToken(app, bob, scopes).token });
    expect(r.status).toBe(status);
    if (status === 200) expect(r.body.id).toBe(bob.accountId);
  });

  it('introspection: own app active, other app and revoked inactive', async () => {
    const mine = await call(sim, 'POST', '/oauth/introspect', { form: { token, client_id: app.uid, client_secret: app.secret } });
    expect(mine.body).toMatchObject({ active: true, scope: 'read', client_id: app.uid, token_type: 'Bearer' });
    const theirs = await call(sim, 'POST', '/oauth/introspect', { form: { token, client_id: other.uid, client_secret: other.secret } });
    expect(theirs.body).toEqual({ active: false });
  });
});

describe('token-optional endpoints (FACTS §6)', () => {
  it('allow anonymous callers; a sent token must be valid and hold a scope', async () => {
    expect((await call(sim, 'GET', '/api/v1/timelines/public')).status).toBe(200);
    expect((await call(sim, 'GET', '/api/v1/timelines/public', { token: 'D'.repeat(43) })).status).toBe(401);
    expect((await call(sim, 'GET', '/api/v1/timelines/public', { token: sim.issueUserToken(app, bob, ['profile']).token })).status).toBe(403);
    expect((await call(sim, 'GET', '/api/v1/timelines/public', { token })).status).toBe(200);
  });
});
