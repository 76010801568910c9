import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMastodonSim, type MastodonSim, type SimApp, type SimUser } from '../mastodon-sim/index.js';
import { appToken, call, registerApp, TOKEN_RE, userToken } from './sim-helpers.js';

// FACTS.md §1-§4: grants, client authentication, token shape and reuse, revocation.

let sim: MastodonSim;
let alice: SimUser;
let codeApp: SimApp;
const REDIRECT = 'https://client.example/callback';

beforeAll(async () => {
  sim = await startMastodonSim({ throttles: { 'throttle_oauth_application_registrations/ip': { limit: 1000, periodSeconds: 600 } } });
  alice = sim.createUser({ username: 'alice' });
  codeApp = sim.createApp({ name: 'code app', redirectUris: [REDIRECT], scopes: 'read write read:statuses' });
});
afterAll(async () => sim.close());

describe('POST /oauth/token grants (FACTS §2)', () => {
  it.each([
    ['password', 400, 'unsupported_grant_type'],
    ['refresh_token', 400, 'unsupported_grant_type'],
    ['implicit', 400, 'unsupported_grant_type'],
  ])('grant_type=%s → %i %s', async (grant, status, error) => {
    const client = await registerApp(sim);
    const r = await call(sim, 'POST', '/oauth/token', {
      form: { grant_type: grant, client_id: client.id, client_secret: client.secret, username: 'a', password: 'b', refresh_token: 'x' },
    });
    expect(r.status).toBe(status);
    expect(r.body.error).toBe(error);
  });

  it('a missing grant_type is an invalid_request naming the parameter', async () => {
    const r = await call(sim, 'POST', '/oauth/token', { form: {} });
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ error: 'invalid_request', error_description: 'Missing required parameter: grant_type.' });
  });

  it('client_credentials answers {access_token, token_type, scope, created_at} and a 43-character token', async () => {
    const client = await registerApp(sim, 'read write');
    const r = await appToken(sim, client, 'read');
    expect(r.status).toBe(200);
    expect(Object.keys(r.body)).toEqual(['access_token', 'token_type', 'scope', 'created_at']);
    expect(r.body.token_type).toBe('Bearer');
    expect(r.body.scope).toBe('read');
    expect(r.body.access_token).toMatch(TOKEN_RE);
    expect(Number.isInteger(r.body.created_at)).toBe(true);
    const info = await call(sim, 'GET', '/oauth/token/info', { token: r.body.access_token });
    expect(info.body.resource_owner_id).toBeNull();
  });

  it.each([
    ['read', 'read:statuses', 400],
    ['read', 'write', 400],
    ['read', 'crypto', 400],
    ['read', 'read', 200],
    ['read write', 'write read', 200],
    ['read:statuses', 'read:statuses', 200],
  ])('app registered with %j requesting %j → %i (exact strings)', async (registered, requested, status) => {
    const client = await registerApp(sim, registered);
    const r = await appToken(sim, client, requested);
    expect(r.status).toBe(status);
    if (status === 400) {
      expect(r.body).toEqual({ error: 'invalid_scope', error_description: 'The requested scope is invalid, unknown, or malformed.' });
    }
  });

  it('without a scope the token gets the default `read`, and an app without `read` gets invalid_scope', async () => {
    expect((await appToken(sim, await registerApp(sim, 'read write'))).body.scope).toBe('read');
    expect((await appToken(sim, await registerApp(sim, 'write'))).body.error).toBe('invalid_scope');
  });
});

describe('client authentication (FACTS §2)', () => {
  it('accepts HTTP Basic and body credentials, each alone', async () => {
    const client = await registerApp(sim);
    const basic = await call(sim, 'POST', '/oauth/token', { form: { grant_type: 'client_credentials' }, basic: client });
    const body = await appToken(sim, client);
    expect([basic.status, body.status]).toEqual([200, 200]);
  });

  it('rejects a request that carries the secret both ways', async () => {
    const client = await registerApp(sim);
    const r = await call(sim, 'POST', '/oauth/token', {
      form: { grant_type: 'client_credentials', client_id: client.id, client_secret: client.secret },
      basic: client,
    });
    expect(r.status).toBe(400);
    expect(r.body.error).toBe('invalid_request');
    expect(r.body.error_description).toBe('The request utilizes more than one mechanism for authenticating the client.');
  });

  it('a wrong secret is 401 invalid_client with WWW-Authenticate', async () => {
    const client = await registerApp(sim);
    const r = await appToken(sim, { id: client.id, secret: 'wrong' });
    expect(r.status).toBe(401);
    expect(r.body.error).toBe('invalid_client');
    expect(r.headers.get('www-authenticate')).toMatch(/^Bearer realm="Doorkeeper", error="invalid_client", error_description="Client authentication failed/);
  });
});

describe('token reuse (FACTS §3)', () => {
  it('same app, no user, same scope set → the same live token; revoke first to rotate', async () => {
    const client = await registerApp(sim, 'read write');
    const a = (await appToken(sim, client, 'read write')).body;
    const b = (await appToken(sim, client, 'write read')).body;
    const other = (await appToken(sim, client, 'read')).body;
    expect(b.access_token).toBe(a.access_token);
    expect(b.created_at).toBe(a.created_at);
    expect(other.access_token).not.toBe(a.access_token);
    await call(sim, 'POST', '/oauth/revoke', { form: { token: a.access_token, client_id: client.id, client_secret: client.secret } });
    const c = (await appToken(sim, client, 'read write')).body;
    expect(c.access_token).not.toBe(a.access_token);
  });

  it('the code flow reuses the token for the same app, user and scopes', async () => {
    const first = await userToken(sim, codeApp, alice, 'read');
    const second = await userToken(sim, codeApp, alice, 'read');
    expect(second).toBe(first);
    const info = await call(sim, 'GET', '/oauth/token/info', { token: first });
    expect(info.body.resource_owner_id).toBe(alice.id);
    expect(info.body.scope).toEqual(['read']);
  });
});

describe('authorization_code with PKCE (FACTS §1 line 56)', () => {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');

  function authorize(scope = 'write'): string {
    const o = sim.authorize({ clientId: codeApp.uid, username: 'alice', redirectUri: REDIRECT, scope, codeChallenge: challenge, codeChallengeMethod: 'S256', state: 's1' });
    if (o.kind !== 'redirect' || !o.code) throw new Error('no code');
    expect(new URL(o.location).searchParams.get('state')).toBe('s1');
    return o.code;
  }
  const exchange = (code: string, extra: Record<string, string>) =>
    call(sim, 'POST', '/oauth/token', {
      form: { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: codeApp.uid, client_secret: codeApp.secret, ...extra },
    });

  it('issues a user token for the right verifier, once', async () => {
    const code = authorize();
    const ok = await exchange(code, { code_verifier: verifier });
    expect(ok.status).toBe(200);
    expect(ok.body.scope).toBe('write');
    expect((await exchange(code, { code_verifier: verifier })).body.error).toBe('invalid_grant');
  });

  it.each([
    ['a wrong verifier', { code_verifier: 'x'.repeat(43) }, 'invalid_grant'],
    ['no verifier', {}, 'invalid_request'],
    ['another redirect URI', { code_verifier: verifier, redirect_uri: 'https://evil.example/cb' }, 'invalid_grant'],
  ])('%s → %s', async (_name, extra, error) => {
    const r = await exchange(authorize(), extra as Record<string, string>);
    expect(r.status).toBe(400);
    expect(r.body.error).toBe(error);
  });

  it('the consent hook applies Doorkeeper pre-authorization checks', () => {
    expect(sim.authorize({ clientId: 'nope', username: 'alice', redirectUri: REDIRECT }).kind).toBe('error');
    expect(sim.authorize({ clientId: codeApp.uid, username: 'alice', redirectUri: 'https://other/' })).toMatchObject({ error: 'invalid_redirect_uri' });
    const bad = sim.authorize({ clientId: codeApp.uid, username: 'alice', redirectUri: REDIRECT, scope: 'admin:read' });
    expect(bad.kind === 'redirect' && new URL(bad.location).searchParams.get('error')).toBe('invalid_scope');
  });

  it('the real /oauth/authorize needs a browser login and redirects to it', async () => {
    const r = await call(sim, 'GET', `/oauth/authorize?client_id=${codeApp.uid}&response_type=code&redirect_uri=${encodeURIComponent(REDIRECT)}`);
    expect(r.status).toBe(302);
    expect(r.headers.get('location')).toMatch(/\/auth\/sign_in$/);
  });

  it('the hook is served over HTTP under /__sim/ too', async () => {
    const q = new URLSearchParams({ client_id: codeApp.uid, username: 'alice', redirect_uri: REDIRECT, scope: 'read', state: 'z' });
    const r = await call(sim, 'GET', `/__sim/oauth/authorize?${q}`);
    expect(r.status).toBe(302);
    const loc = new URL(r.headers.get('location') ?? '');
    expect(loc.origin + loc.pathname).toBe(REDIRECT);
    expect(loc.searchParams.get('code')).toMatch(TOKEN_RE);
  });
});

describe('/oauth/applications and metadata (FACTS §1)', () => {
  it('every /oauth/applications route answers 403 with no body', async () => {
    for (const [m, p] of [['GET', '/oauth/applications'], ['POST', '/oauth/applications'], ['DELETE', '/oauth/applications/1']] as const) {
      const r = await call(sim, m, p);
      expect([r.status, r.text]).toEqual([403, '']);
    }
  });

  it('advertises exactly the two grants and no introspection', async () => {
    const r = await call(sim, 'GET', '/.well-known/oauth-authorization-server');
    expect(r.body.grant_types_supported).toEqual(['authorization_code', 'client_credentials']);
    expect(r.body.token_endpoint_auth_methods_supported).toEqual(['client_secret_basic', 'client_secret_post']);
    expect(r.body.scopes_supported).toHaveLength(47);
    expect(r.body.introspection_endpoint).toBeUndefined();
  });
});

describe('/__sim/ test hooks', () => {
  it('seeds users over HTTP and refuses consent for unknown ones', async () => {
    const r = await call(sim, 'POST', '/__sim/users', { json: { username: 'hookuser', role: 'Moderator' } });
    expect(r.status).toBe(200);
    expect(sim.state.users.get(r.body.id)?.role?.name).toBe('Moderator');
    expect((await call(sim, 'POST', '/__sim/users', { json: { username: 'hookuser' } })).status).toBe(422);
    const q = new URLSearchParams({ client_id: codeApp.uid, username: 'ghost', redirect_uri: REDIRECT });
    expect((await call(sim, 'GET', `/__sim/oauth/authorize?${q}`)).status).toBe(400);
  });

  it('are absent when testHooks is false', async () => {
    const bare = await startMastodonSim({ testHooks: false });
    try {
      expect((await call(bare, 'POST', '/__sim/users', { json: { username: 'x' } })).status).toBe(404);
    } finally {
      await bare.close();
    }
  });
});
