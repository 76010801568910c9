import { createOAuthAPIClient, createRestAPIClient, type mastodon } from 'masto';
import { silentLogger, type Logger } from '../core/logger.js';
import { responseHeaders, toTuskguardError, type CallContext } from './errors.js';
import { budgetKey, TokenBudget } from './rate-limit.js';
import type {
  IpBlockInfo, IssuedToken, KeyStatus, KeyVerification, MastodonClientOptions, RegisteredApp, RevokeResult,
} from './client-types.js';

export type * from './client-types.js';

/**
 * tuskguard's Mastodon client on masto 7.12.0 (FACTS.md §11). One REST client per call and
 * token (masto fixes the token per client, so a rotated token always gets a fresh client).
 * Every failure is a coded TuskguardError; no token, client secret or code ever reaches an
 * error, a log line or a thrown object (only fingerprints, when a fingerprinter is given).
 */

interface TokenInfo {
  resourceOwnerId: number | null;
  scope: string[];
  application: { uid: string | null };
  createdAt: number;
}

/** `/oauth/token/info` is not in masto's typings; its proxy builds the path from the chain. */
interface TokenInfoClient {
  token: { info: { fetch(): Promise<TokenInfo> } };
}

type Admin = { instance: string; token: string };
const OOB = 'urn:ietf:wg:oauth:2.0:oob';
const ACCOUNT_SCOPES = ['profile', 'read', 'read:accounts'];
const LOGIN_DISABLED = 'Your login is currently disabled';

export class MastodonClient {
  private readonly timeoutMs: number;
  private readonly logger: Logger;
  private readonly budget: TokenBudget;

  constructor(private readonly options: MastodonClientOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.logger = options.logger ?? silentLogger;
    this.budget = new TokenBudget(options.budget, options.clock);
  }

  private ctx(op: string, instance: string, token?: string): CallContext {
    return { op, instance, fingerprint: token && this.options.fingerprint ? this.options.fingerprint(token) : undefined };
  }

  private rest(instance: string, token?: string): mastodon.rest.Client {
    return createRestAPIClient({ url: instance, accessToken: token, timeout: this.timeoutMs, log: 'error' });
  }

  private oauth(instance: string, token?: string): mastodon.oauth.Client {
    return createOAuthAPIClient({ url: instance, accessToken: token, timeout: this.timeoutMs, log: 'error' });
  }

  /** An `/api` call with `token`: budgeted, headers observed, errors mapped. */
  private async api<T>(
    op: string, instance: string, token: string,
    fn: (rest: mastodon.rest.Client) => Promise<{ data: T; headers: Headers }>,
  ): Promise<T> {
    const ctx = this.ctx(op, instance, token);
    const key = budgetKey(instance, token);
    this.budget.take(key, ctx);
    try {
      const { data, headers } = await fn(this.rest(instance, token));
      this.budget.observe(key, headers);
      return data;
    } catch (e) {
      this.budget.observe(key, responseHeaders(e), (e as { statusCode?: number }).statusCode);
      throw this.fail(e, ctx, [token]);
    }
  }

  private fail(e: unknown, ctx: CallContext, secrets: readonly (string | undefined)[]): Error {
    const err = toTuskguardError(e, ctx, secrets);
    // A 401 is an answer about the token (often the expected one), not a problem of the call.
    const level = err.code === 'MASTODON_UNAUTHORIZED' ? 'info' : 'warn';
    this.logger[level]({ code: err.code, op: ctx.op, instance: ctx.instance, fingerprint: ctx.fingerprint, details: err.details }, 'mastodon call failed');
    return err;
  }

  /** `/oauth/token/info` (unthrottled): the token's scopes and owner, or null for a dead token (401). */
  private async tokenInfo(instance: string, token: string): Promise<TokenInfo | null> {
    try {
      return await (this.oauth(instance, token) as unknown as TokenInfoClient).token.info.fetch();
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode === 401) return null;
      throw this.fail(e, this.ctx('tokenInfo', instance, token), [token]);
    }
  }

  /**
   * Is the key alive, what may it do, whose is it? token/info first; for a dead token one more
   * call tells "revoked" from "unknown"; for a live one apps/verify_credentials (403 when the
   * owner is suspended) and, when its scopes allow, accounts/verify_credentials.
   */
  async verifyKey(input: { instance: string; token: string }): Promise<KeyVerification> {
    const { instance, token } = input;
    const info = await this.tokenInfo(instance, token);
    if (!info) return { ...EMPTY, status: await this.deadReason(instance, token) };
    const base = {
      ...EMPTY, live: true, scopes: info.scope, appUid: info.application.uid,
      ownerUserId: info.resourceOwnerId, createdAt: new Date(info.createdAt * 1000),
    };
    let app: mastodon.v1.Client;
    try {
      app = await this.api('verifyKey', instance, token, (r) => r.v1.apps.verifyCredentials.$raw());
    } catch (e) {
      if (isLoginDisabled(e)) return { ...base, status: 'suspended' };
      throw e;
    }
    const withApp = { ...base, status: 'live' as KeyStatus, appName: app.name, appScopes: app.scopes ?? [] };
    if (info.resourceOwnerId === null || !info.scope.some((s) => ACCOUNT_SCOPES.includes(s))) return withApp;
    try {
      const acct = await this.api('verifyKey', instance, token, (r) => r.v1.accounts.verifyCredentials.$raw());
      return { ...withApp, account: { id: acct.id, username: acct.username, acct: acct.acct } };
    } catch (e) {
      if (isLoginDisabled(e)) return { ...withApp, status: 'disabled' };
      throw e;
    }
  }

  /**
   * A dead token's 401 text on an Api endpoint says whether it was revoked or is unknown. A 403
   * "login disabled" means the row still resolves to its (suspended) user, so it was revoked.
   * When the reason cannot be read (rate limit, outage), the token is still dead: `invalid`.
   */
  private async deadReason(instance: string, token: string): Promise<KeyStatus> {
    try {
      await this.api('verifyKey', instance, token, (r) => r.v1.apps.verifyCredentials.$raw());
      return 'invalid';
    } catch (e) {
      const details = (e as { details?: Record<string, unknown> }).details;
      if (details?.status === 401) return details.error === 'The access token was revoked' ? 'revoked' : 'invalid';
      return isLoginDisabled(e) ? 'revoked' : 'invalid';
    }
  }

  /**
   * RFC 7009 revocation with the issuing app's credentials (FACTS §4), then confirmation through
   * `/oauth/token/info`, which answers 401 for a revoked token. (Not the user-only endpoints:
   * those keep accepting revoked tokens until the daily vacuum, FACTS §5.)
   */
  async revoke(input: { instance: string; clientId: string; clientSecret: string; token: string }): Promise<RevokeResult> {
    const { instance, clientId, clientSecret, token } = input;
    const ctx = this.ctx('revoke', instance, token);
    try {
      await this.oauth(instance).revoke({ clientId, clientSecret, token });
    } catch (e) {
      throw this.fail(e, ctx, [token, clientSecret]);
    }
    let status: number | null;
    try {
      status = (await this.tokenInfo(instance, token)) === null ? 401 : 200;
    } catch (e) {
      this.logger.warn({ op: 'revoke', instance, fingerprint: ctx.fingerprint, code: (e as { code?: string }).code }, 'revocation accepted but not confirmed');
      status = null;
    }
    this.logger.info({ op: 'revoke', instance, fingerprint: ctx.fingerprint, confirmed: status === 401 }, 'mastodon token revoked');
    return { revoked: true, confirmed: status === 401, status };
  }

  /**
   * An app-only token (client_credentials). Mastodon returns the SAME live token for the same app
   * and scope set (FACTS §3): to rotate, revoke the old token first, then mint.
   */
  async mintAppToken(input: { instance: string; clientId: string; clientSecret: string; scopes: readonly string[] }): Promise<IssuedToken> {
    const { instance, clientId, clientSecret, scopes } = input;
    try {
      const t = await this.oauth(instance).token.create({
        grantType: 'client_credentials', clientId, clientSecret, redirectUri: OOB, scope: scopes.join(' '),
      });
      return issued(t);
    } catch (e) {
      throw this.fail(e, this.ctx('mintAppToken', instance), [clientSecret]);
    }
  }

  /** Exchange an authorization code (with its PKCE verifier) for a user token. */
  async exchangeCode(input: {
    instance: string; clientId: string; clientSecret: string; code: string; redirectUri: string; codeVerifier?: string;
  }): Promise<IssuedToken> {
    const { instance, clientId, clientSecret, code, redirectUri, codeVerifier } = input;
    // masto 7.12 has no codeVerifier field; its serializer still sends it as code_verifier.
    const params = { grantType: 'authorization_code' as const, clientId, clientSecret, code, redirectUri, codeVerifier };
    try {
      return issued(await this.oauth(instance).token.create(params));
    } catch (e) {
      throw this.fail(e, this.ctx('exchangeCode', instance), [clientSecret, code, codeVerifier]);
    }
  }

  /** POST /api/v1/apps (5 per 10 minutes per IP). Register exactly the scopes tokens will need. */
  async registerApp(input: { instance: string; name: string; redirectUris: readonly string[]; scopes: readonly string[]; website?: string }): Promise<RegisteredApp> {
    const { instance, name, redirectUris, scopes, website } = input;
    try {
      const app = await this.rest(instance).v1.apps.create({ clientName: name, redirectUris, scopes: scopes.join(' '), website });
      return {
        id: (app as mastodon.v1.Client & { id?: string }).id ?? '', name: app.name, clientId: app.clientId ?? '', clientSecret: app.clientSecret ?? '',
        scopes: app.scopes ?? [...scopes], redirectUris: app.redirectUris ?? [...redirectUris],
      };
    } catch (e) {
      throw this.fail(e, this.ctx('registerApp', instance), []);
    }
  }

  private accountAction(op: string, a: Admin & { accountId: string; text?: string; notify?: boolean }, type: 'suspend' | 'disable'): Promise<void> {
    return this.api(op, a.instance, a.token, (r) =>
      r.v1.admin.accounts.$select(a.accountId).action.create.$raw({ type, text: a.text, sendEmailNotification: a.notify ?? false }),
    );
  }

  /** Suspend: blocks every API call of the owner's tokens (does not revoke them). */
  async suspendAccount(a: Admin & { accountId: string; text?: string; notify?: boolean }): Promise<void> {
    await this.accountAction('suspendAccount', a, 'suspend');
  }

  /** Disable the login: blocks require_user! endpoints; other token endpoints keep working. */
  async disableAccount(a: Admin & { accountId: string; text?: string; notify?: boolean }): Promise<void> {
    await this.accountAction('disableAccount', a, 'disable');
  }

  async unsuspendAccount(a: Admin & { accountId: string }): Promise<void> {
    await this.api('unsuspendAccount', a.instance, a.token, (r) => r.v1.admin.accounts.$select(a.accountId).unsuspend.$raw());
  }

  async enableAccount(a: Admin & { accountId: string }): Promise<void> {
    await this.api('enableAccount', a.instance, a.token, (r) => r.v1.admin.accounts.$select(a.accountId).enable.$raw());
  }

  async createIpBlock(a: Admin & { ip: string; severity: IpBlockInfo['severity']; comment?: string; expiresInSeconds?: number }): Promise<IpBlockInfo> {
    const block = await this.api('createIpBlock', a.instance, a.token, (r) =>
      r.v1.admin.ipBlocks.create.$raw({ ip: a.ip, severity: a.severity, comment: a.comment, expiresIn: a.expiresInSeconds }),
    );
    return ipBlock(block);
  }

  async deleteIpBlock(a: Admin & { id: string }): Promise<void> {
    await this.api('deleteIpBlock', a.instance, a.token, (r) => r.v1.admin.ipBlocks.$select(a.id).remove.$raw());
  }

  /** The first page (up to `limit`, default 100). */
  async listIpBlocks(a: Admin & { limit?: number }): Promise<IpBlockInfo[]> {
    const page = await this.api('listIpBlocks', a.instance, a.token, async (r) => {
      const res = await r.v1.admin.ipBlocks.list.$raw({ limit: a.limit ?? 100 });
      return res ?? { data: [], headers: new Headers() };
    });
    return page.map(ipBlock);
  }
}

const EMPTY: KeyVerification = {
  live: false, status: 'invalid', scopes: [], appUid: null, appName: null, appScopes: [], ownerUserId: null, account: null, createdAt: null,
};

function isLoginDisabled(e: unknown): boolean {
  const d = (e as { code?: string; details?: Record<string, unknown> }).details;
  return (e as { code?: string }).code === 'MASTODON_FORBIDDEN' && d?.error === LOGIN_DISABLED;
}

function issued(t: mastodon.v1.Token): IssuedToken {
  return { accessToken: t.accessToken, scopes: t.scope.split(' ').filter((s) => s !== ''), createdAt: new Date(t.createdAt * 1000) };
}

function ipBlock(b: mastodon.v1.Admin.IpBlock): IpBlockInfo {
  const expires = b.expiresAt as unknown;
  return {
    id: b.id, ip: b.ip, severity: b.severity, comment: b.comment, createdAt: b.createdAt,
    expiresAt: typeof expires === 'string' ? expires : null,
  };
}
