import type { IncomingHttpHeaders } from 'node:http';
import type { SimState } from './state.js';
import type { SimToken, SimUser } from './model.js';
import type { SimOptions } from './options.js';

/** One request as the simulated Rails app sees it. */
export interface SimRequest {
  readonly method: string;
  /** Path without the query string (what lograge prints). */
  readonly path: string;
  /** Path with the query string (what Rack::Attack logging prints). */
  readonly fullpath: string;
  readonly headers: IncomingHttpHeaders;
  /** Rails `params`: query parameters merged with the body parameters. */
  readonly params: Readonly<Record<string, unknown>>;
  /** `request.remote_ip` after the trusted-proxy walk. */
  readonly ip: string;
  readonly requestId: string;
  /** `:name` segments of the matched route. */
  routeParams: Record<string, string>;
}

/** What a handler answers; the dispatcher writes it and logs the lograge line. */
export interface SimResponse {
  status: number;
  /** JSON body; `undefined` with `text` unset means an empty body (`head`). */
  body?: unknown;
  text?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

/** Everything a handler may use. */
export interface SimContext {
  readonly req: SimRequest;
  readonly state: SimState;
  readonly options: SimOptions;
  /** The token string the request carried (Bearer header, `access_token` or `bearer_token`). */
  readonly tokenString: string | null;
  /** The token row for it, revoked ones included (Doorkeeper `by_token`). */
  readonly token: SimToken | null;
  /** `current_resource_owner`: the token's user, even for a revoked token (FACTS.md §5). */
  readonly user: SimUser | null;
}

export type Handler = (ctx: SimContext) => SimResponse | Promise<SimResponse>;

export function json(status: number, body: unknown, headers?: Record<string, string>): SimResponse {
  return headers ? { status, body, headers } : { status, body };
}

export function str(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return undefined;
}

/**
 * Doorkeeper `sanitize_error_values`: RFC 6750 allows only %x20-21 / %x23-5B / %x5D-7E in
 * `error` and `error_description`, so quotes and backslashes become `_`.
 */
export function sanitizeErrorValue(text: string): string {
  return [...text].map((c) => (/[\x20\x21\x23-\x5b\x5d-\x7e]/.test(c) ? c : '_')).join('');
}

export function wwwAuthenticate(error: string, description: string): string {
  return `Bearer realm="Doorkeeper", error="${sanitizeErrorValue(error)}", error_description="${sanitizeErrorValue(description)}"`;
}

export const INVALID_TOKEN_TEXT = {
  revoked: 'The access token was revoked',
  unknown: 'The access token is invalid',
} as const;

/** `doorkeeper_authorize!` on an Api controller, dead token: 401 `{"error": description}`. */
export function apiInvalidToken(token: SimToken | null): SimResponse {
  const description = token?.revokedAt ? INVALID_TOKEN_TEXT.revoked : INVALID_TOKEN_TEXT.unknown;
  return json(401, { error: description }, {
    'cache-control': 'no-store, no-cache',
    'www-authenticate': wwwAuthenticate('invalid_token', description),
  });
}

/** `doorkeeper_authorize!` on an Api controller, valid token without any listed scope. */
export function apiInsufficientScope(scopes: readonly string[]): SimResponse {
  const description = `Access to this resource requires scope "${scopes.join(' ')}".`;
  return json(403, { error: 'This action is outside the authorized scopes' }, {
    'cache-control': 'no-store, no-cache',
    'www-authenticate': wwwAuthenticate('insufficient_scope', description),
  });
}

export const OAUTH_ERROR_TEXT = {
  invalid_request: 'The request is missing a required parameter, includes an unsupported parameter value, or is otherwise malformed.',
  invalid_client: 'Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.',
  invalid_grant: 'The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.',
  unauthorized_client: 'The client is not authorized to perform this request using this method.',
  unsupported_grant_type: 'The authorization grant type is not supported by the authorization server.',
  invalid_scope: 'The requested scope is invalid, unknown, or malformed.',
  invalid_redirect_uri: "The requested redirect URI is malformed or doesn't match the client redirect URI.",
  unsupported_response_type: 'The authorization server does not support this response type.',
  access_denied: 'The resource owner or authorization server denied the request.',
  invalid_token: INVALID_TOKEN_TEXT.unknown,
} as const;
export type OAuthErrorName = keyof typeof OAUTH_ERROR_TEXT;

/**
 * Doorkeeper `ErrorResponse` on the OAuth endpoints: `{error, error_description}`, 401 for
 * `invalid_client` and `invalid_token`, else 400, with Cache-Control and WWW-Authenticate.
 */
export function oauthError(name: OAuthErrorName, description: string = OAUTH_ERROR_TEXT[name]): SimResponse {
  const status = name === 'invalid_client' || name === 'invalid_token' ? 401 : 400;
  return json(status, { error: name, error_description: description }, {
    'cache-control': 'no-store, no-cache',
    'www-authenticate': wwwAuthenticate(name, description),
  });
}

export function missingParam(param: string): SimResponse {
  return oauthError('invalid_request', `Missing required parameter: ${param}.`);
}

/** Rails' `head :forbidden` and friends. */
export function head(status: number, headers?: Record<string, string>): SimResponse {
  return headers ? { status, headers } : { status };
}

export function notFound(): SimResponse {
  return json(404, { error: 'Record not found' });
}

export function validationFailed(errors: readonly string[]): SimResponse {
  return json(422, { error: `Validation failed: ${errors.join(', ')}` });
}

export const NOT_ALLOWED = 'This action is not allowed';
export const LOGIN_DISABLED = 'Your login is currently disabled';
export const NEEDS_USER = 'This method requires an authenticated user';

/** JSON timestamps as Rails renders them: ISO 8601 with milliseconds, UTC. */
export function railsTime(d: Date | null): string | null {
  return d ? d.toISOString() : null;
}
