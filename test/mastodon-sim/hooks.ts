import type { FastifyInstance } from 'fastify';
import { authorizeForTest } from './authorize.js';
import { str } from './http.js';
import type { SimState, CreateUserInput } from './state.js';
import { SimValidationError } from './state.js';

/**
 * TEST-ONLY control routes under `/__sim/`. They exist because a real Mastodon needs a browser
 * and a database for these steps; nothing under this prefix exists on a real server, and the
 * simulator logs, throttles and IP-blocks none of it.
 *
 * - `POST /__sim/users` `{username, role?, disabled?, confirmed?, approved?}` → `{id, account_id}`
 * - `GET  /__sim/oauth/authorize?client_id&username&redirect_uri&scope&state&code_challenge&code_challenge_method[&deny=1]`
 *   → 302 to the redirect URI with `code` (or an OAuth error), as after the consent screen;
 *   for `urn:ietf:wg:oauth:2.0:oob`, 200 `{code}`; unknown client or redirect URI → 400.
 * - `POST /__sim/vacuum` → `{removed}`: the daily cleanup of revoked tokens.
 */
export function registerTestHooks(app: FastifyInstance, state: SimState): void {
  app.post('/__sim/users', async (request, reply) => {
    const body = (request.body ?? {}) as Partial<CreateUserInput>;
    try {
      const user = state.createUser({ ...body, username: str(body.username) ?? '' } as CreateUserInput);
      return reply.send({ id: user.id, account_id: user.accountId });
    } catch (e) {
      if (e instanceof SimValidationError) return reply.code(422).send({ error: e.message });
      throw e;
    }
  });

  app.get('/__sim/oauth/authorize', async (request, reply) => {
    const q = request.query as Record<string, string | undefined>;
    if (!state.userByName(q.username ?? '')) return reply.code(400).send({ error: 'unknown_user', error_description: 'seed the user with POST /__sim/users first' });
    const outcome = authorizeForTest(state, {
      clientId: q.client_id ?? '', username: q.username ?? '', redirectUri: q.redirect_uri ?? '', scope: q.scope,
      state: q.state, responseType: q.response_type, codeChallenge: q.code_challenge,
      codeChallengeMethod: q.code_challenge_method, deny: q.deny === '1' || q.deny === 'true',
    });
    if (outcome.kind === 'error') return reply.code(400).send({ error: outcome.error, error_description: outcome.description });
    if (outcome.kind === 'oob') return reply.send({ code: outcome.code });
    return reply.redirect(outcome.location, 302);
  });

  app.post('/__sim/vacuum', async () => ({ removed: state.vacuum() }));
}
