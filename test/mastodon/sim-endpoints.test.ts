import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEndpointScopes } from '../../src/mastodon/endpoint-scopes.js';
import { startMastodonSim, type MastodonSim, type SimApp, type SimUser } from '../mastodon-sim/index.js';
import { call, concretePath } from './sim-helpers.js';

// Every Rails route of endpoint-scopes.json gets the check its entry describes (FACTS.md §6):
// any one listed scope passes, none of them is 403 naming the list, no token is 401.

const ENTRIES = loadEndpointScopes().filter((e) => e.server === 'rails');
const SCOPED = ENTRIES.filter((e) => (e.token === 'required' || e.token === 'optional') && e.scopes.length > 0);
const DECOYS = ['push', 'profile', 'follow', 'write:media'];
const HIGH = { limit: 1_000_000, periodSeconds: 300 };

let sim: MastodonSim;
let app: SimApp;
let owner: SimUser;
const tokens = new Map<string, string>();

function tokenWith(scope: string): string {
  let t = tokens.get(scope);
  if (!t) {
    t = sim.issueUserToken(app, owner, [scope]).token;
    tokens.set(scope, t);
  }
  return t;
}

beforeAll(async () => {
  sim = await startMastodonSim({ throttles: { throttle_per_token_api: HIGH, throttle_authenticated_api: HIGH, throttle_unauthenticated_api: HIGH, throttle_api_delete: HIGH, throttle_api_media: HIGH, throttle_api_sign_up: HIGH } });
  app = sim.createApp({ name: 'all', redirectUris: ['urn:ietf:wg:oauth:2.0:oob'], scopes: 'read' });
  owner = sim.createUser({ username: 'owner', role: 'Owner' });
});
afterAll(async () => sim.close());

describe('per-endpoint scope checks', () => {
  it('covers the table (more than 250 scoped Rails routes)', () => {
    expect(SCOPED.length).toBeGreaterThan(250);
  });

  it.each(SCOPED.map((e) => [`${e.method} ${e.path}`, e] as const))('%s', async (_route, entry) => {
    const path = concretePath(entry.path);
    const decoy = DECOYS.find((s) => !entry.scopes.includes(s)) as string;
    const denied = await call(sim, entry.method, path, { token: tokenWith(decoy) });
    expect(denied.status).toBe(403);
    expect(denied.headers.get('www-authenticate')).toBe(
      `Bearer realm="Doorkeeper", error="insufficient_scope", error_description="Access to this resource requires scope _${entry.scopes.join(' ')}_."`,
    );
    for (const scope of entry.scopes) {
      const ok = await call(sim, entry.method, path, { token: tokenWith(scope) });
      expect([scope, ok.status, ok.headers.get('www-authenticate')]).toEqual([scope, ok.status, null]);
      expect(ok.status).not.toBe(401);
    }
    const anonymous = await call(sim, entry.method, path);
    if (entry.token === 'required') expect(anonymous.status).toBe(401);
    else expect(anonymous.status).not.toBe(401);
  });
});

describe('entries without a scope check', () => {
  it.each(ENTRIES.filter((e) => e.token === 'n/a (always 403)').map((e) => [`${e.method} ${e.path}`, e] as const))(
    '%s → 403 always', async (_r, e) => {
      expect((await call(sim, e.method, concretePath(e.path), { token: tokenWith('read') })).status).toBe(403);
    },
  );

  it.each(ENTRIES.filter((e) => e.token === 'n/a (web session)').map((e) => [`${e.method} ${e.path}`, e] as const))(
    '%s → login redirect, even with a Bearer token', async (_r, e) => {
      expect((await call(sim, e.method, concretePath(e.path), { token: tokenWith('read') })).status).toBe(302);
    },
  );

  it.each(ENTRIES.filter((e) => e.token === 'user (no scope check)').map((e) => [`${e.method} ${e.path}`, e] as const))(
    '%s → any user token passes, an app token does not', async (_r, e) => {
      expect((await call(sim, e.method, concretePath(e.path), { token: tokenWith('push') })).status).toBe(200);
      expect((await call(sim, e.method, concretePath(e.path))).status).toBe(422);
    },
  );
});
