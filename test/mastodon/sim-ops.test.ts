import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { parseMastodon } from '../../src/ingest/parsers/mastodon/index.js';
import { startMastodonSim, type MastodonSim } from '../mastodon-sim/index.js';
import { call } from './sim-helpers.js';

// FACTS.md §8 (request log), §10 (rate limits), and the "instance unreachable" modes.

const RESET_RE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;
const LOGRAGE_RE =
  /^I, \[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6} #\d+\]  INFO -- : \[(?<id>[\w@-]+)\] method=(?<method>[A-Z]+) path=(?<path>\S+) format=(?<format>\S+) controller=(?<controller>\S+) action=(?<action>\S+) status=(?<status>\d{3}) allocations=\d+ duration=\d+\.\d\d view=\d+\.\d\d db=\d+\.\d\d$/;

const sims: MastodonSim[] = [];
async function start(opts: Parameters<typeof startMastodonSim>[0] = {}): Promise<MastodonSim> {
  const sim = await startMastodonSim(opts);
  sims.push(sim);
  return sim;
}
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.close()));
});

function userToken(sim: MastodonSim, scopes = ['read']): string {
  const app = sim.createApp({ name: 'a', redirectUris: ['urn:ietf:wg:oauth:2.0:oob'], scopes: 'read write' });
  const user = sim.createUser({ username: `u${sim.state.users.size + 1}` });
  return sim.issueUserToken(app, user, scopes).token;
}

describe('rate limits (FACTS §10)', () => {
  it('per token: headers count down, then 429 until the window ends', async () => {
    const clock = new ManualClock(Date.UTC(2026, 7, 21, 9, 0, 10));
    const sim = await start({ clock, throttles: { throttle_per_token_api: { limit: 3, periodSeconds: 60 } } });
    const token = userToken(sim);
    const remaining: Array<string | null> = [];
    for (let i = 0; i < 3; i += 1) {
      const r = await call(sim, 'GET', '/api/v1/timelines/home', { token });
      expect(r.status).toBe(200);
      expect(r.headers.get('x-ratelimit-limit')).toBe('3');
      expect(r.headers.get('x-ratelimit-reset')).toMatch(RESET_RE);
      remaining.push(r.headers.get('x-ratelimit-remaining'));
    }
    expect(remaining).toEqual(['2', '1', '0']);
    const limited = await call(sim, 'GET', '/api/v1/timelines/home', { token });
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ error: 'Too many requests' });
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(limited.headers.get('x-ratelimit-reset')).toBe('2026-08-21T09:01:00.000000Z');
    clock.advance(50_000);
    expect((await call(sim, 'GET', '/api/v1/timelines/home', { token })).status).toBe(200);
  });

  it('revoked tokens count too; /oauth/* is not throttled', async () => {
    const sim = await start({ throttles: { throttle_per_token_api: { limit: 2, periodSeconds: 300 } } });
    const token = userToken(sim);
    sim.state.revokeToken(sim.state.findToken(token)!);
    const statuses = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await call(sim, 'GET', '/api/v1/notifications', { token })).status);
    expect(statuses).toEqual([401, 401, 429]);
    for (let i = 0; i < 5; i += 1) expect((await call(sim, 'GET', '/oauth/token/info', { token })).status).toBe(401);
  });

  it('defaults to 300 per 5 minutes per token, reporting the most constrained throttle', async () => {
    const sim = await start();
    const r = await call(sim, 'GET', '/api/v1/timelines/home', { token: userToken(sim) });
    expect([r.headers.get('x-ratelimit-limit'), r.headers.get('x-ratelimit-remaining')]).toEqual(['300', '299']);
  });
});

describe('request log (FACTS §8)', () => {
  it('writes one lograge line per controller request, query string stripped, request id echoed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sim-log-'));
    const file = join(dir, 'production.log');
    const sim = await start({ log: file, pid: 17 });
    const r = await call(sim, 'GET', '/api/v1/timelines/public?access_token=SECRET123&local=true', { headers: { 'x-request-id': 'req-1$<script>', accept: 'application/json' } });
    expect(r.headers.get('x-request-id')).toBe('req-1script');
    await sim.close();
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(1);
    const m = LOGRAGE_RE.exec(lines[0] ?? '');
    expect(m?.groups).toMatchObject({
      id: 'req-1script', method: 'GET', path: '/api/v1/timelines/public', format: 'json',
      controller: 'Api::V1::Timelines::PublicController', action: 'show', status: '401',
    });
    expect(lines[0]).toContain(' #17]');
    expect(lines[0]).not.toContain('SECRET123');
  });

  it('generates a UUID when the client sends no id, and logs Doorkeeper answers as ordinary lines', async () => {
    const sim = await start();
    const r = await call(sim, 'POST', '/oauth/revoke', { form: { token: 'x' } });
    expect(r.headers.get('x-request-id')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const m = LOGRAGE_RE.exec(sim.logLines.at(-1) ?? '');
    expect(m?.groups).toMatchObject({ id: r.headers.get('x-request-id'), format: '*/*', controller: 'OAuth::TokensController', action: 'revoke', status: '403' });
  });

  it('throttled and IP-blocked requests get a Rack::Attack line with the full path instead', async () => {
    const sim = await start({ trustedProxies: ['127.0.0.1'], throttles: { throttle_unauthenticated_api: { limit: 1, periodSeconds: 300 } } });
    await call(sim, 'GET', '/api/v1/timelines/public');
    await call(sim, 'GET', '/api/v1/timelines/public?page=2', { headers: { 'x-request-id': 'thr' } });
    sim.state.ipBlocks.set('1', { id: '1', cidr: { version: 4, network: 0xc0000200n, prefix: 24 }, severity: 'no_access', comment: '', createdAt: new Date(), expiresAt: null });
    await call(sim, 'GET', '/about', { headers: { 'x-forwarded-for': '192.0.2.5', 'x-request-id': 'blk' } });
    expect(sim.logLines.at(-2)).toMatch(/INFO -- : \[thr\] Rate limit hit \(throttle\): 127\.0\.0\.1 GET \/api\/v1\/timelines\/public\?page=2$/);
    expect(sim.logLines.at(-1)).toMatch(/INFO -- : \[blk\] Rate limit hit \(blocklist\): 192\.0\.2\.5 GET \/about$/);
  });
});

describe('request log → tuskguard mastodon parser', () => {
  it('every line the simulator writes parses, and joins on the X-Request-Id the client saw', async () => {
    const sim = await start({ throttles: { throttle_unauthenticated_api: { limit: 1, periodSeconds: 300 } } });
    const seen = [];
    for (const path of ['/api/v1/timelines/public', '/oauth/token/info', '/api/v1/timelines/public?max_id=5']) {
      const r = await call(sim, 'GET', path, { headers: { 'x-request-id': `0123456789abcdef0123456789abcde${seen.length}` } });
      seen.push({ id: r.headers.get('x-request-id'), status: r.status });
    }
    const events = sim.logLines.map((l) => parseMastodon(l, { fingerprint: null, origin: 'sim' }));
    expect(events.map((e) => ('kind' in e ? e.kind : e['http.request.id']))).toEqual(seen.map((s) => s.id));
    expect(events.map((e) => ('kind' in e ? 0 : e['http.response.status_code']))).toEqual(seen.map((s) => s.status));
    expect(events.map((e) => ('kind' in e ? '' : e['mastodon.controller']))).toEqual([
      'Api::V1::Timelines::PublicController', 'Doorkeeper::TokenInfoController', 'Rack::Attack',
    ]);
  });
});

describe('setDown (Mastodon unreachable)', () => {
  it('refuse: the listener closes, then comes back on the same URL', async () => {
    const sim = await start();
    await sim.setDown(true);
    const err = await fetch(`${sim.url}/health`).catch((e: Error & { cause?: { code?: string } }) => e);
    expect((err as Error & { cause?: { code?: string } }).cause?.code).toBe('ECONNREFUSED');
    await sim.setDown(false);
    expect((await call(sim, 'GET', '/health')).text).toBe('OK');
  });

  it('bad-gateway: a 502 HTML page like a reverse proxy with no upstream', async () => {
    const sim = await start({ downMode: 'bad-gateway' });
    await sim.setDown(true);
    const r = await call(sim, 'GET', '/api/v1/apps/verify_credentials');
    expect([r.status, r.headers.get('content-type')]).toEqual([502, 'text/html']);
    await sim.setDown(false);
    expect((await call(sim, 'GET', '/api/v1/apps/verify_credentials')).status).toBe(401);
  });

  it('hang: connections are accepted and never answered', async () => {
    const sim = await start();
    await sim.setDown('hang');
    const err = await call(sim, 'GET', '/health', { signal: AbortSignal.timeout(200) }).catch((e: Error) => e);
    expect((err as Error).name).toBe('TimeoutError');
    await sim.setDown(false);
    expect((await call(sim, 'GET', '/health')).status).toBe(200);
  });
});
