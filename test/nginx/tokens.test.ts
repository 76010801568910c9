import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fingerprint } from '../../src/core/fingerprint.js';
import { describeWithNginx, findSecrets, startNginx, type RunningNginx } from '../helpers/nginx.js';
import { rawHttp, rawRequest, startEchoUpstream, type EchoUpstream } from './support.js';

/**
 * Where the njs module finds a token, which one wins, and how `uri` is redacted — edge cases
 * sent through real nginx, each checked on its access-log line, then a scan for leaks.
 */

const PEPPER = `pépper-${randomBytes(16).toString('hex')}`; // non-ASCII: HMAC key is UTF-8 on both sides
const tk = (name: string, bytes = 24) => `${name}${randomBytes(bytes).toString('base64url')}`;
const T = {
  ws1: tk('ws1'), ws2: tk('ws2'), ws3: tk('ws3'), long: tk('long', 3000), huge: tk('huge', 9000),
  dupA: tk('dupA'), dupB: tk('dupB'), pctName: tk('pctName'), upper: tk('upper'), semi: tk('semi'),
  bearerParam: tk('bearerParam'), header: tk('header'), query: tk('query'), body: tk('body'),
  json: tk('json'), charset: tk('charset'), big: tk('big'), plain: tk('plain'), wsProto: tk('wsProto'),
  wsOther: tk('wsOther'), basicQ: tk('basicQ'), dupHdrA: tk('dupHdrA'), dupHdrB: tk('dupHdrB'),
  array: tk('array'), put: tk('put'), hidden1: tk('hidden1'), hidden2: tk('hidden2'), hidden3: tk('hidden3'),
  hidden4: tk('hidden4'), hidden5: tk('hidden5'), code: tk('code'), secret: tk('secret'), reset: tk('reset'),
  password: tk('password'), parts: tk('parts'), chunked: tk('chunked'),
};
const UTF8_TOKEN = `tök€n-${randomBytes(8).toString('hex')}`;

interface Case {
  name: string;
  /** Raw HTTP/1.1 request text, sent byte for byte so header shapes survive (parts: 50 ms apart). */
  request: string | string[];
  status?: number;
  uri: string;
  /** Token `fp` must fingerprint; undefined: `fp` is "". */
  token?: string;
}

const get = (target: string, headers: string[] = []) => rawHttp(target, headers);
const post = (target: string, type: string, body: string, method = 'POST') =>
  rawHttp(target, [`Content-Type: ${type}`], body, method);
const FORM = 'application/x-www-form-urlencoded';

const CASES: Case[] = [
  { name: 'Bearer with runs of spaces', request: get('/a', [`Authorization:    Bearer     ${T.ws1}   `]), uri: '/a', token: T.ws1 },
  { name: 'bearer with tabs, lower case', request: get('/a', [`Authorization:\tbearer\t${T.ws2}\t`]), uri: '/a', token: T.ws2 },
  { name: 'BEARER upper case', request: get('/a', [`Authorization: BEARER ${T.ws3}`]), uri: '/a', token: T.ws3 },
  { name: 'a 4 kB token in the header', request: get('/a', [`Authorization: Bearer ${T.long}`]), uri: '/a', token: T.long },
  {
    // Past large_client_header_buffers: nginx answers 400 itself, before any header is parsed.
    name: 'a 12 kB token in the header',
    request: get('/a', [`Authorization: Bearer ${T.huge}`]),
    status: 400,
    uri: '/a',
  },
  {
    name: 'access_token twice in the query (Rack keeps the last)',
    request: get(`/a?access_token=${T.dupA}&x=1&access_token=${T.dupB}`),
    uri: '/a?access_token=[REDACTED]&x=1&access_token=[REDACTED]',
    token: T.dupB,
  },
  {
    name: 'percent-encoded parameter name (Rack decodes it)',
    request: get(`/a?access%5Ftoken=${T.pctName}`),
    uri: '/a?access%5Ftoken=[REDACTED]',
    token: T.pctName,
  },
  {
    name: 'upper-case name: redacted, but no Rails parameter, so no fingerprint',
    request: get(`/a?ACCESS_TOKEN=${T.upper}`),
    uri: '/a?ACCESS_TOKEN=[REDACTED]',
  },
  { name: '; as separator', request: get(`/a?x=1;access_token=${T.semi}`), uri: '/a?x=1;access_token=[REDACTED]', token: T.semi },
  {
    name: 'bearer_token parameter (Doorkeeper reads it too)',
    request: get(`/a?bearer_token=${T.bearerParam}&y=2`),
    uri: '/a?bearer_token=[REDACTED]&y=2',
    token: T.bearerParam,
  },
  {
    name: 'array form access_token[]= is redacted',
    request: get(`/a?access_token[]=${T.array}`),
    uri: '/a?access_token[]=[REDACTED]',
  },
  {
    name: 'header wins over query',
    request: get(`/a?access_token=${T.query}`, [`Authorization: Bearer ${T.header}`]),
    uri: '/a?access_token=[REDACTED]',
    token: T.header,
  },
  {
    name: 'query wins over body',
    request: post(`/a?access_token=${T.query}`, FORM, `access_token=${T.body}`),
    uri: '/a?access_token=[REDACTED]',
    token: T.query,
  },
  { name: 'JSON body', request: post('/a', 'application/json', JSON.stringify({ access_token: T.json })), uri: '/a', token: T.json },
  {
    name: 'form body with a charset parameter',
    request: post('/a', `${FORM}; charset=UTF-8`, `x=1&access_token=${T.charset}`),
    uri: '/a',
    token: T.charset,
  },
  {
    name: 'form body arriving in three reads',
    request: splitInto(3, post('/a', FORM, `status=${'x'.repeat(3000)}&access_token=${T.parts}&y=${'z'.repeat(3000)}`)),
    uri: '/a',
    token: T.parts,
  },
  {
    name: 'chunked form body',
    request: rawHttp('/a', [`Content-Type: ${FORM}`], ['status=hi&acc', `ess_token=${T.chunked}`, '&y=1'], 'POST'),
    uri: '/a',
    token: T.chunked,
  },
  { name: 'form body of a PUT', request: post('/a', FORM, `access_token=${T.put}`, 'PUT'), uri: '/a', token: T.put },
  {
    // Documented limit: a body past client_body_buffer_size is in a temp file nginx has
    // already removed when it writes the log line.
    name: 'form body past client_body_buffer_size: not fingerprinted',
    request: post('/a', FORM, `access_token=${T.big}&status=${'x'.repeat(20_000)}`),
    uri: '/a',
  },
  { name: 'text/plain body is not a form', request: post('/a', 'text/plain', `access_token=${T.plain}`), uri: '/a' },
  {
    name: 'Sec-WebSocket-Protocol on the streaming API',
    request: get('/api/v1/streaming?stream=user', [`Sec-WebSocket-Protocol: ${T.wsProto}`]),
    uri: '/api/v1/streaming?stream=user',
    token: T.wsProto,
  },
  { name: 'Sec-WebSocket-Protocol elsewhere is ignored', request: get('/a', [`Sec-WebSocket-Protocol: ${T.wsOther}`]), uri: '/a' },
  {
    name: 'Basic Authorization falls through to the query',
    request: get(`/a?access_token=${T.basicQ}`, ['Authorization: Basic dXNlcjpwYXNzd29yZA==']),
    uri: '/a?access_token=[REDACTED]',
    token: T.basicQ,
  },
  {
    name: 'duplicate Authorization headers: nginx answers 400',
    request: get('/a', [`Authorization: Bearer ${T.dupHdrA}`, `Authorization: Bearer ${T.dupHdrB}`]),
    status: 400,
    uri: '/a',
  },
  {
    name: 'UTF-8 token, percent-encoded',
    request: get(`/a?access_token=${encodeURIComponent(UTF8_TOKEN)}`),
    uri: '/a?access_token=[REDACTED]',
    token: UTF8_TOKEN,
  },
  { name: 'empty access_token', request: get('/a?access_token=&x=1'), uri: '/a?access_token=[REDACTED]&x=1' },
  {
    name: 'a 6 kB hostile query of separators, then a token parameter',
    request: get(`/a?${'&;='.repeat(2000)}&access_token=${T.dupA}`),
    uri: `/a?${'&;='.repeat(2000)}&access_token=[REDACTED]`,
    token: T.dupA,
  },
  {
    name: 'a 6 kB hostile query where the token hides in a value (=access_token=…)',
    request: get(`/a?${'&;='.repeat(2000)}access_token=${T.hidden1}`),
    uri: `/a?${'&;='.repeat(2000)}[REDACTED]`,
  },
  { name: 'token text inside another value', request: get(`/a?x=1access_token=${T.hidden2}&y=2`), uri: '/a?x=[REDACTED]&y=2' },
  {
    name: 'token parameter nested in a Rails hash',
    request: get(`/a?user[access_token]=${T.hidden3}`),
    uri: '/a?user[access_token]=[REDACTED]',
  },
  {
    name: 'OAuth secrets in the query: code, client_secret',
    request: get(`/oauth/token?grant_type=authorization_code&code=${T.code}&client_id=abc&client_secret=${T.secret}&redirect_uri=urn`),
    uri: '/oauth/token?grant_type=authorization_code&code=[REDACTED]&client_id=abc&client_secret=[REDACTED]&redirect_uri=urn',
  },
  {
    name: 'other secret-looking names (Mastodon filter_parameter_logging)',
    request: get(`/auth/password/edit?reset_password_token=${T.reset}&password=${T.password}`),
    uri: '/auth/password/edit?reset_password_token=[REDACTED]&password=[REDACTED]',
  },
  {
    name: 'ordinary parameters that merely contain "token" in a value are kept',
    request: get('/api/v1/streaming/hashtag?tag=tokenomics&stream=hashtag'),
    uri: '/api/v1/streaming/hashtag?tag=tokenomics&stream=hashtag',
  },
  { name: 'value smuggled into the name with %3D', request: get(`/a?access_token%3D${T.hidden4}&y=2`), uri: '/a?[REDACTED]&y=2' },
  {
    name: 'escaped name next to a malformed escape',
    request: get(`/a?%ZZ&access%5ftoken=${T.hidden5}%ZZ`),
    uri: '/a?%ZZ&access%5ftoken=[REDACTED]',
    token: `${T.hidden5}%ZZ`,
  },
];

function splitInto(n: number, text: string): string[] {
  const size = Math.ceil(text.length / n);
  return Array.from({ length: n }, (_, i) => text.slice(i * size, (i + 1) * size));
}

describeWithNginx('nginx njs module: token sources and uri redaction', () => {
  let upstream: EchoUpstream;
  let nginx: RunningNginx;
  let lines: string[] = [];
  const statuses: number[] = [];

  beforeAll(async () => {
    upstream = await startEchoUpstream();
    nginx = await startNginx({ upstream: upstream.url, pepper: PEPPER, pepperVia: 'env' });
    for (const [i, c] of CASES.entries()) {
      statuses.push(await rawRequest(nginx.port, c.request));
      lines = await nginx.accessLines(i + 1);
    }
  });

  afterAll(async () => {
    await nginx?.stop();
    await upstream?.close();
  });

  it.each(CASES.map((c, i) => [c.name, i] as const))('%s', (_name, i) => {
    const c = CASES[i]!;
    const o = JSON.parse(lines[i]!) as { uri: string; fp: string; status: number };
    expect(statuses[i]).toBe(c.status ?? 200);
    expect(o.status).toBe(c.status ?? 200);
    expect(o.uri).toBe(c.uri);
    expect(o.fp).toBe(c.token === undefined ? '' : fingerprint(PEPPER, c.token));
  });

  it('logs no njs error for any of these requests', async () => {
    const { readFile } = await import('node:fs/promises');
    expect(await readFile(nginx.errorLog, 'utf8')).not.toMatch(/js: |js exception/);
  });

  it('leaves no token and no pepper in the access log, the error log or the temp dirs', async () => {
    await nginx.stop({ keep: true });
    const secrets = { ...T, utf8: UTF8_TOKEN, utf8Encoded: encodeURIComponent(UTF8_TOKEN), pepper: PEPPER };
    expect(await findSecrets([nginx.accessLog, nginx.errorLog, nginx.tempDir], secrets)).toEqual([]);
  });
});
