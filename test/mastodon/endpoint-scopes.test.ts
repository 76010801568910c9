import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  RouteMatcher,
  controllerKey,
  loadEndpointScopes,
  scopesForRoutes,
  type EndpointEntry,
  type MastodonServer,
} from '../../src/mastodon/endpoint-scopes.js';

const TABLE = loadEndpointScopes();
const matcher = new RouteMatcher(TABLE);

/**
 * The README's rules written the slow, obvious way (one regular expression per pattern, most
 * literal segments wins), to check the trie against.
 */
function reference(method: string, path: string, server: MastodonServer): EndpointEntry | null {
  let best: { e: EndpointEntry; lit: number } | null = null;
  for (const e of TABLE) {
    if (e.method !== method || e.server !== server) continue;
    const re = new RegExp(
      `^${e.path
        .replace(/\(\/\*[a-z_]+\)$/, '(?:/.*)?')
        .split('/')
        .map((s) => (s.startsWith(':') ? '[^/]+' : s))
        .join('/')}$`,
    );
    if (!re.test(path)) continue;
    const lit = e.path.replace(/\(\/\*[a-z_]+\)$/, '').split('/').filter((s) => s && !s.startsWith(':')).length;
    if (!best || lit > best.lit) best = { e, lit };
  }
  return best?.e ?? null;
}

const concrete = (pattern: string) => pattern.replace(/\(\/\*[a-z_]+\)$/, '').replace(/:[a-z_]+/g, '109876');

describe('endpoint-scopes table', () => {
  it('loads the bundled copy (332 entries) and validates every entry', () => {
    expect(TABLE).toHaveLength(332);
    expect(TABLE.every((e) => Array.isArray(e.scopes))).toBe(true);
  });

  it('fails at start-up with a clear error for a missing or malformed table', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-scopes-'));
    expect(() => loadEndpointScopes(join(dir, 'missing.json'))).toThrow(/cannot read endpoint-scopes table .*missing\.json/);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify([{ method: 'GET', path: '/x' }]));
    expect(() => loadEndpointScopes(bad)).toThrow(/endpoint-scopes table .*bad\.json: 0\.\w+/);
    writeFileSync(bad, JSON.stringify([{ ...TABLE[0], path: '/x(.:format)' }]));
    expect(() => loadEndpointScopes(bad)).toThrow(/unsupported route syntax/);
  });

  it('compiles 10 kB hostile patterns quickly (tail and param regexes are linear)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-scopes-'));
    const file = join(dir, 'hostile.json');
    const paths = ['/' + '(/*a'.repeat(2_500), '/:' + 'a'.repeat(10_000), '/x' + '(/*any)'.repeat(1_500)];
    for (const path of paths) {
      writeFileSync(file, JSON.stringify([{ ...TABLE[0], path }]));
      try {
        loadEndpointScopes(file);
      } catch (e) {
        expect(String(e)).toMatch(/unsupported route syntax/);
      }
    }
    // A long but valid pattern loads and matches.
    writeFileSync(file, JSON.stringify([{ ...TABLE[0], path: `/${'seg/'.repeat(2_000)}:id` }]));
    const m = new RouteMatcher(loadEndpointScopes(file));
    expect(m.match({ method: TABLE[0]?.method ?? 'GET', path: `/${'seg/'.repeat(2_000)}7`, server: TABLE[0]?.server ?? 'rails' })).not.toBeNull();
  }, 2_000);
});

describe('RouteMatcher', () => {
  it('maps a concrete path of every entry back to that entry (or its identical twin)', () => {
    for (const e of TABLE) {
      const m = matcher.match({ method: e.method, path: concrete(e.path), server: e.server });
      expect(m, `${e.method} ${e.path}`).not.toBeNull();
      expect({ scopes: m?.entry.scopes, token: m?.entry.token }).toEqual({ scopes: e.scopes, token: e.token });
    }
  });

  it('agrees with a regex-per-pattern reference implementation on generated paths', () => {
    const paths = new Set<string>();
    for (const e of TABLE) {
      const base = concrete(e.path);
      paths.add(base).add(`${base}/extra`).add(base.replace(/\/[^/]+$/, '/verify_credentials'));
      paths.add(base.replace('/api/v1/', '/api/v2/')).add(base.replace('/api/v2/', '/api/v1/'));
    }
    for (const path of paths) {
      for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) {
        for (const server of ['rails', 'streaming'] as const) {
          const want = reference(method, path, server);
          const got = matcher.match({ method, path, server })?.entry ?? null;
          expect(got && { m: got.method, p: got.path, s: got.scopes }, `${method} ${path} ${server}`).toEqual(
            want && { m: want.method, p: want.path, s: want.scopes },
          );
        }
      }
    }
  });

  it.each([
    ['GET', '/api/v1/accounts/verify_credentials', 'GET /api/v1/accounts/verify_credentials'],
    ['GET', '/api/v1/accounts/109876', 'GET /api/v1/accounts/:id'],
    ['GET', '/api/v1/instance', 'GET /api/v1/instance'],
    ['GET', '/api/v2/instance', 'GET /api/v2/instance'],
    ['GET', '/api/v2/search', 'GET /api/v2/search'],
    ['POST', '/api/v2/media', 'POST /api/v2/media'],
    ['HEAD', '/api/v1/timelines/home', 'GET /api/v1/timelines/home'],
    ['GET', '/api/v1/timelines/home/', 'GET /api/v1/timelines/home'],
    ['GET', '//api/v1//timelines/home', 'GET /api/v1/timelines/home'],
    ['GET', '/api/v1/timelines/home?limit=40', 'GET /api/v1/timelines/home'],
    ['GET', '/api/v1/streaming/user/notification', 'GET /api/v1/streaming(/*any)'],
    ['POST', '/oauth/revoke', 'POST /oauth/revoke'],
  ])('%s %s → %s', (method, path, route) => {
    expect(matcher.match({ method, path, server: 'rails' })?.route).toBe(route);
  });

  it('keeps API versions apart: /api/v1 and /api/v2 routes have their own scopes', () => {
    const v1 = matcher.match({ method: 'GET', path: '/api/v1/notifications', server: 'rails' });
    const v2 = matcher.match({ method: 'GET', path: '/api/v2/notifications', server: 'rails' });
    expect(v1?.route).toBe('GET /api/v1/notifications');
    expect(v2?.route).toBe('GET /api/v2/notifications');
    expect(matcher.match({ method: 'GET', path: '/api/v3/notifications', server: 'rails' })).toBeNull();
  });

  it('matches streaming traffic against the streaming server entries only', () => {
    const m = matcher.match({ method: 'GET', path: '/api/v1/streaming/user', server: 'streaming' });
    expect(m?.route).toBe('GET /api/v1/streaming/user');
    expect(m?.entry.scopes).toEqual(['read', 'read:statuses']);
    const rails = matcher.match({ method: 'GET', path: '/api/v1/streaming/user', server: 'rails' });
    expect(rails?.entry.scopes).toEqual([]);
  });

  it.each([
    ['GET', '/about'],
    ['GET', '/'],
    ['GET', '/api/v1/statuses/1/context/extra/more'],
    ['PATCH', '/api/v1/timelines/home'],
  ])('reports %s %s as unmapped (null)', (method, path) => {
    expect(matcher.match({ method, path, server: 'rails' })).toBeNull();
  });

  it('prefers the entry of a known controller/action over the most literal one', () => {
    const plain = matcher.match({ method: 'GET', path: '/api/v1/accounts/verify_credentials', server: 'rails' });
    expect(plain?.entry.controller).toBe('api/v1/accounts/credentials');
    const byController = matcher.match({
      method: 'GET', path: '/api/v1/accounts/verify_credentials', server: 'rails',
      controller: 'Api::V1::AccountsController', action: 'show',
    });
    expect(byController?.route).toBe('GET /api/v1/accounts/:id');
    // An unknown controller does not change the answer.
    const other = matcher.match({ method: 'GET', path: '/api/v1/accounts/verify_credentials', server: 'rails', controller: 'Rack::Attack', action: 'throttle' });
    expect(other?.route).toBe(plain?.route);
  });

  it('compiles each pattern once: matching does not depend on table order for ties', () => {
    const reversed = new RouteMatcher([...TABLE].reverse());
    for (const path of ['/api/v1/accounts/verify_credentials', '/api/v1/lists/5/accounts', '/api/v2/filters/1/keywords']) {
      expect(reversed.match({ method: 'GET', path, server: 'rails' })?.route).toBe(matcher.match({ method: 'GET', path, server: 'rails' })?.route);
    }
  });
});

describe('controllerKey', () => {
  it.each([
    ['Api::V1::Timelines::HomeController', 'api/v1/timelines/home'],
    ['OAuth::TokensController', 'oauth/tokens'],
    ['Api::V1Alpha::AsyncRefreshesController', 'api/v1_alpha/async_refreshes'],
    ['Api::OEmbedController', 'api/oembed'],
  ])('%s compares equal to %s', (logged, table) => {
    expect(controllerKey(logged)).toBe(controllerKey(table));
  });
});

describe('scopesForRoutes', () => {
  it('returns the any-of scope list of each observed route, once, and lists unknown routes', () => {
    const out = scopesForRoutes(matcher, [
      'GET /api/v1/timelines/home',
      { route: 'GET /api/v1/timelines/home', server: 'rails' },
      'POST /api/v1/statuses',
      { route: 'GET /api/v1/streaming/user', server: 'streaming' },
      'GET /api/v9/nothing',
    ]);
    expect(out.required).toEqual([
      { route: 'GET /api/v1/timelines/home', server: 'rails', scopes: ['read', 'read:statuses'], token: 'required' },
      { route: 'POST /api/v1/statuses', server: 'rails', scopes: ['write', 'write:statuses'], token: 'required' },
      { route: 'GET /api/v1/streaming/user', server: 'streaming', scopes: ['read', 'read:statuses'], token: 'required' },
    ]);
    expect(out.unknown).toEqual(['GET /api/v9/nothing']);
  });
});
