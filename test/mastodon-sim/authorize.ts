import { OAUTH_ERROR_TEXT, type OAuthErrorName } from './http.js';
import type { SimGrant } from './model.js';
import { effectiveRequestScopes, scopeStringValid } from './scopes.js';
import type { SimState } from './state.js';

/**
 * The consent screen of the code flow without a browser (TEST ONLY). The real
 * `/oauth/authorize` needs a user signed in to the web UI; this applies the same checks as
 * Doorkeeper's pre-authorization and, when the user "clicks Authorize", issues the code.
 */

export interface AuthorizeRequest {
  clientId: string;
  /** The seeded user who consents. */
  username: string;
  redirectUri: string;
  /** Space-separated; the app's default scopes when absent. */
  scope?: string | undefined;
  state?: string | undefined;
  responseType?: string | undefined;
  codeChallenge?: string | undefined;
  codeChallengeMethod?: string | undefined;
  /** Simulate "Deny" instead of "Authorize". */
  deny?: boolean | undefined;
}

export type AuthorizeOutcome =
  /** The browser would be sent to `location` (the code or a redirectable error is in its query). */
  | { kind: 'redirect'; location: string; code: string | null; grant: SimGrant | null }
  /** Doorkeeper renders an error page instead of redirecting (unknown client, bad redirect URI). */
  | { kind: 'error'; error: OAuthErrorName; description: string }
  /** Out-of-band redirect URI: the code is shown to the user. */
  | { kind: 'oob'; code: string; grant: SimGrant };

const OOB = 'urn:ietf:wg:oauth:2.0:oob';

function redirectWith(uri: string, query: Record<string, string | undefined>): string {
  const url = new URL(uri);
  for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, v);
  return url.toString();
}

function errorRedirect(req: AuthorizeRequest, error: OAuthErrorName, description?: string): AuthorizeOutcome {
  const desc = description ?? OAUTH_ERROR_TEXT[error];
  if (req.redirectUri === OOB) return { kind: 'error', error, description: desc };
  const location = redirectWith(req.redirectUri, { error, error_description: desc, state: req.state });
  return { kind: 'redirect', location, code: null, grant: null };
}

/** PreAuthorization checks in Doorkeeper's order, then the grant. */
export function authorizeForTest(state: SimState, req: AuthorizeRequest): AuthorizeOutcome {
  const app = state.appByUid(req.clientId);
  if (!app) return { kind: 'error', error: 'invalid_client', description: OAUTH_ERROR_TEXT.invalid_client };
  if (!app.redirectUris.includes(req.redirectUri)) {
    return { kind: 'error', error: 'invalid_redirect_uri', description: OAUTH_ERROR_TEXT.invalid_redirect_uri };
  }
  const user = state.userByName(req.username);
  if (!user) throw new Error(`no seeded user named ${req.username}`);
  if ((req.responseType ?? 'code') !== 'code') return errorRedirect(req, 'unsupported_response_type');
  const scopes = effectiveRequestScopes(req.scope, app.scopes);
  if (!scopeStringValid(scopes.join(' '), app.scopes)) return errorRedirect(req, 'invalid_scope');
  if (req.codeChallenge && req.codeChallengeMethod !== 'S256') {
    return errorRedirect(req, 'invalid_request', 'The code_challenge_method must be S256.');
  }
  if (req.deny) return errorRedirect(req, 'access_denied');
  const grant = state.newGrant({
    appId: app.id, userId: user.id, redirectUri: req.redirectUri, scopes,
    codeChallenge: req.codeChallenge ?? null, codeChallengeMethod: req.codeChallenge ? 'S256' : null,
  });
  if (req.redirectUri === OOB) return { kind: 'oob', code: grant.code, grant };
  return { kind: 'redirect', location: redirectWith(req.redirectUri, { code: grant.code, state: req.state }), code: grant.code, grant };
}
