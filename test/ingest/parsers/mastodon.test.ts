import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isParseError, type Event, type ParseError } from '../../../src/core/event.js';
import { createFingerprinter, fingerprint } from '../../../src/core/fingerprint.js';
import { parseMastodon } from '../../../src/ingest/parsers/mastodon/index.js';

const PEPPER = 'test-pepper-0123456789abcdef';
const TOKEN = 'Zm9vYmFyYmF6cXV4LXRva2VuLXZhbHVlLTEyMzQ1Njc4';
const ctx = { fingerprint: createFingerprinter(PEPPER), origin: '' };
const lines = readFileSync(new URL('../../fixtures/logs/mastodon-sample.log', import.meta.url), 'utf8').split('\n');
const PREFIX = 'I, [2026-11-02T14:03:05.101234 #12]  INFO -- : ';

function ok(line: string): Event {
  const r = parseMastodon(line, ctx);
  if (isParseError(r)) throw new Error(`unexpected ${r.reason}: ${r.message}`);
  return r;
}

describe('mastodon parser', () => {
  it('maps a lograge request line (32-hex request id)', () => {
    expect(ok(lines[0] as string)).toEqual({
      '@timestamp': '2026-11-02T14:03:05.101Z',
      'event.id': expect.stringMatching(/^[\w-]{22}$/),
      'event.dataset': 'mastodon',
      'http.request.id': '4f1c0e8a9b2d4c6e8f0a1b2c3d4e5f60',
      'http.request.method': 'GET',
      'url.path': '/api/v1/timelines/home',
      'mastodon.controller': 'Api::V1::Timelines::HomeController',
      'mastodon.action': 'show',
      'http.response.status_code': 200,
      'mastodon.duration_ms': 84.31,
      'mastodon.db_ms': 30.55,
      'mastodon.view_ms': 12.01,
      'event.duration': 84_310_000,
    });
  });

  it('accepts a UUID request id (Rails generated it)', () => {
    expect(ok(lines[1] as string)['http.request.id']).toBe('6b1f0c2e-4a7d-4f55-9a0e-2d3c8e1b7a90');
  });

  it('reads a single-quoted error value containing quotes, with no status', () => {
    const e = ok(lines[3] as string);
    expect(e['http.response.status_code']).toBeUndefined();
    expect(e['mastodon.action']).toBe('show');
    expect(e['mastodon.duration_ms']).toBe(7.25);
    expect(e['mastodon.db_ms']).toBe(1.12);
  });

  it('shares the event id of the proxy line of the same request', () => {
    expect(ok(lines[0] as string)['event.id']).toBe(ok(`${PREFIX}[4f1c0e8a9b2d4c6e8f0a1b2c3d4e5f60] method=GET path=/x`)['event.id']);
  });

  it('reads a Rack::Attack line: client, request, 429, and fingerprints + redacts the query token', () => {
    const line = `${PREFIX}[9e5f0e8a9b2d4c6e8f0a1b2c3d4e5f64] Rate limit hit (throttle): 198.51.100.77 GET /api/v1/timelines/public?local=true&access_token=${TOKEN}`;
    const e = ok(line);
    expect(e).toMatchObject({
      'source.ip': '198.51.100.77', 'http.request.method': 'GET', 'url.path': '/api/v1/timelines/public',
      'url.query': 'local=true&access_token=[REDACTED]', 'http.response.status_code': 429,
      'mastodon.controller': 'Rack::Attack', 'mastodon.action': 'throttle',
      'tuskguard.fingerprint': fingerprint(PEPPER, TOKEN),
    });
    expect(JSON.stringify(e)).not.toContain(TOKEN);
  });

  it('reads a Rack::Attack blocklist line as 403 (IPv6 client, no request id)', () => {
    const e = ok('I, [2026-11-02T14:03:05.000000 #1]  INFO -- : Rate limit hit (blocklist): 2001:db8::7 POST /api/v1/statuses');
    expect(e).toMatchObject({ 'source.ip': '2001:db8::7', 'http.response.status_code': 403, 'mastodon.action': 'blocklist' });
    expect(e['http.request.id']).toBeUndefined();
  });

  it.each([
    ['a warning', lines[6] as string, 'not-a-request'],
    ['no Logger prefix', lines[7] as string, 'no-match'],
    ['an empty method=', `${PREFIX}[abc] method= path=/x status=200`, 'missing-field'],
    ['a line not starting with method=', `${PREFIX}[abc] path=/x status=200`, 'not-a-request'],
    ['no path=', `${PREFIX}[abc] method=GET status=200`, 'missing-field'],
    ['a non-numeric status', `${PREFIX}[abc] method=GET path=/x status=ok`, 'wrong-type'],
    ['a non-numeric duration', `${PREFIX}[abc] method=GET path=/x duration=fast`, 'wrong-type'],
    ['text between pairs', `${PREFIX}[abc] method=GET path=/x oops status=200`, 'no-match'],
    ['a bad Rack::Attack line', `${PREFIX}Rate limit hit (throttle): nobody`, 'no-match'],
    ['a bad time', 'I, [2026-13-45T99:03:05.1 #1]  INFO -- : method=GET path=/x', 'invalid-time'],
    ['70 kB', `${PREFIX}method=GET path=/${'a'.repeat(70_000)}`, 'line-too-long'],
  ])('rejects a line with %s', (_name, line, reason) => {
    expect(parseMastodon(line, ctx)).toMatchObject({ kind: 'parse-error', reason });
  });

  const q = "'";
  it.each([
    ['colons after the level', 'I, [2026-08-21T09:12:03.481220 #17]  INFO -- ' + ':'.repeat(10_000), 'no-match'],
    ['an unclosed tag', `${PREFIX}[` + 'a'.repeat(10_000), 'not-a-request'],
    ['a value of quotes', `${PREFIX}method=` + q.repeat(10_000), 'missing-field'],
    ['quote-space runs', `${PREFIX}method=GET error=` + `${q} a`.repeat(3_400), 'missing-field'],
    ['quote-space-key runs', `${PREFIX}method=GET error=` + `${q} a_`.repeat(2_500), 'missing-field'],
    ['a huge key', `${PREFIX}method=GET ` + 'a'.repeat(10_000), 'no-match'],
    ['a Rack::Attack line of spaces', `${PREFIX}Rate limit hit (throttle): ` + '1 '.repeat(5_000), 'no-match'],
    ['an unclosed prefix', 'I, [2026-08-21T09:12:03.481220 #17' + ' '.repeat(10_000), 'no-match'],
    ['repeated times', 'I, [' + '2026-08-21T09:12:03'.repeat(530), 'no-match'],
  ])('handles a 10 kB hostile line (%s) quickly', (_name, line, outcome) => {
    expect(line.length).toBeGreaterThanOrEqual(10_000);
    const r = parseMastodon(line, ctx);
    expect(isParseError(r) ? (r as ParseError).reason : 'event').toBe(outcome);
  }, 1_000);
});
