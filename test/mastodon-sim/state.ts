import type { Clock } from '../../src/core/clock.js';
import { cidrContains } from './ip.js';
import {
  ROLE_PRESETS, urlsafeToken,
  type Permission, type SimAccount, type SimApp, type SimGrant, type SimIpBlock, type SimRole, type SimSideEffect,
  type SimToken, type SimUser,
} from './model.js';
import { CONFIGURED_SCOPES, isConfigured, sameScopeSet, scopesFromString } from './scopes.js';

/** A Rails validation failure; its message is what follows `Validation failed: `. */
export class SimValidationError extends Error {
  constructor(readonly errors: readonly string[]) {
    super(errors.join(', '));
    this.name = 'SimValidationError';
  }
}

export interface CreateUserInput {
  username: string;
  email?: string;
  /** A preset role name or a custom role; none by default. */
  role?: keyof typeof ROLE_PRESETS | { name: string; permissions: readonly Permission[] };
  disabled?: boolean;
  confirmed?: boolean;
  approved?: boolean;
}

export interface CreateAppInput {
  name: string;
  redirectUris?: readonly string[];
  /** Space-separated or a list; `read` when absent (Mastodon's default). */
  scopes?: string | readonly string[];
  website?: string | null;
}

const OOB = 'urn:ietf:wg:oauth:2.0:oob';

/** Doorkeeper redirect URI checks plus Mastodon's length limits; Rails-style messages. */
function validateApp(input: CreateAppInput, scopes: readonly string[]): string[] {
  const errors: string[] = [];
  if (!input.name || input.name.trim() === '') errors.push("Application name can't be blank");
  else if (input.name.length > 60) errors.push('Application name is too long (maximum is 60 characters)');
  const uris = input.redirectUris ?? [];
  if (uris.length === 0) errors.push("Redirect URI can't be blank");
  for (const uri of uris) {
    if (uri === OOB) continue;
    let parsed: URL;
    try {
      parsed = new URL(uri);
    } catch {
      errors.push(/^[a-z][a-z0-9+.-]*:/i.test(uri) ? 'Redirect URI must be a valid URI.' : 'Redirect URI must be an absolute URI.');
      continue;
    }
    if (parsed.hash !== '' || uri.includes('#')) errors.push('Redirect URI cannot contain a fragment.');
  }
  if (uris.join('\n').length > 2000) errors.push('Redirect URI is too long (maximum is 2000 characters)');
  if (scopes.some((s) => !isConfigured(s))) errors.push("Scopes doesn't match those configured on the server.");
  if (input.website && input.website.length > 2000) errors.push('Application website is too long (maximum is 2000 characters)');
  return errors;
}

/** In-memory Mastodon data plus the test-only controls (seed users, issue codes, vacuum). */
export class SimState {
  readonly users = new Map<number, SimUser>();
  readonly accounts = new Map<string, SimAccount>();
  readonly apps = new Map<number, SimApp>();
  readonly tokens = new Map<string, SimToken>();
  readonly grants = new Map<string, SimGrant>();
  readonly ipBlocks = new Map<string, SimIpBlock>();
  readonly sideEffects: SimSideEffect[] = [];
  private seq = { user: 0, app: 0, token: 0, ipBlock: 0, role: 100, snowflake: 0 };

  constructor(readonly clock: Clock) {}

  now(): Date {
    return new Date(this.clock.now());
  }

  private snowflake(): string {
    this.seq.snowflake += 1;
    return ((BigInt(this.clock.now()) << 16n) | BigInt(this.seq.snowflake & 0xffff)).toString();
  }

  createUser(input: CreateUserInput): SimUser {
    if ([...this.accounts.values()].some((a) => a.username.toLowerCase() === input.username.toLowerCase())) {
      throw new SimValidationError(['Username has already been taken']);
    }
    const role: SimRole | null =
      input.role === undefined ? null
        : typeof input.role === 'string' ? { id: ++this.seq.role, name: input.role, permissions: ROLE_PRESETS[input.role] }
          : { id: ++this.seq.role, name: input.role.name, permissions: [...input.role.permissions] };
    const id = ++this.seq.user;
    const account: SimAccount = {
      id: this.snowflake(), username: input.username, userId: id, createdAt: this.now(), suspendedAt: null,
      suspensionOrigin: null, silencedAt: null, sensitizedAt: null, strikes: 0,
    };
    const user: SimUser = {
      id, accountId: account.id, email: input.email ?? `${input.username}@sim.example`, role,
      disabled: input.disabled ?? false, confirmed: input.confirmed ?? true, approved: input.approved ?? true,
    };
    this.accounts.set(account.id, account);
    this.users.set(id, user);
    return user;
  }

  userByName(username: string): SimUser | undefined {
    const account = [...this.accounts.values()].find((a) => a.username === username);
    return account ? this.users.get(account.userId) : undefined;
  }

  accountOf(user: SimUser): SimAccount {
    return this.accounts.get(user.accountId) as SimAccount;
  }

  /** `POST /api/v1/apps` semantics; throws SimValidationError like `create!`. */
  createApp(input: CreateAppInput): SimApp {
    const raw = input.scopes === undefined ? 'read' : typeof input.scopes === 'string' ? input.scopes : input.scopes.join(' ');
    const scopes = scopesFromString(raw);
    const errors = validateApp(input, scopes);
    if (errors.length > 0) throw new SimValidationError(errors);
    const app: SimApp = {
      id: ++this.seq.app, name: input.name, uid: urlsafeToken(), secret: urlsafeToken(),
      redirectUris: [...(input.redirectUris ?? [])], scopes, website: input.website ?? null, createdAt: this.now(),
    };
    this.apps.set(app.id, app);
    return app;
  }

  appByUid(uid: string): SimApp | undefined {
    return [...this.apps.values()].find((a) => a.uid === uid);
  }

  /** Doorkeeper `by_uid_and_secret`: API apps are confidential, so the secret must match. */
  authenticateClient(uid: string | undefined, secret: string | undefined): SimApp | undefined {
    if (!uid) return undefined;
    const app = this.appByUid(uid);
    return app && secret !== undefined && app.secret === secret ? app : undefined;
  }

  /**
   * `find_or_create_for` with `reuse_access_token`: the newest live token of the same app, same
   * user and exactly the same scope set comes back; otherwise a new one is created.
   */
  issueToken(app: SimApp, userId: number | null, scopes: readonly string[]): SimToken {
    const reusable = [...this.tokens.values()]
      .filter((t) => t.appId === app.id && t.userId === userId && t.revokedAt === null && sameScopeSet(t.scopes, scopes))
      .sort((a, b) => b.id - a.id)[0];
    if (reusable) return reusable;
    const token: SimToken = {
      id: ++this.seq.token, token: urlsafeToken(), appId: app.id, userId, scopes: [...scopes],
      createdAt: Math.floor(this.clock.now() / 1000), revokedAt: null, lastUsedAt: null, lastUsedIp: null,
    };
    this.tokens.set(token.token, token);
    return token;
  }

  /** Doorkeeper `by_token`: revoked rows are found too, until the vacuum deletes them. */
  findToken(token: string | null | undefined): SimToken | undefined {
    return token ? this.tokens.get(token) : undefined;
  }

  /** Set `revoked_at` and publish the streaming kill, as the `after_commit` hook does. */
  revokeToken(token: SimToken): void {
    if (token.revokedAt) return;
    token.revokedAt = this.now();
    this.sideEffects.push({ kind: 'streaming-kill', tokenId: token.id, at: this.now() });
  }

  /** `Vacuum::AccessTokensVacuum`: delete revoked rows; their tokens then read as unknown. */
  vacuum(): number {
    let removed = 0;
    for (const [key, t] of this.tokens) {
      if (t.revokedAt) {
        this.tokens.delete(key);
        removed += 1;
      }
    }
    return removed;
  }

  newGrant(fields: Omit<SimGrant, 'code' | 'expiresAt' | 'revokedAt'>): SimGrant {
    const grant: SimGrant = { ...fields, code: urlsafeToken(), expiresAt: this.clock.now() + 600_000, revokedAt: null };
    this.grants.set(grant.code, grant);
    return grant;
  }

  nextIpBlockId(): string {
    this.seq.ipBlock += 1;
    return String(this.seq.ipBlock);
  }

  /** `IpBlock.blocked?`: an unexpired `no_access` block whose network contains the address. */
  isIpBlocked(ip: string): boolean {
    const now = this.clock.now();
    for (const b of this.ipBlocks.values()) {
      if (b.severity !== 'no_access') continue;
      if (b.expiresAt && b.expiresAt.getTime() <= now) continue;
      if (cidrContains(b.cidr, ip)) return true;
    }
    return false;
  }

  /** AccessTokenTrackingConcern: at most once per 24 h per token, also for revoked tokens. */
  touchToken(token: SimToken, ip: string): void {
    const now = this.clock.now();
    if (token.lastUsedAt && now - token.lastUsedAt.getTime() < 86_400_000) return;
    token.lastUsedAt = new Date(now);
    token.lastUsedIp = ip;
  }

  recordSideEffect(effect: Omit<SimSideEffect, 'at'>): void {
    this.sideEffects.push({ ...effect, at: this.now() });
  }

  configuredScopes(): readonly string[] {
    return CONFIGURED_SCOPES;
  }
}
