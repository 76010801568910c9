import { TuskguardError, errorMessage } from '../../core/errors.js';
import type { IpBlockInfo } from '../../mastodon/client-types.js';
import { isRetryable } from '../../mastodon/errors.js';
import type { KeyRecord } from '../../keys/schema.js';
import type { RevokeReport, RevokeRequest } from '../../keys/revocation/service.js';
import type { RotateReport, RotateRequest } from '../../keys/rotation/service.js';
import { DeliveryError } from '../outbox-worker.js';
import type { ActionServices } from '../types.js';
import type { UndoLog } from '../undo.js';

/**
 * What the Mastodon-facing actions (revoke, rotate, suspend-account, block-ip) need beyond the
 * alert channels: the key services of src/keys and an admin client. `createResponder` in
 * src/respond/index.ts fills it in when a master key and a pepper are configured; without
 * them it is absent and these actions fail with a message that says what to set.
 *
 * Raw tokens stay inside `adminToken`'s caller for the length of one call: nothing here
 * returns, logs or stores one.
 */
export interface ResponseKeyServices {
  /** The key revocation service (vault → Mastodon → 401 confirmed). */
  revokeKey(req: RevokeRequest): Promise<RevokeReport>;
  /** Event-triggered rotation (src/keys/rotation). */
  rotateKey(req: RotateRequest): Promise<RotateReport>;
  /** The inventory record of a key (no secret), or null. */
  key(keyId: string): KeyRecord | null;
  /** Decrypt the current token of a key for one call; the caller must not keep or log it. */
  token(keyId: string): Promise<string>;
  /** The admin API (src/mastodon/client.ts). */
  admin: AdminClient;
  /** Where reversible actions record how to undo them. */
  undo: UndoLog;
  /** Outbox attempts for one revocation before it is dead-lettered (config `revocation.max_attempts`). */
  revokeAttempts: number;
  /**
   * Tell people (critical `revoke-given-up`) that the revoke job used its last attempt and the
   * key is still revoke-pending. Never throws: a failing notifier must not fail the job.
   */
  revocationGivenUp?(report: RevokeReport, attempts: number): Promise<void>;
}

/** The admin calls of MastodonClient the contain actions use. */
export interface AdminClient {
  suspendAccount(a: { instance: string; token: string; accountId: string; text?: string; notify?: boolean }): Promise<void>;
  unsuspendAccount(a: { instance: string; token: string; accountId: string }): Promise<void>;
  createIpBlock(a: { instance: string; token: string; ip: string; severity: IpBlockInfo['severity']; comment?: string; expiresInSeconds?: number }): Promise<IpBlockInfo>;
  deleteIpBlock(a: { instance: string; token: string; id: string }): Promise<void>;
  listIpBlocks(a: { instance: string; token: string; limit?: number }): Promise<IpBlockInfo[]>;
  verifyKey(a: { instance: string; token: string }): Promise<{ account: { id: string } | null }>;
}

declare module '../types.js' {
  interface ActionServices {
    /** Key custody and the Mastodon admin API; absent without a master key and a pepper. */
    keys?: ResponseKeyServices;
  }
}

const MISSING = 'key services are unavailable: set TUSKGUARD_MASTER_KEY (or TUSKGUARD_MASTER_KEY_FILE) and TUSKGUARD_PEPPER';

/** The key services, or null with the reason they are missing. */
export function keyServices(services: ActionServices): ResponseKeyServices | null {
  return services.keys ?? null;
}

export function missingKeysMessage(action: string): string {
  return `${action} not queued: ${MISSING}`;
}

/** At delivery: the key services or a permanent failure (retrying cannot make them appear). */
export function requireKeyServices(services: ActionServices): ResponseKeyServices {
  const keys = services.keys;
  if (!keys) throw new DeliveryError(MISSING, { permanent: true });
  return keys;
}

/**
 * An error at delivery → a DeliveryError: Mastodon unreachable, 5xx and 429 are retried
 * (after the rate-limit reset when known); everything else is permanent. The message is the
 * coded error's, which the Mastodon client already scrubbed of secrets.
 */
export function asDeliveryError(e: unknown, what: string): DeliveryError {
  if (e instanceof DeliveryError) return e;
  const message = `${what}: ${errorMessage(e)}`;
  if (!(e instanceof TuskguardError)) return new DeliveryError(message);
  const retryAt = typeof e.details?.retryAt === 'string' ? Date.parse(e.details.retryAt) - Date.now() : NaN;
  if (isRetryable(e)) return new DeliveryError(message, Number.isFinite(retryAt) && retryAt > 0 ? { retryAfterMs: retryAt } : {});
  return new DeliveryError(`${message}${e.hint ? ` (${e.hint})` : ''}`, { permanent: true });
}

/**
 * The instance and token of the admin key a policy names, checked: the key must be managed,
 * not revoked, and on the same instance as the key the finding is about (an admin of one
 * instance cannot act on another). Throws permanent DeliveryErrors that say what to fix.
 */
export async function adminCredentials(keys: ResponseKeyServices, adminKey: string, forInstance: string | null): Promise<{ instance: string; token: string }> {
  const admin = keys.key(adminKey);
  if (!admin) throw new DeliveryError(`admin key ${adminKey} is not in the key inventory (policy admin_key)`, { permanent: true });
  if (admin.status === 'revoked' || admin.status === 'revoke-pending') {
    throw new DeliveryError(`admin key ${adminKey} is ${admin.status}; name a live admin key in the policy`, { permanent: true });
  }
  if (forInstance !== null && admin.instance !== forInstance) {
    throw new DeliveryError(`admin key ${adminKey} belongs to ${admin.instance}, not ${forInstance}`, { permanent: true });
  }
  try {
    return { instance: admin.instance, token: await keys.token(adminKey) };
  } catch (e) {
    throw asDeliveryError(e, `admin key ${adminKey} could not be read from the vault`);
  }
}
