import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import type { HealthReport } from '../../src/api/routes/health.js';
import { createLogger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';

const healthy: HealthReport = { ok: true, store: { kind: 'sqlite', reachable: true }, sources: [{ id: 'edge', type: 'file-tail', running: true }], in_flight_lines: 0 };

describe('api app', () => {
  it('GET /healthz answers 200 with the report, 503 when degraded', async () => {
    let report = healthy;
    const app = await buildApp({ metrics: new Metrics(), health: async () => report, pushSources: [] });
    const ok = await app.inject({ method: 'GET', url: '/healthz' });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual(healthy);
    report = { ...healthy, ok: false, store: { kind: 'elasticsearch', reachable: false, error: 'connect ECONNREFUSED' } };
    const bad = await app.inject({ method: 'GET', url: '/healthz' });
    expect(bad.statusCode).toBe(503);
    expect(bad.json().store).toEqual({ kind: 'elasticsearch', reachable: false, error: 'connect ECONNREFUSED' });
    await app.close();
  });

  it('GET /metrics serves the Prometheus text of the registry', async () => {
    const metrics = new Metrics();
    metrics.lines.inc({ source: 'edge', format: 'combined', outcome: 'parsed' }, 3);
    const app = await buildApp({ metrics, health: async () => healthy, pushSources: [] });
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.body).toContain('tuskguard_lines_total{source="edge",format="combined",outcome="parsed"} 3');
    await app.close();
  });

  it('answers unknown routes and a failing handler with the JSON error shape', async () => {
    const app = await buildApp({
      metrics: new Metrics(),
      health: async () => {
        throw new Error('boom with Bearer abcdefghijklmnop');
      },
      pushSources: [],
    });
    const missing = await app.inject({ method: 'GET', url: '/nope?x=1' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'no route GET /nope', hint: expect.any(String) } });
    const failing = await app.inject({ method: 'GET', url: '/healthz' });
    expect(failing.statusCode).toBe(500);
    expect(failing.json()).toEqual({ error: { code: 'INTERNAL', message: 'internal error', hint: 'see the tuskguard log' } });
    expect(failing.body).not.toContain('abcdefghijklmnop');
    await app.close();
  });

  it('logs request URLs with access_token values redacted', async () => {
    let out = '';
    const destination = new Writable({ write: (c, _e, cb) => ((out += String(c)), cb()) });
    const logger = createLogger({ level: 'info', destination });
    const app = await buildApp({ metrics: new Metrics(), health: async () => healthy, pushSources: [] }, logger);
    await app.inject({ method: 'GET', url: '/healthz?access_token=SECRETSECRETSECRET' });
    await app.close();
    expect(out).toContain('access_token=[REDACTED]');
    expect(out).not.toContain('SECRETSECRETSECRET');
  });

  it('mounts extra route plugins with the shared JSON error shape', async () => {
    const app = await buildApp({
      metrics: new Metrics(),
      health: async () => healthy,
      pushSources: [],
      routes: [
        async (scope) => {
          scope.get('/extra', { schema: { response: { 200: { type: 'object', properties: { ok: { type: 'boolean' } } } } } }, async () => ({ ok: true }));
          scope.get('/extra/fail', async () => {
            throw Object.assign(new Error('bad input'), { statusCode: 422 });
          });
        },
      ],
    });
    expect((await app.inject({ method: 'GET', url: '/extra' })).json()).toEqual({ ok: true });
    const fail = await app.inject({ method: 'GET', url: '/extra/fail' });
    expect(fail.statusCode).toBe(422);
    expect(fail.json()).toEqual({ error: { code: 'BAD_REQUEST', message: 'bad input' } });
    await app.close();
  });
});
