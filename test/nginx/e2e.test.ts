import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { isParseError, type Event } from '../../src/core/event.js';
import { fingerprint } from '../../src/core/fingerprint.js';
import { getParser } from '../../src/ingest/parsers/registry.js';
import { describeWithNginx, findSecrets, startNginx, type RunningNginx } from '../helpers/nginx.js';
import { rawHttp, rawRequest, startEchoUpstream, type EchoUpstream } from './support.js';

/**
 * Real nginx + the shipped snippet and njs module in front of a local upstream: the access log
 * is `nginx-json` that tuskguard's own parser reads, `fp` is tuskguard's fingerprint of the
 * token, `rid` is the id Mastodon would log, and no token or pepper lands on disk.
 */

const PEPPER = randomBytes(32).toString('hex');
const token = (name: string) => `${name}-${randomBytes(24).toString('base64url')}`;
const TOKENS = {
  bearer: token('bearer'),
  query: token('query'),
  form: token('form'),
  streaming: token('streaming'),
  malformed: token('malformed'),
};

interface Case {
  name: string;
  send: (n: RunningNginx) => Promise<number>;
  /** The token whose fingerprint `fp` must be; undefined: `fp` is "". */
  token?: string;
  /** The `uri` field nginx must log. */
  uri: string;
}

const get = (path: string, headers: Record<string, string> = {}) => (n: RunningNginx) =>
  fetch(`${n.url}${path}`, { headers }).then(async (r) => (await r.arrayBuffer(), r.status));

const CASES: Case[] = [
  {
    name: 'Bearer header',
    send: get('/api/v1/timelines/home?limit=40', { Authorization: `Bearer ${TOKENS.bearer}` }),
    token: TOKENS.bearer,
    uri: '/api/v1/timelines/home?limit=40',
  },
  {
    name: 'access_token query parameter',
    send: get(`/api/v1/accounts/verify_credentials?access_token=${TOKENS.query}`),
    token: TOKENS.query,
    uri: '/api/v1/accounts/verify_credentials?access_token=[REDACTED]',
  },
  {
    name: 'access_token form parameter of a POST',
    send: (n) =>
      fetch(`${n.url}/api/v1/statuses`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: `status=hello&access_token=${TOKENS.form}&visibility=public`,
      }).then(async (r) => (await r.arrayBuffer(), r.status)),
    token: TOKENS.form,
    uri: '/api/v1/statuses',
  },
  {
    name: 'streaming API with the token in the query',
    send: get(`/api/v1/streaming?access_token=${TOKENS.streaming}&stream=user`),
    token: TOKENS.streaming,
    uri: '/api/v1/streaming?access_token=[REDACTED]&stream=user',
  },
  { name: 'no token', send: get('/api/v1/instance'), uri: '/api/v1/instance' },
  {
    name: 'malformed Authorization (no scheme separator)',
    send: get('/api/v1/notifications', { Authorization: `Bearer${TOKENS.malformed}` }),
    uri: '/api/v1/notifications',
  },
  {
    name: 'malformed Authorization (scheme only, odd whitespace)',
    send: (n) => rawRequest(n.port, rawHttp('/api/v1/notifications', ['Authorization: \t Bearer \t '])),
    uri: '/api/v1/notifications',
  },
  {
    name: 'client-chosen X-Request-Id is replaced',
    send: get('/api/v1/instance?x=1', { 'X-Request-Id': 'chosen-by-client' }),
    uri: '/api/v1/instance?x=1',
  },
];

describeWithNginx('nginx + tuskguard njs module, end to end', () => {
  let upstream: EchoUpstream;
  let nginx: RunningNginx;
  const lines: string[] = [];

  beforeAll(async () => {
    upstream = await startEchoUpstream();
    nginx = await startNginx({ upstream: upstream.url, pepper: PEPPER });
    // One at a time, so log line i belongs to case i and upstream request i to the same case.
    for (const [i, c] of CASES.entries()) {
      expect(await c.send(nginx), c.name).toBe(200);
      lines.splice(0, lines.length, ...(await nginx.accessLines(i + 1)));
    }
  });

  afterAll(async () => {
    await nginx?.stop();
    await upstream?.close();
  });

  it('writes one access-log line per request', () => {
    expect(lines).toHaveLength(CASES.length);
    expect(upstream.seen).toHaveLength(CASES.length);
  });

  it.each(CASES.map((c, i) => [c.name, i] as const))('%s: the line parses as nginx-json', (_name, i) => {
    const event = parse(lines[i]!);
    expect(event['event.dataset']).toBe('nginx-json');
    expect(event['source.ip']).toBe('127.0.0.1');
    expect(event['http.response.status_code']).toBe(200);
  });

  it.each(CASES.map((c, i) => [c.name, i] as const))('%s: fields match LOG-FORMAT.md §1', (_name, i) => {
    const c = CASES[i]!;
    const o = JSON.parse(lines[i]!) as Record<string, unknown>;
    expect(Object.keys(o)).toEqual(['ts', 'msec', 'ip', 'xff', 'rid', 'host', 'method', 'uri', 'status', 'bytes', 'rt', 'ua', 'fp']);
    for (const field of ['msec', 'status', 'bytes', 'rt']) expect(typeof o[field], field).toBe('number');
    expect(o.ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$/);
    expect(o.uri).toBe(c.uri);
    expect(o.fp).toBe(c.token === undefined ? '' : fingerprint(PEPPER, c.token));
  });

  it.each(CASES.map((c, i) => [c.name, i] as const))('%s: rid is the X-Request-Id the upstream saw', (_name, i) => {
    const event = parse(lines[i]!);
    expect(event['http.request.id']).toMatch(/^[0-9a-f]{32}$/);
    expect(upstream.seen[i]!.requestId).toBe(event['http.request.id']);
  });

  it('gives the parser the fingerprint, not a token', () => {
    const events = lines.map(parse);
    const withFp = events.filter((e) => e['tuskguard.fingerprint'] !== undefined);
    expect(withFp.map((e) => e['tuskguard.fingerprint'])).toEqual(
      CASES.filter((c) => c.token).map((c) => fingerprint(PEPPER, c.token!)),
    );
    expect(events[1]!['url.query']).toBe('access_token=[REDACTED]');
  });

  it('passes the body through to the upstream untouched', () => {
    expect(upstream.seen[2]!.body).toContain(`access_token=${TOKENS.form}`);
  });

  it('leaves no token and no pepper in the access log, the error log or the temp dirs', async () => {
    await nginx.stop({ keep: true }); // flush and close everything nginx writes
    const secrets = { ...TOKENS, pepper: PEPPER };
    expect(await findSecrets([nginx.accessLog, nginx.errorLog, nginx.tempDir], secrets)).toEqual([]);
    // The scan can fail: the pepper file nginx read is in the prefix, and it is found there.
    expect(await findSecrets([nginx.prefix], { pepper: PEPPER })).toHaveLength(1);
  });
});

function parse(line: string): Event {
  const result = getParser('nginx-json').parse(line, { fingerprint: null, origin: 'file:access.log' });
  if (isParseError(result)) throw new Error(`nginx-json rejected the line: ${result.reason}: ${result.message}`);
  return result;
}
