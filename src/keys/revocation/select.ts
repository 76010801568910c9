import { TuskguardError } from '../../core/errors.js';
import type { KeyInventory } from '../inventory.js';
import type { KeyRecord } from '../schema.js';
import type { Vault } from '../vault.js';
import type { RevocationService, RevokeReport } from './service.js';

/**
 * Bulk revocation ("the panic button"): every key of an owner, an app (client_id), an instance
 * or a label. Criteria combine with AND. The app's client_id lives in the vault with the
 * secrets, so selecting by app decrypts each remaining candidate's record, in memory only.
 */
export interface KeySelector {
  owner?: string | undefined;
  /** client_id of the issuing app. */
  app?: string | undefined;
  /** Instance base URL (a trailing slash is ignored). */
  instance?: string | undefined;
  /** `name=value` pairs that must all match. */
  labels?: Readonly<Record<string, string>> | undefined;
}

export function isEmptySelector(s: KeySelector): boolean {
  return !s.owner && !s.app && !s.instance && Object.keys(s.labels ?? {}).length === 0;
}

/** `team=payments` → ['team', 'payments']. */
export function parseLabel(text: string): [string, string] {
  const eq = text.indexOf('=');
  if (eq < 1) throw new TuskguardError('USAGE', `--label ${text}: expected NAME=VALUE`, { hint: 'e.g. --label team=payments' });
  return [text.slice(0, eq), text.slice(eq + 1)];
}

/** The keys matching every criterion, in id order (revoked ones included: the caller reports them). */
export async function selectKeys(inventory: KeyInventory, vault: Vault | null, selector: KeySelector): Promise<KeyRecord[]> {
  if (isEmptySelector(selector)) {
    throw new TuskguardError('USAGE', 'a bulk revocation needs at least one of --owner, --app, --instance, --label', {
      hint: 'or name one key: `tuskguard keys revoke ID --reason ...`',
    });
  }
  const instance = selector.instance?.replace(/\/+$/, '');
  const labels = Object.entries(selector.labels ?? {});
  const candidates = inventory.list().filter(
    (k) =>
      (selector.owner === undefined || k.owner === selector.owner) &&
      (instance === undefined || k.instance === instance) &&
      labels.every(([name, value]) => k.labels[name] === value),
  );
  if (selector.app === undefined) return candidates;
  if (vault === null) throw new TuskguardError('SECRET_MISSING', 'selecting by app needs the vault (the client_id is stored encrypted)', { hint: 'set TUSKGUARD_MASTER_KEY' });
  const out: KeyRecord[] = [];
  for (const k of candidates) {
    const { client_id } = await vault.get(k.id, k.secret_version);
    if (client_id === selector.app) out.push(k);
  }
  return out;
}

/**
 * Revoke each key in turn (Mastodon's OAuth endpoints are not rate-limited, FACTS §10, but one
 * at a time keeps a failing instance from being hammered). One key's failure never stops the rest.
 */
export async function revokeMany(service: RevocationService, keys: readonly KeyRecord[], reason: string, actor: string): Promise<RevokeReport[]> {
  const reports: RevokeReport[] = [];
  for (const k of keys) reports.push(await service.revokeKey({ keyId: k.id, reason, actor }));
  return reports;
}
