import {
  accountAction, accountDestroy, accountIndex, accountShow, accountUndo, allowed, ipBlockCreate, ipBlockDestroy,
  ipBlockIndex, ipBlockShow, ipBlockUpdate, permissionFor,
} from './admin.js';
import { accountsVerify, appsCreate, appsVerify, genericEndpoint, userinfo } from './apps.js';
import {
  apiInsufficientScope, apiInvalidToken, json, LOGIN_DISABLED, NEEDS_USER, NOT_ALLOWED,
  type Handler, type SimContext, type SimResponse,
} from './http.js';
import { alwaysForbidden, oauthMetadata, tokenCreate, tokenInfo, tokenIntrospect, tokenRevoke, webSessionOnly } from './oauth.js';
import type { EndpointEntry } from './routes.js';
import { includesAnyScope } from './scopes.js';

/**
 * Which code answers which route, and the controller filters that run before it, in Rails'
 * order: Api::BaseController (`require_not_suspended!`), then the controller's own
 * `doorkeeper_authorize!` / `authorize_if_got_token!`, then `require_user!`.
 */

const ROUTES: Readonly<Record<string, Handler>> = {
  'POST /oauth/token': tokenCreate,
  'POST /oauth/revoke': tokenRevoke,
  'POST /oauth/introspect': tokenIntrospect,
  'GET /oauth/token/info': tokenInfo,
  'GET /.well-known/oauth-authorization-server': oauthMetadata,
  'POST /api/v1/apps': appsCreate,
  'GET /api/v1/apps/verify_credentials': appsVerify,
  'GET /api/v1/accounts/verify_credentials': accountsVerify,
  'GET /oauth/userinfo': userinfo,
  'POST /oauth/userinfo': userinfo,
  'POST /api/v1/admin/accounts/:account_id/action': accountAction,
  'POST /api/v1/admin/accounts/:id/enable': accountUndo('enable'),
  'POST /api/v1/admin/accounts/:id/unsuspend': accountUndo('unsuspend'),
  'POST /api/v1/admin/accounts/:id/unsilence': accountUndo('unsilence'),
  'POST /api/v1/admin/accounts/:id/unsensitive': accountUndo('unsensitive'),
  'POST /api/v1/admin/accounts/:id/approve': accountUndo('approve'),
  'POST /api/v1/admin/accounts/:id/reject': accountUndo('reject'),
  'GET /api/v1/admin/accounts': accountIndex,
  'GET /api/v2/admin/accounts': accountIndex,
  'GET /api/v1/admin/accounts/:id': accountShow,
  'DELETE /api/v1/admin/accounts/:id': accountDestroy,
  'GET /api/v1/admin/ip_blocks': ipBlockIndex,
  'POST /api/v1/admin/ip_blocks': ipBlockCreate,
  'GET /api/v1/admin/ip_blocks/:id': ipBlockShow,
  'PUT /api/v1/admin/ip_blocks/:id': ipBlockUpdate,
  'PATCH /api/v1/admin/ip_blocks/:id': ipBlockUpdate,
  'DELETE /api/v1/admin/ip_blocks/:id': ipBlockDestroy,
};

/** Controllers that inherit Api::BaseController (suspension check, rate-limit headers, last_used_at). */
export function isApiBase(entry: EndpointEntry): boolean {
  return entry.controller !== null && (entry.controller.startsWith('api/') || entry.controller === 'oauth/userinfo');
}

/** Generic admin endpoints: the policy's permission, then a plausible body. */
function genericAdmin(controller: string): Handler {
  const permission = permissionFor(controller);
  return (ctx) => (allowed(ctx, permission) ? genericEndpoint(ctx) : json(403, { error: NOT_ALLOWED }));
}

export function handlerFor(entry: EndpointEntry): Handler {
  const special = ROUTES[`${entry.method} ${entry.path}`];
  if (special) return special;
  if (entry.token === 'n/a (web session)') return webSessionOnly;
  if (entry.token === 'n/a (always 403)') return alwaysForbidden;
  if (entry.token === 'client or bearer') return tokenIntrospect;
  if (entry.also_requires !== undefined) return genericAdmin(entry.controller ?? '');
  return genericEndpoint;
}

/** Api::BaseController before_actions. */
function baseFilters(ctx: SimContext): SimResponse | null {
  if (ctx.options.disallowUnauthenticatedApi && !ctx.user) return json(401, { error: NEEDS_USER });
  const account = ctx.user ? ctx.state.accounts.get(ctx.user.accountId) : undefined;
  if (account?.suspendedAt) return json(403, { error: LOGIN_DISABLED });
  return null;
}

/** `doorkeeper_authorize!(*scopes)`: a live token holding any one of the scopes. */
function doorkeeperAuthorize(ctx: SimContext, scopes: readonly string[]): SimResponse | null {
  if (!ctx.token || ctx.token.revokedAt) return apiInvalidToken(ctx.token);
  if (!includesAnyScope(ctx.token.scopes, scopes)) return apiInsufficientScope(scopes);
  return null;
}

function tokenFilter(ctx: SimContext, entry: EndpointEntry): SimResponse | null {
  // apps/verify_credentials checks `valid_doorkeeper_token?` itself, with no scope requirement.
  if (entry.path === '/api/v1/apps/verify_credentials') return null;
  if (entry.token === 'required') return doorkeeperAuthorize(ctx, entry.scopes);
  if (entry.token === 'optional') {
    if (ctx.token) return doorkeeperAuthorize(ctx, entry.scopes);
    if (ctx.tokenString !== null && ctx.options.unknownTokenOnOptional === 'reject') return apiInvalidToken(null);
  }
  return null;
}

/** `require_user!`, in Mastodon's order of checks. */
function requireUser(ctx: SimContext): SimResponse | null {
  const user = ctx.user;
  if (!user) return json(422, { error: NEEDS_USER });
  if (!user.confirmed) return json(403, { error: 'Your login is missing a confirmed e-mail address' });
  if (!user.approved) return json(403, { error: 'Your login is currently pending approval' });
  const account = ctx.state.accounts.get(user.accountId);
  if (user.disabled || account?.suspendedAt) return json(403, { error: LOGIN_DISABLED });
  return null;
}

/** Run the filters for the route, then its handler. */
export async function runController(ctx: SimContext, entry: EndpointEntry): Promise<SimResponse> {
  if (isApiBase(entry)) {
    const early = baseFilters(ctx) ?? tokenFilter(ctx, entry) ?? (entry.requires_user === true ? requireUser(ctx) : null);
    if (early) return early;
  }
  return handlerFor(entry)(ctx);
}
