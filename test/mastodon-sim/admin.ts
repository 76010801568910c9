import { accountJson } from './apps.js';
import { formatCidr, parseCidr } from './ip.js';
import {
  json, notFound, railsTime, str, validationFailed, NOT_ALLOWED,
  type Handler, type SimContext, type SimResponse,
} from './http.js';
import { roleCan, SEVERITIES, type Permission, type SimAccount, type SimIpBlock, type Severity } from './model.js';

/**
 * The admin API for incident response (FACTS.md §7). The token check (admin scopes) has already
 * run; here Pundit's role permission, the records and the actions. App-only tokens have no user,
 * so Pundit sees the `nobody` role and every admin action answers 403.
 */

/** The Pundit permission each admin controller's policy asks for. */
const CONTROLLER_PERMISSION: ReadonlyArray<[RegExp, Permission]> = [
  [/admin\/(accounts|account_actions)$/, 'manage_users'],
  [/admin\/(ip_blocks|canonical_email_blocks|email_domain_blocks)$/, 'manage_blocks'],
  [/admin\/(domain_blocks|domain_allows)$/, 'manage_federation'],
  [/admin\/reports$/, 'manage_reports'],
  [/admin\/trends\//, 'manage_taxonomies'],
  [/admin\/tags$/, 'manage_taxonomies'],
  [/admin\/(dimensions|measures|retention)$/, 'view_dashboard'],
];

export function permissionFor(controller: string): Permission {
  return CONTROLLER_PERMISSION.find(([re]) => re.test(controller))?.[1] ?? 'administrator';
}

function forbidden(): SimResponse {
  return json(403, { error: NOT_ALLOWED });
}

/** Pundit `authorize`: the token's user must hold the permission through their role. */
export function allowed(ctx: SimContext, permission: Permission): boolean {
  return ctx.user !== null && roleCan(ctx.user.role, permission);
}

function adminAccountJson(ctx: SimContext, account: SimAccount): Record<string, unknown> {
  const user = ctx.state.users.get(account.userId);
  return {
    id: account.id,
    username: account.username,
    domain: null,
    created_at: railsTime(account.createdAt),
    email: user?.email ?? null,
    ip: null,
    ips: [],
    locale: 'en',
    invite_request: null,
    role: user?.role ? { id: String(user.role.id), name: user.role.name, permissions: '0', color: '', highlighted: true } : null,
    confirmed: user?.confirmed ?? false,
    suspended: account.suspendedAt !== null,
    silenced: account.silencedAt !== null,
    sensitized: account.sensitizedAt !== null,
    disabled: user?.disabled ?? false,
    approved: user?.approved ?? false,
    account: accountJson(ctx, account),
  };
}

function findAccount(ctx: SimContext): SimAccount | undefined {
  const id = ctx.req.routeParams.account_id ?? ctx.req.routeParams.id ?? '';
  return ctx.state.accounts.get(id);
}

const ACTION_TYPES = ['none', 'disable', 'sensitive', 'silence', 'suspend'] as const;

/** POST /api/v1/admin/accounts/:account_id/action → 200 `{}`. Neither disable nor suspend revokes tokens. */
export const accountAction: Handler = (ctx) => {
  const account = findAccount(ctx);
  if (!account) return notFound();
  if (!allowed(ctx, 'manage_users')) return forbidden();
  const type = str(ctx.req.params.type) ?? '';
  if (!(ACTION_TYPES as readonly string[]).includes(type)) {
    return validationFailed(type === '' ? ["Type can't be blank", 'Type is not included in the list'] : ['Type is not included in the list']);
  }
  const user = ctx.state.users.get(account.userId);
  const now = ctx.state.now();
  if (type === 'none') account.strikes += 1;
  if (type === 'sensitive') account.sensitizedAt = now;
  if (type === 'silence') account.silencedAt = now;
  if (type === 'disable' && user) user.disabled = true;
  if (type === 'suspend') {
    account.suspendedAt = now;
    account.suspensionOrigin = 'local';
    ctx.state.recordSideEffect({ kind: 'canonical-email-block', accountId: account.id });
  }
  if (type === 'disable' || type === 'suspend') ctx.state.recordSideEffect({ kind: 'streaming-kill', accountId: account.id });
  if (type !== 'none' && ctx.req.params.send_email_notification !== false && ctx.req.params.send_email_notification !== 'false') {
    ctx.state.recordSideEffect({ kind: 'email', accountId: account.id });
  }
  return json(200, {});
};

type Undo = 'enable' | 'unsuspend' | 'unsilence' | 'unsensitive' | 'approve' | 'reject';

/** POST /api/v1/admin/accounts/:id/{enable,unsuspend,…} → the admin account. */
export function accountUndo(kind: Undo): Handler {
  return (ctx) => {
    const account = findAccount(ctx);
    if (!account) return notFound();
    const user = ctx.state.users.get(account.userId);
    const applicable =
      kind === 'unsuspend' ? account.suspensionOrigin === 'local'
        : kind === 'approve' || kind === 'reject' ? user?.approved === false : true;
    if (!allowed(ctx, 'manage_users') || !applicable) return forbidden();
    if (kind === 'enable' && user) user.disabled = false;
    if (kind === 'unsuspend') [account.suspendedAt, account.suspensionOrigin] = [null, null];
    if (kind === 'unsilence') account.silencedAt = null;
    if (kind === 'unsensitive') account.sensitizedAt = null;
    if (kind === 'approve' && user) user.approved = true;
    return json(200, adminAccountJson(ctx, account));
  };
}

/** GET /api/v1/admin/accounts/:id */
export const accountShow: Handler = (ctx) => {
  const account = findAccount(ctx);
  if (!account) return notFound();
  return allowed(ctx, 'manage_users') ? json(200, adminAccountJson(ctx, account)) : forbidden();
};

/** GET /api/v1/admin/accounts and /api/v2/admin/accounts, with the common status filters. */
export const accountIndex: Handler = (ctx) => {
  if (!allowed(ctx, 'manage_users')) return forbidden();
  const p = ctx.req.params;
  const status = str(p.status) ?? ['suspended', 'disabled', 'silenced', 'pending'].find((k) => p[k] === 'true' || p[k] === true);
  const username = str(p.username);
  const rows = [...ctx.state.accounts.values()].filter((a) => {
    const user = ctx.state.users.get(a.userId);
    if (username && !a.username.toLowerCase().startsWith(username.toLowerCase())) return false;
    if (status === 'suspended') return a.suspendedAt !== null;
    if (status === 'silenced') return a.silencedAt !== null;
    if (status === 'disabled') return user?.disabled === true;
    if (status === 'pending') return user?.approved === false;
    if (status === 'active') return a.suspendedAt === null;
    return true;
  });
  return json(200, rows.map((a) => adminAccountJson(ctx, a)));
};

function ipBlockJson(b: SimIpBlock): Record<string, unknown> {
  return {
    id: b.id, ip: formatCidr(b.cidr), severity: b.severity, comment: b.comment,
    created_at: railsTime(b.createdAt), expires_at: railsTime(b.expiresAt),
  };
}

/** Apply `ip`, `severity`, `comment`, `expires_in` (seconds) and validate like IpBlock. */
function applyIpBlockParams(ctx: SimContext, target: Partial<SimIpBlock>, selfId: string | null): string[] {
  const p = ctx.req.params;
  const errors: string[] = [];
  if (p.ip !== undefined || selfId === null) {
    const cidr = parseCidr(str(p.ip) ?? '');
    if (cidr) target.cidr = cidr;
    else errors.push("Ip can't be blank");
  }
  if (p.severity !== undefined || selfId === null) {
    const sev = str(p.severity) ?? '';
    if ((SEVERITIES as readonly string[]).includes(sev)) target.severity = sev as Severity;
    else errors.push(sev === '' ? "Severity can't be blank" : 'Severity is not included in the list');
  }
  if (p.comment !== undefined) target.comment = str(p.comment) ?? '';
  const expiresIn = Number(str(p.expires_in) ?? NaN);
  if (p.expires_in !== undefined) target.expiresAt = Number.isFinite(expiresIn) && expiresIn > 0 ? new Date(ctx.state.clock.now() + expiresIn * 1000) : null;
  const cidr = target.cidr;
  if (cidr && [...ctx.state.ipBlocks.values()].some((b) => b.id !== selfId && formatCidr(b.cidr) === formatCidr(cidr))) {
    errors.push('Ip has already been taken');
  }
  return errors;
}

export const ipBlockCreate: Handler = (ctx) => {
  if (!allowed(ctx, 'manage_blocks')) return forbidden();
  const draft: Partial<SimIpBlock> = { comment: '', expiresAt: null };
  const errors = applyIpBlockParams(ctx, draft, null);
  if (errors.length > 0) return validationFailed(errors);
  const block: SimIpBlock = {
    id: ctx.state.nextIpBlockId(), cidr: draft.cidr!, severity: draft.severity!, comment: draft.comment ?? '',
    createdAt: ctx.state.now(), expiresAt: draft.expiresAt ?? null,
  };
  ctx.state.ipBlocks.set(block.id, block);
  return json(200, ipBlockJson(block));
};

export const ipBlockIndex: Handler = (ctx) => {
  if (!allowed(ctx, 'manage_blocks')) return forbidden();
  return json(200, [...ctx.state.ipBlocks.values()].reverse().map(ipBlockJson));
};

function withBlock(fn: (ctx: SimContext, block: SimIpBlock) => SimResponse): Handler {
  return (ctx) => {
    const block = ctx.state.ipBlocks.get(ctx.req.routeParams.id ?? '');
    if (!block) return notFound();
    return allowed(ctx, 'manage_blocks') ? fn(ctx, block) : forbidden();
  };
}

export const ipBlockShow = withBlock((_ctx, block) => json(200, ipBlockJson(block)));

export const ipBlockUpdate = withBlock((ctx, block) => {
  const draft: Partial<SimIpBlock> = {};
  const errors = applyIpBlockParams(ctx, draft, block.id);
  if (errors.length > 0) return validationFailed(errors);
  Object.assign(block, draft);
  return json(200, ipBlockJson(block));
});

export const ipBlockDestroy = withBlock((ctx, block) => {
  ctx.state.ipBlocks.delete(block.id);
  return json(200, {});
});

/** DELETE /api/v1/admin/accounts/:id: only a suspended account, only with `delete_user_data`. */
export const accountDestroy: Handler = (ctx) => {
  const account = findAccount(ctx);
  if (!account) return notFound();
  if (!allowed(ctx, 'delete_user_data') || account.suspendedAt === null) return forbidden();
  const body = adminAccountJson(ctx, account);
  ctx.state.accounts.delete(account.id);
  ctx.state.users.delete(account.userId);
  return json(200, body);
};
