import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isParseError, type Event, type ParseError } from '../../../src/core/event.js';
import { createFingerprinter, fingerprint } from '../../../src/core/fingerprint.js';
import { parseCombined } from '../../../src/ingest/parsers/combined/index.js';

const PEPPER = 'test-pepper-0123456789abcdef';
const TOKEN = 'Zm9vYmFyYmF6cXV4LXRva2VuLXZhbHVlLTEyMzQ1Njc4';
const ctx = { fingerprint: createFingerprinter(PEPPER), origin: '' };
const fixture = (name: string) =>
  readFileSync(new URL(`../../fixtures/logs/${name}`, import.meta.url), 'utf8').split('\n').filter((l) => l !== '');

function ok(line: string): Event {
  const r = parseCombined(line, ctx);
  if (isParseError(r)) throw new Error(`unexpected ${r.reason}: ${r.message}`);
  return r;
}

describe('combined parser on the 10k-line Apache corpus', () => {
  const lines = fixture('apache-combined-10k.log');

  it('parses every one of the 10,000 lines', () => {
    expect(lines).toHaveLength(10_000);
    const rejected = lines.map((l, i) => [i + 1, parseCombined(l, ctx)] as const).filter(([, r]) => isParseError(r));
    expect(rejected).toEqual([]);
  });

  it.each([
    [1, { '@timestamp': '2015-05-17T10:05:03.000Z', 'source.ip': '83.149.9.216', 'http.request.method': 'GET',
      'url.path': '/presentations/logstash-monitorama-2013/images/kibana-search.png', 'http.version': '1.1',
      'http.response.status_code': 200, 'http.response.body.bytes': 203023,
      'http.request.referrer': 'http://semicomplete.com/presentations/logstash-monitorama-2013/',
      'user_agent.original': 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/32.0.1700.77 Safari/537.36' }],
    [32, { 'url.path': '/blog/tags/puppet', 'url.query': 'flav=rss20', 'user_agent.original': 'Tiny Tiny RSS/1.11 (http://tt-rss.org/)' }],
    [63, { 'http.response.status_code': 404, 'http.response.body.bytes': 294, 'url.query': 'org/elasticsearch/action/search/SearchResponse.html' }],
    [77, { 'http.response.body.bytes': 0, 'url.path': '/robots.txt' }],
    [688, { 'http.request.method': 'HEAD', 'url.path': '/projects/xdotool/', 'source.ip': '89.170.74.95' }],
    // The corpus's one line whose user-agent quote was cut off.
    [8899, { '@timestamp': '2015-05-20T12:05:17.000Z', 'user_agent.original': 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html' }],
  ])('line %i has the right fields', (n, fields) => {
    const event = ok(lines[n - 1] as string);
    expect(event['event.dataset']).toBe('combined');
    expect(event).toMatchObject(fields);
  });

  it('leaves out a "-" referrer', () => {
    expect(ok(lines[76] as string)).not.toHaveProperty(['http.request.referrer']);
  });

  it('gives distinct ids to distinct lines', () => {
    const ids = new Set(lines.map((l) => ok(l)['event.id']));
    expect(ids.size).toBe(new Set(lines).size);
  });
});

describe('combined parser edge cases', () => {
  const edge = fixture('combined-edge.log');

  it('reads the offset time, HTTP/2.0 and trailing rid= / rt=', () => {
    expect(ok(edge[0] as string)).toMatchObject({
      '@timestamp': '2026-11-02T14:03:05.000Z', 'http.version': '2.0', 'url.query': 'limit=40',
      'http.request.id': '4f1c0e8a9b2d4c6e8f0a1b2c3d4e5f60', 'event.duration': 84_000_000,
    });
  });

  it('reads a quoted "rid=…" and skips a bare quoted value', () => {
    const e = ok(edge[1] as string);
    expect(e['http.request.id']).toBe('5a2b0e8a9b2d4c6e8f0a1b2c3d4e5f61');
    expect(e['event.duration']).toBeUndefined();
    expect(e['http.request.referrer']).toBe('https://social.example/home');
  });

  it.each([
    [2, 'request "-"', { 'http.response.status_code': 400, 'http.response.body.bytes': 0 }],
    [3, 'binary junk', { 'http.response.status_code': 400, 'http.response.body.bytes': 157 }],
  ])('keeps line %i (%s) as an event without method or path', (i, _name, fields) => {
    const e = ok(edge[i] as string);
    expect(e).toMatchObject(fields);
    expect(e['http.request.method']).toBeUndefined();
    expect(e['url.path']).toBeUndefined();
  });

  it('reads a request line without protocol, and "-" bytes as 0', () => {
    expect(ok(edge[4] as string)).toMatchObject({ 'http.request.method': 'GET', 'url.path': '/api/v1/instance', 'http.response.body.bytes': 0 });
    expect(ok(edge[4] as string)['http.version']).toBeUndefined();
  });

  it('reads an absolute-form target into domain and path', () => {
    expect(ok(edge[5] as string)).toMatchObject({ 'url.domain': 'social.example', 'url.path': '/api/v2/instance' });
  });

  it('reads IPv6 clients, fp= and request_time=', () => {
    expect(ok(edge[6] as string)).toMatchObject({
      'source.ip': '2001:db8:1234:5678::9', 'tuskguard.fingerprint': '0123456789abcdef0123456789abcdef', 'event.duration': 1_500_000_000,
    });
  });

  it('reads the common format (no referrer or user agent) and OPTIONS *', () => {
    expect(ok(edge[7] as string)).toMatchObject({ 'http.response.status_code': 404, 'url.path': '/favicon.ico' });
    expect(ok(edge[8] as string)).toMatchObject({ 'http.request.method': 'OPTIONS' });
    expect(ok(edge[8] as string)['url.path']).toBeUndefined();
  });

  it('fingerprints and redacts an access_token in the query and the referrer; the raw token never reaches the event', () => {
    const line = `203.0.113.9 - - [02/Nov/2026:14:03:05 +0000] "GET /api/v1/streaming/user?access_token=${TOKEN} HTTP/1.1" 200 5 "https://x.example/?access_token=${TOKEN}" "curl/8"`;
    const e = ok(line);
    expect(e['url.query']).toBe('access_token=[REDACTED]');
    expect(e['tuskguard.fingerprint']).toBe(fingerprint(PEPPER, TOKEN));
    expect(e['http.request.referrer']).toBe('https://x.example/?access_token=[REDACTED]');
    expect(JSON.stringify(e)).not.toContain(TOKEN);
    // The id is not derived from the raw line either: the same line with another token gets the same id.
    expect(ok(line.replaceAll(TOKEN, 'b'.repeat(43)))['event.id']).toBe(e['event.id']);
  });

  it.each([
    ['garbage', 'garbage', 'no-match'],
    ['a non-numeric status', '203.0.113.7 - - [02/Nov/2026:14:03:05 +0000] "GET / HTTP/1.1" abc 1', 'no-match'],
    ['a bad time', '203.0.113.7 - - [yesterday] "GET / HTTP/1.1" 200 1', 'invalid-time'],
    ['a host name for an address', 'host.example - - [02/Nov/2026:14:03:05 +0000] "GET / HTTP/1.1" 200 1', 'wrong-type'],
    ['a bad fp=', '203.0.113.7 - - [02/Nov/2026:14:03:05 +0000] "GET / HTTP/1.1" 200 1 "-" "-" fp=XYZ', 'wrong-type'],
    ['a 70 kB line', '203.0.113.7 - - [02/Nov/2026:14:03:05 +0000] "GET / HTTP/1.1" 200 1 "-" "' + 'a'.repeat(70_000) + '"', 'line-too-long'],
  ])('rejects a line with %s', (_name, line, reason) => {
    expect(parseCombined(line, ctx)).toMatchObject({ kind: 'parse-error', reason });
  });

  const PRE = '1.2.3.4 - - [17/May/2015:10:05:03 +0000] ';
  it.each([
    ['backslashes in the request', PRE + '"' + '\\'.repeat(10_000), 'no-match'],
    ['escaped quotes in the request', PRE + '"' + '\\"'.repeat(5_000), 'no-match'],
    ['unterminated referrer of escapes', PRE + '"GET / HTTP/1.1" 200 1 "' + '\\"'.repeat(5_000), 'event'],
    ['user agent ending in backslashes', PRE + '"GET / HTTP/1.1" 200 1 "-" "' + 'a\\'.repeat(5_000), 'event'],
    ['a tail of quotes', PRE + '"GET / HTTP/1.1" 200 1 "-" "x" ' + '"'.repeat(10_000), 'event'],
    ['a tail of key=', PRE + '"GET / HTTP/1.1" 200 1 "-" "x" ' + 'a='.repeat(5_000), 'event'],
    ['an unclosed time', '1.2.3.4 - - [' + 'a'.repeat(10_000), 'no-match'],
    ['spaces', ' '.repeat(10_000), 'no-match'],
    ['a huge request line', PRE + '"' + 'GET '.repeat(2_500) + '" 200 1', 'event'],
    ['a 10 kB method token', PRE + '"' + 'A'.repeat(10_000) + ' /x HTTP/1.1" 200 1', 'event'],
    ['a 10 kB protocol token', PRE + '"GET /x HTTP/' + '1.'.repeat(5_000) + '" 200 1', 'event'],
    ['a 10 kB absolute target', PRE + '"GET http://' + 'h'.repeat(10_000) + ' HTTP/1.1" 200 1', 'event'],
  ])('handles a 10 kB hostile line (%s) quickly', (_name, line, outcome) => {
    expect(line.length).toBeGreaterThanOrEqual(10_000);
    const r = parseCombined(line, ctx);
    expect(isParseError(r) ? (r as ParseError).reason : 'event').toBe(outcome);
  }, 1_000);
});
