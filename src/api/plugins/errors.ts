import type { FastifyError, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { isTuskguardError } from '../../core/errors.js';

/**
 * Every error answer is `{ error: { code, message, hint } }`. Registered with fastify-plugin
 * so the handlers apply to every route of the app, whichever plugin declares the route.
 */

/** JSON schema of an error answer, referenced by route response schemas as `error#`. */
export const errorSchema = {
  $id: 'error',
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        hint: { type: 'string' },
      },
    },
    accepted: { type: 'integer' },
    rejected: { type: 'integer' },
  },
} as const;

export interface ApiErrorBody {
  error: { code: string; message: string; hint?: string };
  accepted?: number;
  rejected?: number;
}

export function apiError(code: string, message: string, hint?: string): ApiErrorBody {
  return { error: hint === undefined ? { code, message } : { code, message, hint } };
}

/** Fastify's own error codes → our code, HTTP status and a hint. */
const FASTIFY: Record<string, [string, number, string]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: ['PAYLOAD_TOO_LARGE', 413, 'send smaller batches (body_limit_bytes of the source)'],
  FST_ERR_CTP_EMPTY_JSON_BODY: ['BAD_REQUEST', 400, 'send a non-empty body'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ['UNSUPPORTED_MEDIA_TYPE', 415, 'send application/json or application/x-ndjson'],
};

async function errorHandlers(app: FastifyInstance): Promise<void> {
  app.addSchema(errorSchema);
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (isTuskguardError(err)) {
      return reply.status(err.code === 'STORE_UNAVAILABLE' ? 503 : 500).send(apiError(err.code, err.message, err.hint));
    }
    const known = err.code ? FASTIFY[err.code] : undefined;
    if (known) return reply.status(known[1]).send(apiError(known[0], err.message, known[2]));
    if (err.validation) return reply.status(400).send(apiError('BAD_REQUEST', err.message, 'see the route schema'));
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) {
      req.log.error({ err: err.message, route: req.routeOptions.url }, 'request failed');
      return reply.status(500).send(apiError('INTERNAL', 'internal error', 'see the tuskguard log'));
    }
    return reply.status(status).send(apiError('BAD_REQUEST', err.message));
  });
  app.setNotFoundHandler((req, reply) =>
    reply.status(404).send(apiError('NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`, 'GET /healthz, GET /metrics, or the path of an http-push source')),
  );
}

export default fp(errorHandlers, { name: 'tuskguard-errors', fastify: '5.x' });
