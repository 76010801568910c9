import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFingerprinter } from '../../src/core/fingerprint.js';
import { createLogger } from '../../src/core/logger.js';
import { MastodonClient } from '../../src/mastodon/client.js';
import { startMastodonSim, type MastodonSim } from '../mastodon-sim/index.js';

// No raw token, client secret or code in any log line, error message, error JSON, stack or
// inspected error — even when a hostile server echoes them back in its error bodies.

let sim: MastodonSim;
let echo: Server;
let echoUrl: string;
const logLines: string[] = [];
const sink = new Writable({
  write(chunk: Buffer, _enc, done) {
    logLines.push(chunk.toString('utf8'));
    done();
  },
});

/** Answers every request 401 with the request's Authorization header and body as the error text. */
function startEcho(): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: `bad ${req.headers.authorization ?? ''}`, error_description: `you sent ${body}` }));
      });
    });
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

beforeAll(async () => {
  sim = await startMastodonSim({ throttles: { throttle_per_token_api: { limit: 2, periodSeconds: 300 } } });
  echo = await startEcho();
  echoUrl = `http://127.0.0.1:${(echo.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await sim.close();
  await new Promise((r) => echo.close(r));
});

function everything(e: unknown): string {
  const err = e as Error & { toJSON?: () => unknown };
  return [JSON.stringify(err), JSON.stringify(err.toJSON?.()), String(err), err.stack ?? '', inspect(err, { depth: 10 })].join('\n');
}

describe('secrets never leak from the Mastodon client', () => {
  it('across successes, Mastodon errors, echoing servers, outages and rate limits', async () => {
    const logger = createLogger({ level: 'debug', destination: sink });
    const client = new MastodonClient({ logger, fingerprint: createFingerprinter('pepper-for-tests-0123456789'), timeoutMs: 500 });
    const app = sim.createApp({ name: 'a', redirectUris: ['urn:ietf:wg:oauth:2.0:oob'], scopes: 'read write' });
    const other = sim.createApp({ name: 'b', redirectUris: ['urn:ietf:wg:oauth:2.0:oob'] });
    const token = sim.issueUserToken(app, sim.createUser({ username: 'erin' }), ['read']).token;
    const secrets = [token, app.secret, other.secret];
    const errors: unknown[] = [];
    const attempt = async (p: Promise<unknown>) => {
      await p.catch((e: unknown) => errors.push(e));
    };

    await attempt(client.verifyKey({ instance: sim.url, token }));
    await attempt(client.revoke({ instance: sim.url, clientId: other.uid, clientSecret: other.secret, token }));
    await attempt(client.mintAppToken({ instance: sim.url, clientId: app.uid, clientSecret: 'x' + app.secret, scopes: ['read'] }));
    await attempt(client.verifyKey({ instance: sim.url, token }));
    await attempt(client.verifyKey({ instance: sim.url, token }));
    await attempt(client.verifyKey({ instance: echoUrl, token }));
    await attempt(client.revoke({ instance: echoUrl, clientId: app.uid, clientSecret: app.secret, token }));
    await attempt(client.mintAppToken({ instance: echoUrl, clientId: app.uid, clientSecret: app.secret, scopes: ['read'] }));
    await attempt(client.exchangeCode({ instance: echoUrl, clientId: app.uid, clientSecret: app.secret, code: 'C0de-'.repeat(9), redirectUri: 'urn:ietf:wg:oauth:2.0:oob', codeVerifier: 'V3rifier-'.repeat(6) }));
    await sim.setDown('bad-gateway');
    await attempt(client.revoke({ instance: sim.url, clientId: app.uid, clientSecret: app.secret, token }));
    await sim.setDown('refuse');
    await attempt(client.revoke({ instance: sim.url, clientId: app.uid, clientSecret: app.secret, token }));
    await sim.setDown(false);
    await attempt(client.revoke({ instance: sim.url, clientId: app.uid, clientSecret: app.secret, token }));

    expect(errors.length).toBeGreaterThanOrEqual(9);
    const codes = new Set(errors.map((e) => (e as { code: string }).code));
    expect(codes).toEqual(new Set(['MASTODON_FORBIDDEN', 'MASTODON_UNAUTHORIZED', 'MASTODON_RATE_LIMITED', 'MASTODON_UNEXPECTED_RESPONSE', 'MASTODON_UNREACHABLE']));
    const echoed = errors.filter((e) => String((e as { details?: { description?: string } }).details?.description).startsWith('you sent'));
    expect(echoed.length).toBeGreaterThanOrEqual(3);
    for (const e of echoed) expect((e as { details: { description: string } }).details.description).toContain('[REDACTED]');
    expect(logLines.join('')).toContain('bad Bearer [REDACTED]');
    expect(logLines.length).toBeGreaterThan(5);
    const haystack = [...errors.map(everything), ...logLines].join('\n');
    for (const secret of [...secrets, 'C0de-'.repeat(9), 'V3rifier-'.repeat(6)]) expect(haystack).not.toContain(secret);
    expect(haystack).toContain('"fingerprint":"');
  });
});
