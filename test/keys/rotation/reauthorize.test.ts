import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { oauthCallbackRoutes } from '../../../src/api/routes/oauth-callback.js';
import { ManualClock } from '../../../src/core/clock.js';
import { RevocationService } from '../../../src/keys/revocation/service.js';
import { rotationConfigSchema } from '../../../src/keys/rotation/config.js';
import { RotationService } from '../../../src/keys/rotation/service.js';
import type { SimUser } from '../../mastodon-sim/index.js';
import { Bench } from './harness.js';

// reauthorize rotation of a user token: signed consent link → Mastodon consent (the simulator's
// test hook stands in for the browser) → OAuth callback with state + PKCE S256 → new token of
// the same user verified → old token revoked once quiet. Denials, wrong users, tampered and
// expired links roll back or are refused.

const LINK_SECRET = 'link-secret-0123456789abcdef0123456789abcdef';
let b: Bench;
let clock: ManualClock;
let owner: SimUser;
let svc: RotationService;
let api: FastifyInstance;

beforeEach(async () => {
  clock = new ManualClock(Date.now());
  b = await Bench.start({ clock });
  owner = b.sim.createUser({ username: 'owner1' });
  b.sim.createUser({ username: 'mallory' });
  const config = rotationConfigSchema.parse({ public_url: 'https://tg.example', consent_ttl: '24h', quiet_period: '10m', keys: { 'alice-bot': { mastodon_user: 'owner1' } } });
  svc = new RotationService({
    db: b.db, vault: b.vault, client: b.client, fingerprint: b.fingerprint, config, usage: { lastSeen: async () => null },
    notifier: b.notifier, audit: b.auditHook, logger: b.logger, clock, env: { TUSKGUARD_LINK_SECRET: LINK_SECRET },
  });
  api = Fastify();
  await api.register(oauthCallbackRoutes, { flow: svc.consent });
  await b.addUserKey('alice-bot', owner, { rotation: { strategy: 'reauthorize' }, owner: 'alice@example.org' }, ['read', 'write:statuses']);
});
afterEach(async () => {
  await api.close();
  await b.close();
});

/** Start the rotation and follow the consent link to the Mastodon consent screen. */
async function toConsentScreen(): Promise<{ link: string; authorize: URL }> {
  const { rotation } = await svc.rotateKey({ keyId: 'alice-bot', reason: 'yearly', trigger: 'manual' });
  expect(rotation.state).toBe('awaiting-consent');
  const notice = b.notices.find((n) => n.kind === 'consent-requested')!;
  expect(notice).toMatchObject({ owner: 'alice@example.org', key_id: 'alice-bot' });
  expect(notice.message).toMatch(/sign in to .* as owner1/);
  const link = new URL(notice.link!);
  expect(link.origin + link.pathname).toBe('https://tg.example/oauth/consent');
  const res = await api.inject({ method: 'GET', url: link.pathname + link.search });
  expect(res.statusCode).toBe(302);
  expect(res.headers['cache-control']).toBe('no-store');
  return { link: notice.link!, authorize: new URL(String(res.headers.location)) };
}

/** The user approves on the consent screen (simulator hook) → Mastodon's redirect back. */
function approve(authorize: URL, username: string, deny = false): URL {
  const q = authorize.searchParams;
  const outcome = b.sim.authorize({
    clientId: q.get('client_id')!, username, redirectUri: q.get('redirect_uri')!, scope: q.get('scope')!, state: q.get('state')!,
    codeChallenge: q.get('code_challenge')!, codeChallengeMethod: q.get('code_challenge_method')!, deny,
  });
  if (outcome.kind !== 'redirect') throw new Error(`consent failed: ${JSON.stringify(outcome)}`);
  if (outcome.code) b.remember(outcome.code);
  return new URL(outcome.location);
}

describe('reauthorize', () => {
  it('end to end: consent link → authorize with state + PKCE S256 → callback → new token of the same user → old revoked', async () => {
    const oldToken = (await b.vault.get('alice-bot', 1)).token;
    const { authorize } = await toConsentScreen();
    expect(authorize.origin).toBe(b.sim.url);
    expect(authorize.pathname).toBe('/oauth/authorize');
    expect(Object.fromEntries(authorize.searchParams)).toMatchObject({
      response_type: 'code', redirect_uri: 'https://tg.example/oauth/callback', scope: 'read write:statuses', code_challenge_method: 'S256', force_login: 'true',
    });
    expect(authorize.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const newApp = b.sim.state.appByUid(authorize.searchParams.get('client_id')!)!;
    expect(newApp.redirectUris).toEqual(['https://tg.example/oauth/callback']);

    const back = approve(authorize, 'owner1');
    const res = await api.inject({ method: 'GET', url: back.pathname + back.search });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('Key renewed');
    expect(res.body).not.toContain(back.searchParams.get('code')!);

    const [rotation] = svc.status('alice-bot');
    expect(rotation!.state).toBe('distributed');
    const newToken = (await b.vault.get('alice-bot', b.inventory.require('alice-bot').secret_version)).token;
    expect(b.sim.state.findToken(newToken)).toMatchObject({ userId: owner.id, appId: newApp.id });
    expect(b.simTokenState(oldToken)).toBe('live');

    clock.advance(11 * 60_000);
    await svc.tick();
    expect(svc.status('alice-bot')[0]!.state).toBe('completed');
    expect(b.simTokenState(oldToken)).toBe('revoked');
    expect(b.simTokenState(newToken)).toBe('live');

    // The state works once.
    const replay = await api.inject({ method: 'GET', url: back.pathname + back.search });
    expect(replay.statusCode).toBe(400);
    expect(b.leaks(res.body, replay.body)).toEqual([]);
  });

  it('a different Mastodon user consents: verification fails, rolled back, that token revoked', async () => {
    const { authorize } = await toConsentScreen();
    const back = approve(authorize, 'mallory');
    const res = await api.inject({ method: 'GET', url: back.pathname + back.search });
    expect(res.body).toContain('Key not renewed');
    const [rotation] = svc.status('alice-bot');
    expect(rotation).toMatchObject({ state: 'rolled-back' });
    expect(rotation!.error).toMatch(/another Mastodon user/);
    const mallorys = [...b.sim.state.tokens.values()].find((t) => t.userId === b.sim.state.userByName('mallory')!.id)!;
    expect(mallorys.revokedAt).toBeInstanceOf(Date);
    expect(b.inventory.require('alice-bot').status).toBe('active');
  });

  it('the owner denies: rolled back, the current key stays', async () => {
    const { authorize } = await toConsentScreen();
    const back = approve(authorize, 'owner1', true);
    expect(back.searchParams.get('error')).toBe('access_denied');
    const res = await api.inject({ method: 'GET', url: back.pathname + back.search });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('declined');
    expect(svc.status('alice-bot')[0]!.state).toBe('rolled-back');
    expect(b.notices.map((n) => n.kind)).toEqual(['consent-requested', 'rotation-rolled-back']);
  });

  it('a key revoked while waiting for consent gets no new token from a late approval', async () => {
    const { authorize } = await toConsentScreen();
    await new RevocationService({ db: b.db, vault: b.vault, fingerprint: b.fingerprint, client: b.client }).revokeKey({ keyId: 'alice-bot', reason: 'panic', actor: 'x' });
    const back = approve(authorize, 'owner1');
    const res = await api.inject({ method: 'GET', url: back.pathname + back.search });
    expect(res.statusCode).toBe(400);
    expect([...b.sim.state.tokens.values()].filter((t) => !t.revokedAt)).toEqual([]);
    await svc.tick();
    expect(svc.status('alice-bot')[0]!.state).toBe('aborted');
  });

  it('tampered, malformed and expired links are refused; no consent before expiry rolls back', async () => {
    const { link } = await toConsentScreen();
    const u = new URL(link);
    const tampered = new URL(link);
    tampered.searchParams.set('exp', String(Number(u.searchParams.get('exp')) + 3600));
    for (const url of [tampered.pathname + tampered.search, '/oauth/consent?r=x', `/oauth/callback?code=abc&state=${'A'.repeat(43)}`]) {
      const res = await api.inject({ method: 'GET', url });
      expect(res.statusCode).toBe(400);
    }
    clock.advance(24 * 3_600_000 + 1_000);
    expect((await api.inject({ method: 'GET', url: u.pathname + u.search })).body).toContain('expired');
    await svc.tick();
    expect(svc.status('alice-bot')[0]).toMatchObject({ state: 'rolled-back', error: expect.stringMatching(/did not consent/) });
  });

  it('without public_url or link secret a reauthorize rotation rolls back with a hint, and the routes answer 404', async () => {
    const bare = new RotationService({ db: b.db, vault: b.vault, client: b.client, fingerprint: b.fingerprint, logger: b.logger, clock, env: {} });
    const { rotation } = await bare.rotateKey({ keyId: 'alice-bot', reason: 'r', trigger: 'manual' });
    expect(rotation).toMatchObject({ state: 'rolled-back', error: expect.stringMatching(/public_url/) });
    const app = Fastify();
    await app.register(oauthCallbackRoutes, { flow: bare.consent });
    expect((await app.inject({ method: 'GET', url: '/oauth/callback?code=x&state=y' })).statusCode).toBe(404);
    await app.close();
  });
});
