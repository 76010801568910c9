import {
  MastoDeserializeError, MastoHttpError, MastoInvalidArgumentError, MastoTimeoutError, MastoUnexpectedError,
} from 'masto';
import { TuskguardError, type ErrorCode } from '../core/errors.js';

/**
 * masto's errors → coded TuskguardErrors (FACTS.md §5, §10, §11). Nothing from the request or the
 * response body is copied verbatim: every text passes through `scrub`, which removes the
 * secrets of the call, and masto errors are never attached as `cause` (a MastoDeserializeError
 * carries the raw body, and a Response its URL).
 */

/** Where and what, for messages and details; never a secret. */
export interface CallContext {
  /** Operation name, e.g. `verifyKey`, `revoke`. */
  readonly op: string;
  readonly instance: string;
  /** Fingerprint of the token the call used, when a fingerprinter is configured. */
  readonly fingerprint?: string | undefined;
}

/** Replace every occurrence of each secret (token, client secret, code…) with `[REDACTED]`. */
export function scrub(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 8) out = out.split(s).join('[REDACTED]');
  return out;
}

/** `…requires scope _read read:statuses_.` → `['read', 'read:statuses']`. */
export function requiredScopesFrom(wwwAuthenticate: string | null | undefined): string[] | undefined {
  const m = /requires scope _(?<scopes>[^_"]*)_/.exec(wwwAuthenticate ?? '');
  return m?.groups?.scopes ? m.groups.scopes.split(' ').filter((s) => s !== '') : undefined;
}

/** Connection-level failures surface as a plain TypeError('fetch failed') with a coded cause. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EPIPE',
  'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CLOSED',
]);

function networkCode(e: unknown): string | undefined {
  if (!(e instanceof TypeError)) return undefined;
  const cause = (e as TypeError & { cause?: { code?: unknown } }).cause;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  if (code && NETWORK_CODES.has(code)) return code;
  return e.message === 'fetch failed' ? (code ?? 'FETCH_FAILED') : undefined;
}

/** The response headers masto keeps on an HTTP error (its `cause` is the Response). */
export function responseHeaders(e: unknown): Headers | undefined {
  if (!(e instanceof MastoHttpError)) return undefined;
  const cause = (e as MastoHttpError & { cause?: unknown }).cause;
  return cause instanceof Response ? cause.headers : undefined;
}

/** X-RateLimit-Reset (ISO 8601 with microseconds) as a Date, when present and parseable. */
export function resetFrom(headers: Headers | undefined): Date | undefined {
  const raw = headers?.get('x-ratelimit-reset');
  const ms = raw ? Date.parse(raw) : NaN;
  return Number.isFinite(ms) ? new Date(ms) : undefined;
}

interface Mapped {
  code: ErrorCode;
  message: string;
  hint: string;
  retryable: boolean;
  details?: Record<string, unknown>;
}

function fromHttp(e: MastoHttpError, ctx: CallContext, secrets: readonly (string | undefined)[]): Mapped {
  const status = e.statusCode;
  const error = scrub(String(e.message ?? ''), secrets);
  const description = e.description ? scrub(String(e.description), secrets) : undefined;
  const headers = responseHeaders(e);
  const base = { status, error, description };
  if (status === 401) {
    return {
      code: 'MASTODON_UNAUTHORIZED', message: `${ctx.op}: Mastodon answered 401: ${error}`, retryable: false, details: base,
      hint: error === 'invalid_client' ? 'check the client_id and client_secret of the app' : 'the token is revoked or unknown; re-issue or rotate it',
    };
  }
  if (status === 403) return fromForbidden(ctx, base, requiredScopesFrom(headers?.get('www-authenticate')));
  if (status === 429) {
    const retryAt = resetFrom(headers);
    return {
      code: 'MASTODON_RATE_LIMITED', message: `${ctx.op}: Mastodon rate limit hit`, retryable: true,
      details: { ...base, retryAt: retryAt?.toISOString() },
      hint: retryAt ? `wait until ${retryAt.toISOString()} before calling with this token again` : 'wait a few minutes and retry',
    };
  }
  const retryable = status >= 500;
  return {
    code: 'MASTODON_ERROR', message: `${ctx.op}: Mastodon answered ${status}: ${error}`, retryable, details: base,
    hint: retryable ? 'the instance has a problem; retry later' : 'the request was rejected; check its parameters',
  };
}

function fromForbidden(ctx: CallContext, base: Record<string, unknown>, requiredScopes: string[] | undefined): Mapped {
  const error = String(base.error);
  const hints: Record<string, string> = {
    unauthorized_client: 'revoke with the client_id and client_secret of the app that issued the token',
    'This action is outside the authorized scopes': `the token lacks a scope${requiredScopes ? ` (any of: ${requiredScopes.join(' ')})` : ''}`,
    'This action is not allowed': "the token's user lacks the admin role permission (e.g. manage_users, manage_blocks)",
    'Your login is currently disabled': "the token's owner is suspended or disabled on the instance",
  };
  return {
    code: 'MASTODON_FORBIDDEN', message: `${ctx.op}: Mastodon answered 403: ${error}`, retryable: false,
    details: { ...base, requiredScopes }, hint: hints[error] ?? 'Mastodon refused the request',
  };
}

function classify(e: unknown, ctx: CallContext, secrets: readonly (string | undefined)[]): Mapped {
  if (e instanceof MastoHttpError) return fromHttp(e, ctx, secrets);
  const unreachable = (reason: string, hint: string): Mapped => ({
    code: 'MASTODON_UNREACHABLE', message: `${ctx.op}: ${ctx.instance} ${reason}`, hint, retryable: true, details: { reason },
  });
  if (e instanceof MastoTimeoutError) return unreachable('did not answer in time', 'check the instance and the network; the call can be retried');
  const net = networkCode(e);
  if (net) return unreachable(`cannot be reached (${net})`, 'check the instance URL, DNS and the network; the call can be retried');
  if (e instanceof MastoUnexpectedError) {
    return {
      code: 'MASTODON_UNEXPECTED_RESPONSE', message: `${ctx.op}: ${ctx.instance} answered with a non-JSON body`, retryable: true,
      hint: 'possibly IP-blocked (Rack::Attack answers 403 text/plain "Forbidden"), or a proxy error page; check from another address',
    };
  }
  if (e instanceof TypeError || e instanceof MastoDeserializeError) {
    // masto turns a text/html error page into `undefined` and then fails to read it (FACTS §11).
    return {
      code: 'MASTODON_UNEXPECTED_RESPONSE', message: `${ctx.op}: ${ctx.instance} answered with an HTML or malformed body`, retryable: true,
      hint: 'the instance or its proxy served an error page (maintenance, 502/503); retry later',
    };
  }
  if (e instanceof MastoInvalidArgumentError) {
    return { code: 'MASTODON_ERROR', message: `${ctx.op}: invalid argument`, retryable: false, hint: 'fix the call parameters' };
  }
  return { code: 'MASTODON_ERROR', message: `${ctx.op}: unexpected failure`, retryable: false, hint: 'see the logs of this run' };
}

/** Map anything masto (or fetch) throws; TuskguardErrors pass through unchanged. */
export function toTuskguardError(e: unknown, ctx: CallContext, secrets: readonly (string | undefined)[]): TuskguardError {
  if (e instanceof TuskguardError) return e;
  const m = classify(e, ctx, secrets);
  return new TuskguardError(m.code, scrub(m.message, secrets), {
    hint: m.hint,
    details: { op: ctx.op, instance: ctx.instance, fingerprint: ctx.fingerprint, retryable: m.retryable, ...m.details },
  });
}

/** When a rate-limited call may be retried (from `details.retryAt`). */
export function retryAtOf(e: unknown): Date | undefined {
  if (!(e instanceof TuskguardError) || e.code !== 'MASTODON_RATE_LIMITED') return undefined;
  const raw = e.details?.retryAt;
  return typeof raw === 'string' ? new Date(raw) : undefined;
}

/** Whether the failure is worth retrying later (unreachable, 5xx, 429, proxy pages). */
export function isRetryable(e: unknown): boolean {
  return e instanceof TuskguardError && e.details?.retryable === true;
}
