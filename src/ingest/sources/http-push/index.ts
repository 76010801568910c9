import { createHash, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { HttpPushSourceConfig } from '../../../config/schema.js';
import { TuskguardError } from '../../../core/errors.js';
import type { Metrics } from '../../../core/metrics.js';
import type { DeadLetter } from '../../dead-letter.js';
import type { PipelineInput } from '../../types.js';
import { decodeBody } from './body.js';

/**
 * `http-push`: a route on the API listener (`path` of the source) that shippers POST batches
 * of log lines to (see body.ts for the accepted shapes).
 *
 * - Auth: `Authorization: Bearer <token>`, checked before the body is read; the token comes
 *   from `token_env` or `token_file` and is compared in constant time (SHA-256 digests of
 *   equal length through crypto.timingSafeEqual), so the answer time leaks nothing about it.
 * - `body_limit_bytes` → 413, also for the decompressed size of a gzip body.
 * - The answer comes once the lines are stored or dead-lettered (200 with counts): a shipper
 *   that gets no 200 retries, and deterministic event ids make the retry harmless.
 * - Pipeline saturated → 429 with Retry-After, nothing kept (the shipper resends).
 */
export interface HttpPushOptions {
  config: HttpPushSourceConfig;
  pipeline: PipelineInput;
  deadLetter: DeadLetter;
  metrics: Metrics;
  /** The bearer token clients must send (resolvePushToken). */
  token: string;
  /** Longest wait for the lines to be durable before answering 503. Default 30 s. */
  ackTimeoutMs?: number;
}

/** The source's token from its file or environment variable; SECRET_MISSING when neither is set. */
export function resolvePushToken(config: HttpPushSourceConfig, env: NodeJS.ProcessEnv = process.env): string {
  if (config.token_file) {
    if (!existsSync(config.token_file)) {
      throw new TuskguardError('SECRET_MISSING', `http-push source ${config.id}: token_file ${config.token_file} does not exist`, {
        hint: 'create it (e.g. `openssl rand -hex 32 > FILE`) or remove token_file to use token_env',
      });
    }
    const token = readFileSync(config.token_file, 'utf8').trim();
    if (token) return token;
  }
  const token = env[config.token_env]?.trim();
  if (!token) {
    throw new TuskguardError('SECRET_MISSING', `http-push source ${config.id}: no bearer token configured`, {
      hint: `set ${config.token_env} (token_env) or token_file for this source; pushers send it as "Authorization: Bearer <token>"`,
    });
  }
  return token;
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Constant-time check of an Authorization header against the expected token. */
export function bearerMatches(header: string | undefined, expected: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  // Compare digests even when the header is absent, so every answer takes the same time.
  return timingSafeEqual(digest(m?.[1] ?? ''), digest(expected)) && m !== null;
}

const counts = {
  type: 'object',
  required: ['accepted', 'rejected'],
  properties: {
    accepted: { type: 'integer', description: 'Lines taken in (stored or dead-lettered by the pipeline)' },
    rejected: { type: 'integer', description: 'Records that were not log lines; dead-lettered with a reason' },
  },
} as const;

export const httpPushRoutes: FastifyPluginAsync<HttpPushOptions> = async (app, opts) => {
  const { config } = opts;
  const expected = opts.token;
  // Bodies are read raw: the decoder handles NDJSON, arrays and text, whatever the content type says.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.addHook('onRequest', async (req, reply) => {
    if (bearerMatches(req.headers.authorization, expected)) return;
    opts.metrics.errors.inc({ component: 'http-push', stage: 'auth' });
    return reply
      .status(401)
      .header('www-authenticate', 'Bearer')
      .send({ error: { code: 'UNAUTHORIZED', message: 'missing or wrong bearer token', hint: `send "Authorization: Bearer <token>" with the token from ${config.token_file ? 'token_file' : config.token_env}` } });
  });
  app.post(
    config.path,
    {
      bodyLimit: config.body_limit_bytes,
      schema: {
        summary: `Push log lines (${config.format}) for source ${config.id}`,
        headers: { type: 'object', properties: { authorization: { type: 'string' }, 'content-encoding': { type: 'string', enum: ['gzip', 'identity'] } } },
        response: { 200: counts, 400: { $ref: 'error#' }, 401: { $ref: 'error#' }, 413: { $ref: 'error#' }, 429: { $ref: 'error#' }, 503: { $ref: 'error#' } },
      },
    },
    (req, reply) => handlePush(req, reply, opts),
  );
};

async function handlePush(req: FastifyRequest, reply: FastifyReply, opts: HttpPushOptions) {
  const { config, metrics } = opts;
  const body = inflate(req.body as Buffer | undefined, req.headers['content-encoding'], config.body_limit_bytes);
  const plainText = /^text\/plain\b/i.test(req.headers['content-type'] ?? '');
  const decoded = decodeBody(body, { format: config.format, lineFields: config.line_field, plainText });
  const origin = `http-push:${config.id}`;
  let durable: Promise<void> = Promise.resolve();
  if (decoded.lines.length > 0) {
    let ack!: () => void;
    durable = new Promise<void>((r) => (ack = r));
    const batch = { sourceId: config.id, format: config.format, origin, lines: decoded.lines, ack };
    if (!opts.pipeline.tryPush(batch)) {
      metrics.errors.inc({ component: 'http-push', stage: 'saturated' });
      return reply
        .status(429)
        .header('retry-after', String(opts.pipeline.retryAfterSeconds()))
        .send({ error: { code: 'PIPELINE_SATURATED', message: 'tuskguard is busy; nothing from this request was kept', hint: 'retry after the number of seconds in Retry-After' } });
    }
  }
  if (decoded.rejected.length > 0) {
    metrics.lines.inc({ source: config.id, format: config.format, outcome: 'rejected' }, decoded.rejected.length);
    await opts.deadLetter.write(decoded.rejected.map((r) => ({ source: config.id, origin, ...r })));
  }
  const accepted = decoded.lines.length;
  const rejected = decoded.rejected.length;
  if (decoded.malformed !== null || accepted === 0) {
    const message = decoded.malformed ?? `none of the ${rejected} records holds a log line`;
    return reply.status(400).send({
      error: { code: 'BAD_REQUEST', message, hint: `send NDJSON or a JSON array of strings or objects with ${config.line_field.join(' or ')}; rejected records are in the dead-letter` },
      accepted,
      rejected,
    });
  }
  if (!(await withTimeout(durable, opts.ackTimeoutMs ?? 30_000))) {
    return reply
      .status(503)
      .header('retry-after', String(opts.pipeline.retryAfterSeconds()))
      .send({ error: { code: 'STORE_UNAVAILABLE', message: 'the lines were taken in but are not yet stored', hint: 'retry; a resent line is not stored twice' } });
  }
  return { accepted, rejected };
}

function inflate(body: Buffer | undefined, encoding: string | undefined, limit: number): Buffer {
  const raw = body ?? Buffer.alloc(0);
  if (encoding !== 'gzip') return raw;
  try {
    return gunzipSync(raw, { maxOutputLength: limit });
  } catch (e) {
    const tooLarge = (e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
    throw Object.assign(new Error(tooLarge ? `decompressed body exceeds ${limit} bytes` : `body is not valid gzip: ${(e as Error).message}`), {
      statusCode: tooLarge ? 413 : 400,
      code: tooLarge ? 'FST_ERR_CTP_BODY_TOO_LARGE' : 'TG_BAD_GZIP',
    });
  }
}

function withTimeout(p: Promise<void>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    p.then(() => {
      clearTimeout(t);
      resolve(true);
    });
  });
}
