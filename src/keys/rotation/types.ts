import type { Clock } from '../../core/clock.js';
import type { Logger } from '../../core/logger.js';
import type { IssuedToken, KeyVerification, RegisteredApp, RevokeResult } from '../../mastodon/client-types.js';
import type { KeyKind, KeyRecord } from '../schema.js';
import type { KeySecrets } from '../vault.js';
import type { KeyRotationSettings, RotationConfig } from './config.js';
import type { ConsentLinks } from './reauthorize/links.js';
import type { RotationData, RotationRow } from './store.js';

/** The Mastodon calls rotation makes (MastodonClient implements them). */
export interface RotationClient {
  verifyKey(input: { instance: string; token: string }): Promise<KeyVerification>;
  revoke(input: { instance: string; clientId: string; clientSecret: string; token: string }): Promise<RevokeResult>;
  mintAppToken(input: { instance: string; clientId: string; clientSecret: string; scopes: readonly string[] }): Promise<IssuedToken>;
  registerApp(input: { instance: string; name: string; redirectUris: readonly string[]; scopes: readonly string[]; website?: string }): Promise<RegisteredApp>;
  exchangeCode(input: { instance: string; clientId: string; clientSecret: string; code: string; redirectUri: string; codeVerifier?: string }): Promise<IssuedToken>;
}

/** What a strategy gets for one attempt at obtaining the new key. */
export interface StrategyContext {
  key: KeyRecord;
  rotation: RotationRow;
  /** Secrets of the key being replaced (in memory only). */
  old: KeySecrets;
  /**
   * Secrets an earlier run of this rotation already stored as the new version (an app that was
   * registered, perhaps already a token), so a resumed rotation continues instead of starting over.
   */
  pending: KeySecrets | null;
  client: RotationClient;
  config: RotationConfig;
  settings: KeyRotationSettings;
  /** Seal `secrets` as the key's new version in the vault (overwrites a partial one). */
  store(secrets: KeySecrets): Promise<void>;
  /** Persist non-secret facts on the rotation row. */
  setData(patch: Partial<RotationData>): void;
  /** Signed consent links and OAuth state/PKCE derivation; null when not configured. */
  consent: ConsentLinks | null;
  env: NodeJS.ProcessEnv;
  clock: Clock;
  logger: Logger;
}

export type ObtainResult =
  /** The new token exists and is stored in the vault (as `secrets`). */
  | { kind: 'minted'; secrets: KeySecrets }
  /** A person must act first (the owner's consent); `link` is what to send them. */
  | { kind: 'waiting'; message: string; link?: string; consentStateHash: string };

export interface RotationStrategy {
  /** The id used in the inventory's `rotation.strategy`. */
  readonly id: 'client_credentials' | 'reauthorize' | 'command';
  /** Key kinds the strategy can rotate. */
  readonly kinds: readonly KeyKind[];
  /**
   * Obtain a new token for the key, storing every secret through `ctx.store` before returning
   * (and before any further Mastodon call), so a crash never loses a token tuskguard created.
   * Throws coded errors whose messages hold no secret.
   */
  obtain(ctx: StrategyContext): Promise<ObtainResult>;
}
