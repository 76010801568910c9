import { describe, expect, it } from 'vitest';
import { compileFilter, regexProblem } from '../../src/detect/filter.js';
import { StaticKeyLookup } from '../../src/detect/keys.js';
import { ev } from './helpers.js';

const e = ev('2026-11-02T14:03:05.123Z', {
  'source.ip': '203.0.113.7',
  'http.request.method': 'GET',
  'url.path': '/api/v1/admin/accounts/12',
  'http.response.status_code': 403,
  'mastodon.required_scopes': ['admin:read', 'admin:read:accounts'],
  'tuskguard.fingerprint': 'a'.repeat(32),
  'tuskguard.key_id': null,
  'user_agent.original': 'Tusky/25.2 Android/14',
});

function matches(spec: unknown, event = e, keys?: StaticKeyLookup): boolean {
  const { predicate, issues } = compileFilter(spec);
  expect(issues).toEqual([]);
  return predicate(event, { keys });
}

describe('filter language', () => {
  it.each([
    [{ 'http.response.status_code': 403 }, true],
    [{ 'http.response.status_code': 401 }, false],
    [{ 'http.response.status_code': [401, 403] }, true],
    [{ 'http.response.status_code': { range: { gte: 400, lt: 500 } } }, true],
    [{ 'http.response.status_code': { range: { gt: 403 } } }, false],
    [{ 'url.path': { prefix: ['/api/v2/admin/', '/api/v1/admin/'] } }, true],
    [{ 'url.path': { regex: '^/api/v1/admin/accounts/\\d+$' } }, true],
    [{ 'source.ip': { cidr: '203.0.113.0/24' } }, true],
    [{ 'source.ip': { cidr: ['10.0.0.0/8', '2001:db8::/32'] } }, false],
    [{ 'tuskguard.key_id': { exists: false } }, true],
    [{ 'tuskguard.fingerprint': { exists: true } }, true],
    [{ 'mastodon.required_scopes': 'admin:read:accounts' }, true],
    [{ 'mastodon.required_scopes': { prefix: 'write' } }, false],
    [{ 'mastodon.scope': 'admin:read:accounts' }, true],
    [{ 'user_agent.name': 'Tusky' }, true],
    [{ 'source.network': '203.0.113.0/24' }, true],
    [{ 'source.network_16': '203.0.0.0/16' }, true],
    [{ 'event.hour_of_day': 14 }, true],
    [{ 'event.hour_of_week': 14 }, true],
    [{ 'http.request.kind': 'read' }, true],
    [{ 'mastodon.endpoint_group': 'GET admin/accounts' }, false],
    [{ any: [{ 'http.response.status_code': 401 }, { 'http.request.method': 'GET' }] }, true],
    [{ all: [{ 'http.response.status_code': 403 }, { 'http.request.method': 'POST' }] }, false],
    [{ not: { 'http.request.method': ['POST', 'PUT'] } }, true],
    [{ 'http.response.status_code': 403, 'http.request.method': 'POST' }, false],
  ])('%j → %s', (spec, want) => {
    expect(matches(spec)).toBe(want);
  });

  it('derives the endpoint group from the route', () => {
    const routed = { ...e, 'mastodon.route': 'GET /api/v1/admin/accounts/:id' };
    expect(matches({ 'mastodon.endpoint_group': 'GET admin/accounts' }, routed)).toBe(true);
  });

  it('reads key status and granted scopes from the injected inventory', () => {
    const keys = new StaticKeyLookup([{ fingerprint: 'a'.repeat(32), keyId: 'bot', status: 'revoked', scopes: ['read'] }]);
    expect(matches({ 'tuskguard.key_status': 'revoked' }, e, keys)).toBe(true);
    expect(matches({ 'tuskguard.scope_granted': false }, e, keys)).toBe(true);
    expect(matches({ 'tuskguard.key_id': 'bot' }, e, keys)).toBe(true);
    expect(matches({ 'tuskguard.key_status': { exists: true } }, e)).toBe(false);
  });

  it.each([
    [{ 'no.such.field': 1 }, ['no.such.field'], /unknown field/],
    [{ 'http.response.status_code': '403' }, ['http.response.status_code', 'equals'], /expected a number/],
    [{ 'http.response.status_code': { between: [1, 2] } }, ['http.response.status_code', 'between'], /unknown operator/],
    [{ 'url.path': { range: { gt: 1 } } }, ['url.path', 'range'], /number field/],
    [{ 'url.path': { cidr: '10.0.0.0/8' } }, ['url.path', 'cidr'], /IP field/],
    [{ 'source.ip': { cidr: '10.0.0.0/33' } }, ['source.ip', 'cidr'], /prefix length/],
    [{ 'url.path': { regex: '(a+)+$' } }, ['url.path', 'regex'], /nested quantifiers/],
    [{ any: [] }, ['any'], /non-empty list/],
    [{ not: { 'url.path': { exists: 'yes' } } }, ['not', 'url.path', 'exists'], /true or false/],
    [{}, [], /empty filter/],
  ])('rejects %j at its path', (spec, path, message) => {
    const { issues } = compileFilter(spec);
    expect(issues[0]?.path).toEqual(path);
    expect(issues[0]?.message).toMatch(message);
  });

  it('refuses dangerous or oversized regexes', () => {
    expect(regexProblem('x'.repeat(257))).toMatch(/longer than/);
    expect(regexProblem('(\\w+)\\1')).toMatch(/back-references/);
    expect(regexProblem('(a*)*b')).toMatch(/nested/);
    expect(regexProblem('([a-z]{1,}){2,}')).toMatch(/nested/);
    expect(regexProblem('[')).toMatch(/invalid regex/);
    expect(regexProblem('^/api/v1/(statuses|accounts)/\\d+$')).toBeUndefined();
  });

  it('matches a 10 kB hostile value quickly and only on its first 8 kB', () => {
    const hostile = 'a'.repeat(10_240) + '!';
    const { predicate } = compileFilter({ 'user_agent.original': { regex: '^a+[^a]$' } });
    const start = performance.now();
    const hit = predicate({ ...e, 'user_agent.original': hostile }, {});
    expect(performance.now() - start).toBeLessThan(1_000);
    expect(hit).toBe(false); // the `!` lies past the 8,192 characters the regex sees
  });
});
