import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/api/app.js';
import { httpPushSourceSchema } from '../../../src/config/schema.js';
import { silentLogger } from '../../../src/core/logger.js';
import { Metrics } from '../../../src/core/metrics.js';
import { DeadLetter } from '../../../src/ingest/dead-letter.js';
import { Pipeline } from '../../../src/ingest/pipeline.js';
import { bearerMatches, resolvePushToken } from '../../../src/ingest/sources/http-push/index.js';
import type { PipelineInput } from '../../../src/ingest/types.js';
import { MemoryStore, line, testParser } from '../../helpers/ingest-doubles.js';

const TOKEN = 'push-token-0123456789abcdef';
const apps: FastifyInstance[] = [];
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close();
});

async function setup(config: Record<string, unknown> = {}, wrap?: (p: Pipeline) => PipelineInput) {
  const home = mkdtempSync(join(tmpdir(), 'tg-push-'));
  const metrics = new Metrics();
  const store = new MemoryStore();
  const deadLetter = new DeadLetter({ home, metrics });
  const pipeline = new Pipeline({ store, deadLetter, metrics, logger: silentLogger, getParser: () => testParser(), time: 'wall', flushIntervalMs: 5 });
  const cfg = httpPushSourceSchema.parse({ type: 'http-push', id: 'push', format: 'nginx-json', ...config });
  const app = await buildApp({
    metrics,
    health: async () => ({ ok: true, store: { kind: 'sqlite', reachable: true }, sources: [], in_flight_lines: 0 }),
    pushSources: [{ config: cfg, pipeline: wrap ? wrap(pipeline) : pipeline, deadLetter, metrics, token: TOKEN, ackTimeoutMs: 300 }],
  });
  apps.push(app);
  const post = (payload: string | Buffer, headers: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url: cfg.path, payload, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/x-ndjson', ...headers } });
  const deadLetters = () =>
    readdirSync(join(home, 'dead-letter')).flatMap((f) =>
      readFileSync(join(home, 'dead-letter', f), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>),
    );
  return { app, post, store, metrics, pipeline, deadLetters };
}

describe('http-push', () => {
  it.each([
    ['NDJSON of raw nginx-json lines (Fluent Bit json_lines after a json parser)', [line(1), line(2)].join('\n'), 'application/x-ndjson'],
    ['NDJSON records with the line in "log" (Fluent Bit tail)', [{ log: line(1) }, { log: line(2) }].map((o) => JSON.stringify(o)).join('\n'), 'application/x-ndjson'],
    ['a JSON array of records with "message" (Vector, Filebeat)', JSON.stringify([{ message: line(1), host: 'edge' }, { message: line(2) }]), 'application/json'],
    ['a JSON array of plain strings', JSON.stringify([line(1), line(2)]), 'application/json'],
    ['plain text lines', `${line(1)}\r\n${line(2)}`, 'text/plain'],
  ])('accepts %s and answers once stored', async (_name, body, type) => {
    const { post, store } = await setup();
    const res = await post(body, { 'content-type': type });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ accepted: 2, rejected: 0 });
    expect([...store.events.keys()].sort()).toEqual(['nginx-json:1#0', 'nginx-json:2#0']);
  });

  it('takes the line from the first configured line_field', async () => {
    const { post, store } = await setup({ line_field: ['raw'] });
    const res = await post(JSON.stringify({ raw: line(7), message: 'not this' }));
    expect(res.json()).toEqual({ accepted: 1, rejected: 0 });
    expect(store.events.has('nginx-json:7#0')).toBe(true);
  });

  it('accepts a gzip body (Content-Encoding: gzip)', async () => {
    const { post, store } = await setup();
    const res = await post(gzipSync([line(1), line(2), line(3)].join('\n')), { 'content-encoding': 'gzip' });
    expect(res.json()).toEqual({ accepted: 3, rejected: 0 });
    expect(store.events.size).toBe(3);
  });

  it('dead-letters unusable records with their reason, counts them, and keeps the good ones', async () => {
    const { post, store, metrics, deadLetters } = await setup({ format: 'combined' });
    const body = [
      JSON.stringify({ message: line(1) }),
      '{"message": "unterminated',
      '42', // not JSON-looking: taken as a raw log line, which the parser then rejects
      JSON.stringify({ msg: 'wrong field' }),
      JSON.stringify({ message: 17 }),
    ].join('\n');
    const res = await post(body);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ accepted: 2, rejected: 3 });
    expect(store.events.size).toBe(1);
    await new Promise((r) => setTimeout(r, 20));
    expect(deadLetters().map((d) => [d.position, d.reason]).sort()).toEqual([
      [2, 'invalid-json-record'],
      [3, 'invalid-json'],
      [4, 'unusable-record'],
      [5, 'unusable-record'],
    ]);
    expect(deadLetters().find((d) => d.position === 4)?.message).toMatch(/without a string field message or log/);
    expect(await metrics.value('tuskguard_lines_total', { source: 'push', outcome: 'rejected' })).toBe(4);
  });

  it('rejects non-record values of a JSON array (numbers, null, nested arrays)', async () => {
    const { post, deadLetters } = await setup();
    const res = await post(JSON.stringify([line(1), 42, null, [line(2)]]), { 'content-type': 'application/json' });
    expect(res.json()).toEqual({ accepted: 1, rejected: 3 });
    expect(deadLetters().map((d) => d.message)).toEqual([
      expect.stringMatching(/record 2 is number/),
      expect.stringMatching(/record 3 is null/),
      expect.stringMatching(/record 4 is an array/),
    ]);
  });

  it('answers 400 with a clear message for a malformed JSON array and keeps its lines in the dead-letter', async () => {
    const { post, store, deadLetters } = await setup();
    const res = await post(`[${JSON.stringify({ message: line(1) })},\n{"message": `, { 'content-type': 'application/json' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: { code: 'BAD_REQUEST', message: expect.stringMatching(/not a valid JSON array/) }, accepted: 0, rejected: 2 });
    expect(store.events.size).toBe(0);
    expect(deadLetters().map((d) => d.reason)).toEqual(['malformed-body', 'malformed-body']);
  });

  it.each([
    ['an empty body', ''],
    ['only unusable records', '[1, 2, null]'],
  ])('answers 400 for %s', async (_name, body) => {
    const { post } = await setup();
    const res = await post(body, { 'content-type': 'application/json' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('BAD_REQUEST');
  });

  it('lets the pipeline dead-letter bad lines (invalid UTF-8, wrong types) while answering 200', async () => {
    const { post, deadLetters, store } = await setup();
    const body = Buffer.concat([Buffer.from(`${line(1)}\n{"ts":"2026-11-02T14:03:05Z","n":"x"}\n`), Buffer.from([0x7b, 0xff, 0x7d, 0x0a])]);
    const res = await post(body);
    expect(res.json()).toEqual({ accepted: 3, rejected: 0 });
    expect(store.events.size).toBe(1);
    expect(deadLetters().map((d) => d.reason).sort()).toEqual(['invalid-utf8', 'wrong-type']);
  });

  it.each([
    ['no header', undefined],
    ['a wrong token', `Bearer ${TOKEN}x`],
    ['a shorter prefix of the token', `Bearer ${TOKEN.slice(0, 8)}`],
    ['basic auth', `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}`],
  ])('refuses %s with 401 before reading the body', async (_name, authorization) => {
    const { app, store } = await setup();
    const headers: Record<string, string> = { 'content-type': 'application/x-ndjson' };
    if (authorization) headers.authorization = authorization;
    const res = await app.inject({ method: 'POST', url: '/ingest', payload: line(1), headers });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(res.json().error.code).toBe('UNAUTHORIZED');
    expect(res.body).not.toContain(TOKEN);
    expect(store.events.size).toBe(0);
  });

  it('answers 413 past body_limit_bytes, also for a gzip body that inflates past it', async () => {
    const { post } = await setup({ body_limit_bytes: 1024 });
    const big = Array.from({ length: 100 }, (_, i) => line(i)).join('\n');
    const res = await post(big);
    expect(res.statusCode).toBe(413);
    expect(res.json().error.code).toBe('PAYLOAD_TOO_LARGE');
    const bomb = await post(gzipSync(big), { 'content-encoding': 'gzip' });
    expect(bomb.statusCode).toBe(413);
  });

  it('answers 429 with Retry-After when the pipeline is saturated, keeping nothing', async () => {
    const saturated = (p: Pipeline): PipelineInput => ({ push: (b) => p.push(b), tryPush: () => false, retryAfterSeconds: () => 7 });
    const { post, store } = await setup({}, saturated);
    const res = await post([line(1), '42'].join('\n'));
    expect(res.statusCode).toBe(429);
    expect(res.headers['retry-after']).toBe('7');
    expect(res.json().error.code).toBe('PIPELINE_SATURATED');
    expect(store.events.size).toBe(0);
  });

  it('answers 503 with Retry-After when the store does not acknowledge in time', async () => {
    const { post, store } = await setup();
    store.failNext(1_000);
    const res = await post(line(1));
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toMatch(/^\d+$/);
  });
});

describe('push token', () => {
  const cfg = (extra: Record<string, unknown> = {}) => httpPushSourceSchema.parse({ type: 'http-push', id: 'p', format: 'combined', ...extra });

  it('comes from token_file first, else token_env', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-tok-'));
    writeFileSync(join(dir, 't'), 'from-file\n');
    expect(resolvePushToken(cfg({ token_file: join(dir, 't') }), { TUSKGUARD_PUSH_TOKEN: 'env' })).toBe('from-file');
    expect(resolvePushToken(cfg({ token_env: 'MY_TOKEN' }), { MY_TOKEN: ' from-env ' })).toBe('from-env');
  });

  it('is required: SECRET_MISSING names the variable to set', () => {
    expect(() => resolvePushToken(cfg(), {})).toThrow(expect.objectContaining({ code: 'SECRET_MISSING', hint: expect.stringContaining('TUSKGUARD_PUSH_TOKEN') }));
  });

  it('matches only the exact bearer token', () => {
    expect(bearerMatches(`Bearer ${TOKEN}`, TOKEN)).toBe(true);
    expect(bearerMatches(`bearer ${TOKEN}`, TOKEN)).toBe(true);
    expect(bearerMatches(`Bearer ${TOKEN} extra`, TOKEN)).toBe(false);
    expect(bearerMatches(undefined, TOKEN)).toBe(false);
    expect(bearerMatches('Bearer ', '')).toBe(false);
  });
});
