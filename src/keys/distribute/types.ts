import type { KeySecrets } from '../vault.js';

/**
 * Distribution targets: where a rotated key is delivered so its consumers pick it up (an env
 * file, HashiCorp Vault KV v2, a signed webhook). One folder per target type, one line in
 * registry.ts. A target receives the raw token in memory only; it must never put it in a log
 * line, an error or a result.
 */

/** What a target delivers: the key's secrets plus secret-free context. */
export interface Delivery {
  keyId: string;
  instance: string;
  /** Fingerprint of `secrets.token` (what people and logs may see). */
  fingerprint: string;
  scopes: readonly string[];
  /** ISO 8601 time the rotation produced these secrets. */
  rotatedAt: string;
  secrets: KeySecrets;
  /** `rotate` for a new key, `rollback` when the previous key is put back. */
  reason: 'rotate' | 'rollback';
}

export interface DistributionTarget {
  /** The configured target id (unique in `rotation.targets`). */
  readonly id: string;
  /** The target type: its folder name and YAML `type:`. */
  readonly type: string;
  /**
   * Deliver and confirm: resolve only once the target holds `delivery.secrets` durably (the
   * file renamed into place, Vault read back, the webhook answered 2xx). Throws a
   * DISTRIBUTION_FAILED TuskguardError whose message and details hold no secret. The result is
   * secret-free (a path, a version, a status).
   */
  deliver(delivery: Delivery): Promise<Record<string, unknown>>;
}
