import { createHash } from 'node:crypto';
import {
  head, json, missingParam, oauthError, str, OAUTH_ERROR_TEXT,
  type Handler, type SimContext, type SimRequest, type SimResponse,
} from './http.js';
import type { SimApp, SimToken } from './model.js';
import { CONFIGURED_SCOPES, effectiveRequestScopes, scopeStringValid, scopesParam } from './scopes.js';
import type { SimState } from './state.js';

/**
 * Doorkeeper 5.9.6 endpoints as Mastodon configures them (FACTS.md §1, §2, §4, §5): only the
 * `authorization_code` and `client_credentials` grants, client authentication by HTTP Basic or
 * body but never both, token reuse, RFC 7009 revocation, token info and introspection.
 */

interface Credentials {
  uid: string;
  secret: string | undefined;
}

type Extracted = { kind: 'none' } | { kind: 'multiple' } | { kind: 'found'; creds: Credentials };

function fromBasic(req: SimRequest): Credentials | null {
  const auth = req.headers.authorization;
  const m = auth ? /^Basic (?<b64>.*)$/ims.exec(auth) : null;
  if (!m?.groups) return null;
  const decoded = Buffer.from(m.groups.b64 ?? '', 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  const uid = i === -1 ? decoded : decoded.slice(0, i);
  return uid === '' ? null : { uid, secret: i === -1 ? undefined : decoded.slice(i + 1) };
}

function fromParams(req: SimRequest): Credentials | null {
  const uid = str(req.params.client_id);
  return uid ? { uid, secret: str(req.params.client_secret) } : null;
}

/**
 * `Credentials.from_request(request, :from_basic, :from_params)`: a request that carries a
 * secret both ways, or names two different clients, is rejected (RFC 6749 §2.3).
 */
export function extractCredentials(req: SimRequest): Extracted {
  const found = [fromBasic(req), fromParams(req)].filter((c): c is Credentials => c !== null);
  if (found.filter((c) => c.secret !== undefined && c.secret !== '').length > 1) return { kind: 'multiple' };
  if (new Set(found.map((c) => c.uid)).size > 1) return { kind: 'multiple' };
  return found[0] ? { kind: 'found', creds: found[0] } : { kind: 'none' };
}

const MULTIPLE_AUTH = 'The request utilizes more than one mechanism for authenticating the client.';

function authenticate(state: SimState, extracted: Extracted): SimApp | undefined {
  return extracted.kind === 'found' ? state.authenticateClient(extracted.creds.uid, extracted.creds.secret) : undefined;
}

function tokenResponse(token: SimToken): SimResponse {
  return json(
    200,
    { access_token: token.token, token_type: 'Bearer', scope: token.scopes.join(' '), created_at: token.createdAt },
    { 'cache-control': 'no-store', pragma: 'no-cache' },
  );
}

function clientCredentialsGrant(ctx: SimContext, app: SimApp | undefined): SimResponse {
  if (!app) return oauthError('invalid_client');
  const scopes = effectiveRequestScopes(scopesParam(ctx.req.params.scope), app.scopes);
  const bothBlank = scopes.length === 0 && app.scopes.length === 0;
  if (!bothBlank && !scopeStringValid(scopes.join(' '), app.scopes)) return oauthError('invalid_scope');
  return tokenResponse(ctx.state.issueToken(app, null, scopes));
}

export function s256(verifier: string): string {
  return createHash('sha256').update(verifier, 'utf8').digest('base64url');
}

function authorizationCodeGrant(ctx: SimContext, app: SimApp | undefined): SimResponse {
  const { params } = ctx.req;
  const grant = ctx.state.grants.get(str(params.code) ?? '');
  const verifier = str(params.code_verifier) ?? '';
  const redirectUri = str(params.redirect_uri) ?? '';
  if (grant?.codeChallenge && verifier === '') return missingParam('code_verifier');
  if (redirectUri === '') return missingParam('redirect_uri');
  if (!app) return oauthError('invalid_client');
  const live = grant && grant.appId === app.id && !grant.revokedAt && grant.expiresAt > ctx.state.clock.now();
  if (!grant || !live) return oauthError('invalid_grant');
  if (redirectUri !== grant.redirectUri) return oauthError('invalid_grant');
  const verified =
    verifier === '' ? !grant.codeChallenge
      : grant.codeChallengeMethod === 'S256' ? grant.codeChallenge === s256(verifier)
        : grant.codeChallengeMethod === 'plain' ? grant.codeChallenge === verifier : false;
  if (!verified) return oauthError('invalid_grant');
  grant.revokedAt = ctx.state.now();
  return tokenResponse(ctx.state.issueToken(app, grant.userId, grant.scopes));
}

/** POST /oauth/token */
export const tokenCreate: Handler = (ctx) => {
  const grantType = str(ctx.req.params.grant_type) ?? '';
  if (grantType === '') return missingParam('grant_type');
  if (grantType !== 'client_credentials' && grantType !== 'authorization_code') return oauthError('unsupported_grant_type');
  const extracted = extractCredentials(ctx.req);
  if (extracted.kind === 'multiple') return oauthError('invalid_request', MULTIPLE_AUTH);
  const app = authenticate(ctx.state, extracted);
  return grantType === 'client_credentials' ? clientCredentialsGrant(ctx, app) : authorizationCodeGrant(ctx, app);
};

const REVOKE_DENIED = { error: 'unauthorized_client', error_description: 'You are not authorized to revoke this token' };

/** POST /oauth/revoke: FACTS.md §4 table. */
export const tokenRevoke: Handler = (ctx) => {
  const extracted = extractCredentials(ctx.req);
  if (extracted.kind === 'multiple') return oauthError('invalid_request', MULTIPLE_AUTH);
  const app = authenticate(ctx.state, extracted);
  if (!app) return json(403, REVOKE_DENIED);
  // token_type_hint=refresh_token looks only for refresh tokens, which Mastodon never issues.
  const token = str(ctx.req.params.token_type_hint) === 'refresh_token' ? undefined : ctx.state.findToken(str(ctx.req.params.token));
  if (!token) return json(200, {});
  if (token.appId !== app.id) return json(403, REVOKE_DENIED);
  ctx.state.revokeToken(token);
  return json(200, {});
};

/** GET /oauth/token/info: Doorkeeper always answers a dead token with the "invalid" text. */
export const tokenInfo: Handler = (ctx) => {
  const t = ctx.token;
  if (!t || t.revokedAt) return oauthError('invalid_token');
  const app = ctx.state.apps.get(t.appId);
  return json(200, {
    resource_owner_id: t.userId,
    scope: [...t.scopes],
    expires_in: null,
    application: { uid: app?.uid ?? null },
    created_at: t.createdAt,
  });
};

/** POST /oauth/introspect [read from code]: the token's own app, by credentials or Bearer token. */
export const tokenIntrospect: Handler = (ctx) => {
  const extracted = extractCredentials(ctx.req);
  if (extracted.kind === 'multiple') return oauthError('invalid_request', MULTIPLE_AUTH);
  let viaApp: number;
  if (extracted.kind === 'found') {
    const app = authenticate(ctx.state, extracted);
    if (!app) return oauthError('invalid_client');
    viaApp = app.id;
  } else if (ctx.token) {
    if (ctx.token.revokedAt) return oauthError('invalid_token', 'The access token was revoked');
    viaApp = ctx.token.appId;
  } else {
    return oauthError(
      'invalid_request',
      'Request needs to be authorized. Required parameter for authorizing the request is missing or invalid.',
    );
  }
  const t = ctx.state.findToken(str(ctx.req.params.token));
  if (!t || t.revokedAt || t.appId !== viaApp) return json(200, { active: false });
  const app = ctx.state.apps.get(t.appId);
  return json(200, { active: true, scope: t.scopes.join(' '), client_id: app?.uid, token_type: 'Bearer', iat: t.createdAt });
};

function origin(req: SimRequest): string {
  return `http://${req.headers.host ?? 'localhost'}`;
}

/** Browser-only pages: without a signed-in web session Devise redirects to the login form. */
export const webSessionOnly: Handler = (ctx) => head(302, { location: `${origin(ctx.req)}/auth/sign_in` });

/** `/oauth/applications*`: Mastodon's `admin_authenticator { head 403 }`. */
export const alwaysForbidden: Handler = () => head(403);

/** GET /.well-known/oauth-authorization-server */
export const oauthMetadata: Handler = (ctx) => {
  const base = origin(ctx.req);
  return json(200, {
    issuer: `${base}/`,
    service_documentation: 'https://docs.joinmastodon.org/',
    authorization_endpoint: `${base}/oauth/authorize`,
    token_endpoint: `${base}/oauth/token`,
    app_registration_endpoint: `${base}/api/v1/apps`,
    revocation_endpoint: `${base}/oauth/revoke`,
    userinfo_endpoint: `${base}/oauth/userinfo`,
    scopes_supported: [...CONFIGURED_SCOPES],
    response_types_supported: ['code'],
    response_modes_supported: ['query', 'fragment', 'form_post'],
    code_challenge_methods_supported: ['S256'],
    grant_types_supported: ['authorization_code', 'client_credentials'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
  });
};

export { OAUTH_ERROR_TEXT };
