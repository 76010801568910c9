import { apiInvalidToken, json, railsTime, str, validationFailed, type Handler, type SimContext } from './http.js';
import type { SimAccount, SimApp, SimUser } from './model.js';
import { SimValidationError } from './state.js';

/**
 * App registration and the "who am I" endpoints (FACTS.md §5, §7), plus the small plausible
 * bodies every other allowed endpoint answers with.
 */

/** `REST::ApplicationSerializer`: the app's registered scopes, no client id or secret. */
export function appJson(app: SimApp): Record<string, unknown> {
  return {
    id: String(app.id),
    name: app.name,
    website: app.website,
    scopes: [...app.scopes],
    redirect_uris: [...app.redirectUris],
    redirect_uri: app.redirectUris.join('\n'),
    vapid_key: 'BEm_a3sim0000000000000000000000000000000000000000000000000000000000000000000000000000000',
  };
}

function redirectUrisParam(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  const text = str(value);
  return text ? text.split(/\r?\n/).map((s) => s.trim()).filter((s) => s !== '') : [];
}

/** POST /api/v1/apps */
export const appsCreate: Handler = (ctx) => {
  const p = ctx.req.params;
  const rawScopes = Array.isArray(p.scopes) ? p.scopes.join(' ') : str(p.scopes);
  try {
    const app = ctx.state.createApp({
      name: str(p.client_name) ?? '',
      redirectUris: redirectUrisParam(p.redirect_uris),
      scopes: rawScopes ?? 'read',
      website: str(p.website) ?? null,
    });
    return json(200, { ...appJson(app), client_id: app.uid, client_secret: app.secret, client_secret_expires_at: 0 });
  } catch (e) {
    if (e instanceof SimValidationError) return validationFailed(e.errors);
    throw e;
  }
};

/** GET /api/v1/apps/verify_credentials: any live token passes, whatever its scopes. */
export const appsVerify: Handler = (ctx) => {
  if (!ctx.token || ctx.token.revokedAt) return apiInvalidToken(ctx.token);
  const app = ctx.state.apps.get(ctx.token.appId);
  return app ? json(200, appJson(app)) : apiInvalidToken(null);
};

export function accountJson(ctx: SimContext, account: SimAccount): Record<string, unknown> {
  const base = `http://${ctx.req.headers.host ?? 'localhost'}`;
  return {
    id: account.id,
    username: account.username,
    acct: account.username,
    display_name: account.username,
    locked: false,
    bot: false,
    discoverable: true,
    group: false,
    created_at: railsTime(account.createdAt),
    note: '',
    url: `${base}/@${account.username}`,
    avatar: `${base}/avatars/original/missing.png`,
    header: `${base}/headers/original/missing.png`,
    followers_count: 0,
    following_count: 0,
    statuses_count: 0,
    last_status_at: null,
    emojis: [],
    fields: [],
  };
}

/** GET /api/v1/accounts/verify_credentials: the token's account, with `source` and `role`. */
export const accountsVerify: Handler = (ctx) => {
  const user = ctx.user as SimUser;
  const account = ctx.state.accountOf(user);
  const role = user.role ? { id: String(user.role.id), name: user.role.name, permissions: '0', color: '', highlighted: true } : null;
  return json(200, {
    ...accountJson(ctx, account),
    source: { privacy: 'public', sensitive: false, language: null, note: '', fields: [], follow_requests_count: 0 },
    role,
  });
};

/** GET|POST /oauth/userinfo (scope `profile`). */
export const userinfo: Handler = (ctx) => {
  const account = ctx.state.accountOf(ctx.user as SimUser);
  const base = `http://${ctx.req.headers.host ?? 'localhost'}`;
  return json(200, {
    iss: `${base}/`,
    sub: `${base}/users/${account.username}`,
    name: account.username,
    preferred_username: account.username,
    profile: `${base}/@${account.username}`,
    picture: `${base}/avatars/original/missing.png`,
  });
};

function statusJson(ctx: SimContext, id: string): Record<string, unknown> {
  const account = ctx.user ? ctx.state.accountOf(ctx.user) : [...ctx.state.accounts.values()][0];
  return {
    id,
    created_at: railsTime(ctx.state.now()),
    visibility: 'public',
    sensitive: false,
    spoiler_text: '',
    content: '<p>simulated status</p>',
    uri: `http://${ctx.req.headers.host ?? 'localhost'}/statuses/${id}`,
    account: account ? accountJson(ctx, account) : null,
    media_attachments: [],
    mentions: [],
    tags: [],
  };
}

/**
 * A small body of the right shape for an allowed request to any endpoint without a dedicated
 * handler: lists for timelines, notifications and indexes, an object for member routes.
 */
export const genericEndpoint: Handler = (ctx) => {
  const { method, path, routeParams } = ctx.req;
  if (method === 'DELETE') return json(200, {});
  if (/\/timelines\/|\/accounts\/[^/]+\/statuses$|\/bookmarks$|\/favourites$/.test(path)) {
    return json(200, [statusJson(ctx, '1000000000000000002'), statusJson(ctx, '1000000000000000001')]);
  }
  if (/\/notifications$/.test(path)) {
    const status = statusJson(ctx, '1000000000000000001');
    return json(200, [{ id: '1', type: 'favourite', created_at: railsTime(ctx.state.now()), account: status.account, status }]);
  }
  if (method === 'POST' && path === '/api/v1/statuses') return json(200, statusJson(ctx, '1000000000000000003'));
  if (/^\/api\/v1\/statuses\/[^/]+$/.test(path)) return json(200, statusJson(ctx, routeParams.id ?? '1'));
  if (method !== 'GET') return json(200, {});
  const last = path.split('/').pop() ?? '';
  if (Object.values(routeParams).includes(last)) return json(200, { id: last });
  return json(200, []);
};
