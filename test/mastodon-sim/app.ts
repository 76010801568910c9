import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { registerTestHooks } from './hooks.js';
import type { SimResponse } from './http.js';
import type { RequestLog } from './lograge.js';
import type { SimOptions } from './options.js';
import { Pipeline } from './pipeline.js';
import type { SimState } from './state.js';

/**
 * The simulator as a fastify app: Rails-like body parsing (JSON, form, multipart; an empty
 * JSON body is `{}`), the `/__sim/` test hooks, and one catch-all route into the pipeline.
 */

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** `a=1&b[]=2&b[]=3` → `{a: '1', b: ['2', '3']}` (Rails array params). */
export function parseForm(text: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of new URLSearchParams(text)) {
    if (k.endsWith('[]')) {
      const list = (out[k.slice(0, -2)] as string[] | undefined) ?? [];
      list.push(v);
      out[k.slice(0, -2)] = list;
    } else out[k] = v;
  }
  return out;
}

class BadRequest extends Error {
  readonly statusCode = 400;
}

function registerParsers(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, {});
    try {
      done(null, JSON.parse(text));
    } catch {
      done(new BadRequest('Bad Request'), undefined);
    }
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, parseForm(String(body)));
  });
  app.addContentTypeParser('multipart/form-data', { parseAs: 'buffer' }, async (req: { headers: Record<string, string | string[] | undefined> }, body: Buffer) => {
    const form = await new Response(body, { headers: { 'content-type': req.headers['content-type'] ?? '' } }).formData();
    const out: Record<string, unknown> = {};
    form.forEach((value, key) => {
      if (typeof value === 'string') out[key.replace(/\[\]$/, '')] = value;
    });
    return out;
  });
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, _body, done) => done(null, {}));
}

export function sendSimResponse(reply: FastifyReply, res: SimResponse, method: string): FastifyReply {
  reply.code(res.status);
  for (const [k, v] of Object.entries(res.headers ?? {})) reply.header(k, v);
  if (res.text !== undefined) {
    reply.header('content-type', res.contentType ?? 'text/plain');
    return reply.send(method === 'HEAD' ? undefined : res.text);
  }
  if (res.body === undefined) return reply.send();
  reply.header('content-type', res.contentType ?? 'application/json; charset=utf-8');
  return reply.send(method === 'HEAD' ? undefined : JSON.stringify(res.body));
}

export function buildSimApp(state: SimState, options: SimOptions, log: RequestLog): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 1_048_576, return503OnClosing: false });
  registerParsers(app);
  const pipeline = new Pipeline(state, options, log);
  if (options.testHooks) registerTestHooks(app, state);
  app.setErrorHandler((err: Error & { statusCode?: number }, _request, reply) => {
    const status = err.statusCode && err.statusCode < 500 ? err.statusCode : 500;
    return reply.code(status).send({ error: status === 400 ? 'Bad Request' : 'Internal Server Error' });
  });
  app.route({
    method: [...METHODS],
    url: '/*',
    exposeHeadRoute: false,
    handler: async (request, reply) => {
      const { response, requestId } = await pipeline.handle({
        method: request.method, url: request.url, headers: request.headers, body: request.body,
        socketIp: request.socket.remoteAddress ?? '127.0.0.1',
      });
      reply.header('x-request-id', requestId);
      return sendSimResponse(reply, response, request.method);
    },
  });
  return app;
}
