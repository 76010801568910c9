import { describe, expect, it } from 'vitest';
import { isParseError, type Event, type ParseError } from '../../../src/core/event.js';
import { createFingerprinter, fingerprint } from '../../../src/core/fingerprint.js';
import { parseNginxJson } from '../../../src/ingest/parsers/nginx-json/index.js';

const PEPPER = 'test-pepper-0123456789abcdef';
const TOKEN = 'Zm9vYmFyYmF6cXV4LXRva2VuLXZhbHVlLTEyMzQ1Njc4';
const ctx = { fingerprint: createFingerprinter(PEPPER), origin: 'file:/var/log/nginx/access.json' };

const BASE = {
  ts: '2026-11-02T14:03:05+00:00',
  msec: 1793628185.123,
  ip: '203.0.113.7',
  xff: '',
  rid: '4f1c0e8a9b2d4c6e8f0a1b2c3d4e5f60',
  host: 'social.example',
  method: 'GET',
  uri: '/api/v1/timelines/home?limit=40',
  status: 200,
  bytes: 18231,
  rt: 0.084,
  ua: 'Tusky/25.2 Android/14',
  fp: '9b1f3e0c2a7d4b6e8f0a1c3e5d7b9f21',
};

function parse(fields: Record<string, unknown>): Event | ParseError {
  return parseNginxJson(JSON.stringify(fields), ctx);
}

function ok(fields: Record<string, unknown>): Event {
  const r = parse(fields);
  if (isParseError(r)) throw new Error(`unexpected ${r.reason}: ${r.message}`);
  return r;
}

describe('nginx-json parser', () => {
  it('maps every field of the documented line', () => {
    expect(ok(BASE)).toEqual({
      '@timestamp': '2026-11-02T14:03:05.123Z',
      'event.id': expect.stringMatching(/^[\w-]{22}$/),
      'event.dataset': 'nginx-json',
      'source.ip': '203.0.113.7',
      'http.request.method': 'GET',
      'url.path': '/api/v1/timelines/home',
      'url.query': 'limit=40',
      'http.response.status_code': 200,
      'http.request.id': '4f1c0e8a9b2d4c6e8f0a1b2c3d4e5f60',
      'tuskguard.fingerprint': '9b1f3e0c2a7d4b6e8f0a1c3e5d7b9f21',
      'url.domain': 'social.example',
      'http.response.body.bytes': 18231,
      'event.duration': 84_000_000,
      'user_agent.original': 'Tusky/25.2 Android/14',
      'log.file.path': 'file:/var/log/nginx/access.json',
    });
  });

  it('uses msec as the event time, and ts only when msec is absent', () => {
    expect(ok({ ...BASE, ts: '2000-01-01T00:00:00+00:00' })['@timestamp']).toBe('2026-11-02T14:03:05.123Z');
    const { msec: _unused, ...noMsec } = BASE;
    expect(ok({ ...noMsec, ts: '2026-11-02T15:03:05+01:00' })['@timestamp']).toBe('2026-11-02T14:03:05.000Z');
  });

  it('takes the first X-Forwarded-For address as client.ip', () => {
    expect(ok({ ...BASE, xff: '198.51.100.9, 10.0.0.2' })['client.ip']).toBe('198.51.100.9');
    expect(ok(BASE)['client.ip']).toBeUndefined();
  });

  it('reads an empty fp as "no token", and has no query when the uri has none', () => {
    const e = ok({ ...BASE, fp: '', uri: '/about' });
    expect(e['tuskguard.fingerprint']).toBeUndefined();
    expect(e['url.path']).toBe('/about');
    expect(e['url.query']).toBeUndefined();
  });

  it('redacts an access_token the njs module missed, fingerprinting it, and never keeps it', () => {
    const line = JSON.stringify({ ...BASE, fp: '', uri: `/api/v1/streaming?stream=user&access_token=${TOKEN}` });
    const e = parseNginxJson(line, ctx) as Event;
    expect(e['url.query']).toBe('stream=user&access_token=[REDACTED]');
    expect(e['tuskguard.fingerprint']).toBe(fingerprint(PEPPER, TOKEN));
    expect(JSON.stringify(e)).not.toContain(TOKEN);
  });

  it('never quotes the line in an invalid-json message (it may hold a token)', () => {
    for (const line of [`not json ${TOKEN}`, `{"uri":"/?access_token=${TOKEN}" oops}`, `{"uri":"${TOKEN}`]) {
      const r = parseNginxJson(line, ctx) as ParseError;
      expect(r.reason).toBe('invalid-json');
      expect(r.message).not.toContain(TOKEN);
      expect(r.message).not.toContain('json ');
    }
  });

  it('ignores unknown extra fields', () => {
    expect(ok({ ...BASE, upstream: '10.0.0.5:3000', extra: { nested: [1] } })['url.path']).toBe('/api/v1/timelines/home');
  });

  it('gives the same event id for the same request id, whatever else differs', () => {
    expect(ok(BASE)['event.id']).toBe(ok({ ...BASE, status: 502, ip: '198.51.100.1' })['event.id']);
  });

  it('gives identical lines without a request id distinct ids by duplicate index', () => {
    const line = JSON.stringify({ ...BASE, rid: '' });
    const a = parseNginxJson(line, { ...ctx, duplicateIndex: 0 }) as Event;
    const b = parseNginxJson(line, { ...ctx, duplicateIndex: 1 }) as Event;
    const c = parseNginxJson(line, { ...ctx, origin: 'http-push:edge', duplicateIndex: 0 }) as Event;
    expect(a['event.id']).not.toBe(b['event.id']);
    expect(c['event.id']).toBe(a['event.id']);
  });

  it.each([
    ['status', '200', 'wrong-type'],
    ['status', null, 'missing-field'],
    ['bytes', '18231', 'wrong-type'],
    ['rt', 'fast', 'wrong-type'],
    ['msec', '1793628185.123', 'wrong-type'],
    ['ip', 42, 'wrong-type'],
    ['ip', 'not-an-ip', 'wrong-type'],
    ['method', ['GET'], 'wrong-type'],
    ['uri', undefined, 'missing-field'],
    ['ua', { a: 1 }, 'wrong-type'],
    ['fp', 'ABCDEF', 'wrong-type'],
  ])('rejects %s = %j as %s, naming the field', (field, value, reason) => {
    const r = parse({ ...BASE, [field]: value });
    expect(r).toMatchObject({ kind: 'parse-error', reason });
    expect((r as ParseError).message).toContain(field);
  });

  it.each([
    ['text', 'not json', 'invalid-json'],
    ['an array', '[1,2]', 'invalid-json'],
    ['a string', '"a string"', 'invalid-json'],
    ['only an ip', '{"ip":"203.0.113.7"}', 'missing-field'],
    ['a bad ts', JSON.stringify({ ...BASE, msec: undefined, ts: 'yesterday' }), 'invalid-time'],
    ['a huge msec', JSON.stringify({ ...BASE, msec: 1e300 }), 'invalid-time'],
    ['70 kB', '{"a":"' + 'x'.repeat(70_000) + '"}', 'line-too-long'],
  ])('rejects a line of %s', (_name, line, reason) => {
    expect(parseNginxJson(line, ctx)).toMatchObject({ kind: 'parse-error', reason });
  });

  it.each([
    ['deep nesting', '{"a":' + '['.repeat(10_000), 'invalid-json'],
    ['quotes', '"'.repeat(10_000), 'invalid-json'],
    ['token-shaped uri', JSON.stringify({ ...BASE, uri: '/?' + '&access_token='.repeat(700) }), 'event'],
  ])('handles a 10 kB hostile line (%s) quickly', (_name, line, outcome) => {
    expect(line.length).toBeGreaterThanOrEqual(10_000);
    const r = parseNginxJson(line, ctx);
    expect(isParseError(r) ? r.reason : 'event').toBe(outcome);
  }, 1_000);
});
