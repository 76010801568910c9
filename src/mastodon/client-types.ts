import type { Clock } from '../core/clock.js';
import type { Fingerprinter } from '../core/fingerprint.js';
import type { Logger } from '../core/logger.js';
import type { BudgetSettings } from './rate-limit.js';

/** Options and results of MastodonClient (client.ts). Results never carry a secret except where named. */

export interface MastodonClientOptions {
  /** Per-request timeout (masto `timeout`); default 10 s. */
  readonly timeoutMs?: number;
  readonly logger?: Logger;
  /** Names tokens in logs and errors; without it they are not named at all. */
  readonly fingerprint?: Fingerprinter;
  readonly clock?: Clock;
  /** Per-token budget for `/api` calls; default 280 of Mastodon's 300 per 5 minutes. */
  readonly budget?: Partial<BudgetSettings>;
}

export type KeyStatus = 'live' | 'suspended' | 'disabled' | 'revoked' | 'invalid';

export interface KeyVerification {
  /** The token itself is valid (not revoked, not unknown). A suspended owner's token is live but blocked. */
  readonly live: boolean;
  /**
   * `revoked` and `invalid` (unknown, vacuumed, or dead for a reason that could not be read) come
   * from the 401 text; `suspended`/`disabled` (token live but blocked) from 403s.
   */
  readonly status: KeyStatus;
  /** The token's own scopes (`/oauth/token/info`). */
  readonly scopes: readonly string[];
  /** The issuing app's client_id. */
  readonly appUid: string | null;
  readonly appName: string | null;
  /** Scopes the app registered (`apps/verify_credentials`), which bound what a new token can get. */
  readonly appScopes: readonly string[];
  /** `users.id` of the owner; null for an app-only token. */
  readonly ownerUserId: number | null;
  /** The owner's account, when the token is a user token that may read it. */
  readonly account: { id: string; username: string; acct: string } | null;
  readonly createdAt: Date | null;
}

export interface RevokeResult {
  /** Mastodon accepted the revocation (200). */
  readonly revoked: boolean;
  /** A follow-up `/oauth/token/info` with the token answered 401. */
  readonly confirmed: boolean;
  /** Status of that follow-up (401 expected), or null when it could not be made. */
  readonly status: number | null;
}

export interface IssuedToken {
  /** The raw token: hand it straight to the vault. */
  readonly accessToken: string;
  readonly scopes: readonly string[];
  /** When Mastodon created it. An old date means an existing token came back (reuse rule). */
  readonly createdAt: Date;
}

export interface RegisteredApp {
  readonly id: string;
  readonly name: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly scopes: readonly string[];
  readonly redirectUris: readonly string[];
}

export interface IpBlockInfo {
  readonly id: string;
  readonly ip: string;
  readonly severity: 'sign_up_requires_approval' | 'sign_up_block' | 'no_access';
  readonly comment: string;
  readonly createdAt: string;
  readonly expiresAt: string | null;
}
