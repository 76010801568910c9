import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { isTuskguardError } from '../../core/errors.js';
import type { CallbackResult } from '../../keys/rotation/reauthorize/flow.js';
import { CALLBACK_PATH, CONSENT_PATH } from '../../keys/rotation/reauthorize/links.js';

/**
 * The browser side of a `reauthorize` rotation (src/keys/rotation/reauthorize/):
 *
 * - `GET /oauth/consent?r&exp&sig`: the signed link sent to the key's owner; a valid, unexpired
 *   link answers 302 to the instance's /oauth/authorize (state + PKCE S256).
 * - `GET /oauth/callback?code&state` (or `error`): Mastodon's redirect back; the code is
 *   exchanged, the new token stored, and the rotation continues.
 *
 * Both answer small HTML pages for people; an invalid or expired link or state is 400. No
 * page echoes the code or the state, and responses are `no-store`. Mount it in the API app
 * with `{ flow: rotationService.consent }` (null answers 404: reauthorize is not configured).
 */
export interface ConsentFlowPort {
  consentRedirect(query: Record<string, unknown>): string;
  callback(query: Record<string, unknown>): Promise<CallbackResult>;
}

export interface OAuthCallbackOptions {
  flow: ConsentFlowPort | null;
}

const str = { type: 'string', maxLength: 2048 } as const;
const page = { 200: { type: 'string' }, 400: { type: 'string' }, 404: { type: 'string' } } as const;

const consentSchema = {
  summary: 'Open a signed consent link: redirects to the Mastodon consent screen',
  querystring: { type: 'object', properties: { r: { type: 'string', maxLength: 64 }, exp: { type: 'string', maxLength: 16 }, sig: { type: 'string', maxLength: 128 } } },
  response: { ...page, 302: { type: 'null' } },
} as const;

const callbackSchema = {
  summary: 'OAuth redirect URI of apps registered for reauthorize rotations',
  querystring: { type: 'object', properties: { code: str, state: str, error: str, error_description: str } },
  response: page,
} as const;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function html(reply: FastifyReply, status: number, title: string, message: string): FastifyReply {
  const body = `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p></body></html>`;
  return reply.status(status).header('cache-control', 'no-store').header('referrer-policy', 'no-referrer').type('text/html; charset=utf-8').send(body);
}

export const oauthCallbackRoutes: FastifyPluginAsync<OAuthCallbackOptions> = async (app, opts) => {
  const flow = opts.flow;
  const unavailable = (reply: FastifyReply) => html(reply, 404, 'Not available', 'Key re-authorisation is not configured on this tuskguard.');

  app.get(CONSENT_PATH, { schema: consentSchema }, async (req, reply) => {
    if (!flow) return unavailable(reply);
    try {
      return reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer').redirect(flow.consentRedirect(req.query as Record<string, unknown>), 302);
    } catch (e) {
      if (isTuskguardError(e) && e.code === 'CONSENT_INVALID') return html(reply, 400, 'Link not valid', `${e.message}. ${e.hint ?? ''}`);
      throw e;
    }
  });

  app.get(CALLBACK_PATH, { schema: callbackSchema }, async (req, reply) => {
    if (!flow) return unavailable(reply);
    try {
      const result = await flow.callback(req.query as Record<string, unknown>);
      const ok = !['rolling-back', 'rolled-back', 'failed', 'aborted'].includes(result.rotation.state);
      return html(reply, 200, ok ? 'Key renewed' : 'Key not renewed', result.message);
    } catch (e) {
      if (isTuskguardError(e) && e.code === 'CONSENT_INVALID') return html(reply, 400, 'Request not valid', `${e.message}. ${e.hint ?? ''}`);
      throw e;
    }
  });
};
