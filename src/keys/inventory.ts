import { fingerprint as hmacFingerprint } from '../core/fingerprint.js';
import { TuskguardError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { migrate, type ControlDb } from '../store/control.js';
import { KEYS_MIGRATIONS } from './db.js';
import { RotationStore, type RotationRow } from './rotation/store.js';
import type { InventoryItem, KeyMetadata, KeyRecord, KeyStatus, RevocationRecord } from './schema.js';
import type { KeySecrets, SealedRecord, Vault } from './vault.js';

/**
 * The key inventory: secret-free metadata of every managed key, with its fingerprint computed
 * on import so that ingest, `parse` and `scan` match keys without decrypting anything.
 * Secrets go to the vault under record id = key id, version = `secret_version`.
 */

/** `refused`: the key is being rotated, so the file's item was not applied (see `reason`). */
export type UpsertOutcome = 'added' | 'updated' | 'unchanged' | 'refused';

export interface UpsertResult {
  id: string;
  fingerprint: string;
  outcome: UpsertOutcome;
  /** The token, client id or client secret differ from what the vault held. */
  secret_changed: boolean;
  /** Why the item was refused, with what to do (secret-free); only when `outcome` is `refused`. */
  reason?: string;
}

export type PepperState = 'match' | 'mismatch' | 'unset';

interface KeyRow {
  id: string;
  instance: string;
  kind: 'user' | 'app';
  scopes: string;
  owner: string;
  purpose: string;
  labels: string;
  rotation: string | null;
  status: KeyStatus;
  fingerprint: string;
  secret_version: number;
  created_at: string;
  updated_at: string;
  status_changed_at: string;
  token_stored_at: string | null;
}

/** Key rows with the time their current secrets were stored (the token's age in custody). */
const SELECT_KEYS = `SELECT keys.*, v.created_at AS token_stored_at FROM keys
  LEFT JOIN vault_records v ON v.record_id = keys.id AND v.version = keys.secret_version`;

function fromRow(r: KeyRow): KeyRecord {
  return {
    ...r,
    scopes: JSON.parse(r.scopes) as string[],
    labels: JSON.parse(r.labels) as Record<string, string>,
    rotation: r.rotation === null ? null : (JSON.parse(r.rotation) as KeyRecord['rotation']),
  };
}

/** Check value of a pepper: lets us notice a changed pepper without storing it. */
export function pepperCheck(pepper: string): string {
  return hmacFingerprint(pepper, 'tuskguard pepper check v1');
}

function sameMetadata(a: KeyRecord, b: KeyMetadata): boolean {
  const norm = (m: Pick<KeyMetadata, 'instance' | 'kind' | 'scopes' | 'owner' | 'purpose' | 'labels'> & { rotation?: unknown }) =>
    JSON.stringify([m.instance, m.kind, m.scopes, m.owner, m.purpose, m.labels, m.rotation ?? null]);
  return norm(a) === norm(b);
}

function sameSecrets(a: KeySecrets, b: KeySecrets): boolean {
  return a.token === b.token && a.client_id === b.client_id && a.client_secret === b.client_secret;
}

export class KeyInventory {
  constructor(
    readonly db: ControlDb,
    private readonly logger: Logger = silentLogger,
  ) {
    migrate(db, 'keys', KEYS_MIGRATIONS);
  }

  list(): KeyRecord[] {
    return (this.db.prepare(`${SELECT_KEYS} ORDER BY keys.id`).all() as KeyRow[]).map(fromRow);
  }

  get(id: string): KeyRecord | null {
    const row = this.db.prepare(`${SELECT_KEYS} WHERE keys.id = ?`).get(id) as KeyRow | undefined;
    return row ? fromRow(row) : null;
  }

  /** The key, or KEY_NOT_FOUND with a hint. */
  require(id: string): KeyRecord {
    const key = this.get(id);
    if (key) return key;
    throw new TuskguardError('KEY_NOT_FOUND', `no managed key has id ${JSON.stringify(id)}`, {
      hint: '`tuskguard keys list` shows the ids',
      details: { id },
    });
  }

  revocations(id: string): RevocationRecord[] {
    const rows = this.db
      .prepare('SELECT key_id, fingerprint, actor, reason, requested_at, completed_at, outcome, verification FROM key_revocations WHERE key_id = ? ORDER BY requested_at')
      .all(id) as Array<RevocationRecord & { verification: string | null }>;
    return rows.map((r) => ({ ...r, verification: r.verification === null ? null : JSON.parse(r.verification) }));
  }

  /** fingerprint → key id, for every stored key. */
  fingerprintIndex(): Map<string, string> {
    const rows = this.db.prepare('SELECT id, fingerprint FROM keys').all() as Array<{ id: string; fingerprint: string }>;
    return new Map(rows.map((r) => [r.fingerprint, r.id]));
  }

  /** Whether stored fingerprints were computed with `pepper`. `unset` while the inventory is empty. */
  pepperState(pepper: string): PepperState {
    const row = this.db.prepare('SELECT pepper_check FROM keys_meta WHERE id = 1').get() as { pepper_check: string } | undefined;
    const count = (this.db.prepare('SELECT COUNT(*) AS n FROM keys').get() as { n: number }).n;
    if (row === undefined || count === 0) return 'unset';
    return row.pepper_check === pepperCheck(pepper) ? 'match' : 'mismatch';
  }

  /** Throw KEY_FINGERPRINTS_STALE unless the stored fingerprints belong to `pepper`. */
  assertPepper(pepper: string): void {
    if (this.pepperState(pepper) !== 'mismatch') return;
    throw new TuskguardError('KEY_FINGERPRINTS_STALE', 'the stored key fingerprints were computed with a different pepper', {
      hint: 'if the pepper was changed on purpose, run `tuskguard keys refingerprint` (needs the master key); otherwise restore the previous TUSKGUARD_PEPPER / pepper_file',
    });
  }

  /**
   * Add or update keys in one transaction (all or nothing). Secrets are sealed first, outside
   * the transaction; existing keys are decrypted to tell whether their secrets changed. A token
   * already stored under another id is refused (Mastodon returns the same token for the same
   * app, user and scopes, so two ids would be one key). A key with an unfinished rotation is
   * left untouched and reported as `refused`: the rotation owns its vault versions (old and
   * new token) until it completes or rolls back, and writing a version would lose one of them.
   * The other items are still applied.
   */
  async upsertMany(vault: Vault, pepper: string, items: readonly InventoryItem[]): Promise<UpsertResult[]> {
    this.assertPepper(pepper);
    const index = this.fingerprintIndex();
    const plans: Array<{ item: InventoryItem; result: UpsertResult; version: number; sealed: SealedRecord | null }> = [];
    const before = this.rotating();
    for (const item of items) {
      const fp = hmacFingerprint(pepper, item.token);
      const owner = index.get(fp);
      if (owner !== undefined && owner !== item.id) throw duplicateToken(item.id, owner, fp);
      index.set(fp, item.id);
      const rotation = before.get(item.id);
      plans.push(rotation ? refusedPlan(item, fp, rotation) : await this.plan(vault, item, fp));
    }
    const now = new Date().toISOString();
    this.db.transaction(() => {
      // Sealing awaited the KMS: a rotation may have started since; its row is checked again here.
      const rotating = this.rotating();
      for (const p of plans) {
        const rotation = rotating.get(p.item.id);
        if (rotation && p.result.outcome !== 'refused') Object.assign(p, refusedPlan(p.item, p.result.fingerprint, rotation));
        if (p.result.outcome === 'unchanged' || p.result.outcome === 'refused') continue;
        if (p.sealed) {
          vault.writeSealed(p.sealed);
          vault.deleteOtherVersions(p.item.id, p.version);
        }
        this.writeRow(p.item, p.result, p.version, now);
      }
      this.db.prepare('INSERT INTO keys_meta (id, pepper_check) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET pepper_check = excluded.pepper_check').run(pepperCheck(pepper));
    })();
    for (const p of plans) {
      if (p.result.outcome === 'refused') this.logger.warn({ key_id: p.item.id, fingerprint: p.result.fingerprint, outcome: 'refused' }, 'key not imported: it is being rotated');
      else this.logger.info({ key_id: p.item.id, fingerprint: p.result.fingerprint, outcome: p.result.outcome }, 'key imported');
    }
    return plans.map((p) => p.result);
  }

  /**
   * key id → its unfinished rotation (RotationStore.unfinished). The rotation tables exist only
   * once rotation ran here, and an import does not create them.
   */
  private rotating(): Map<string, ActiveRotation> {
    const table = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'key_rotations'").get();
    if (table === undefined) return new Map();
    return new Map(new RotationStore(this.db).unfinished().map((r) => [r.key_id, r]));
  }

  private async plan(vault: Vault, item: InventoryItem, fp: string) {
    const existing = this.get(item.id);
    const secrets: KeySecrets = { token: item.token, client_id: item.client_id, client_secret: item.client_secret };
    if (existing === null) {
      const sealed = await vault.seal(item.id, 1, secrets);
      return { item, version: 1, sealed, result: { id: item.id, fingerprint: fp, outcome: 'added' as const, secret_changed: false } };
    }
    const stored = await vault.get(item.id, existing.secret_version);
    const secretChanged = !sameSecrets(stored, secrets);
    const version = secretChanged ? existing.secret_version + 1 : existing.secret_version;
    const sealed = secretChanged ? await vault.seal(item.id, version, secrets) : null;
    const outcome: UpsertOutcome = secretChanged || !sameMetadata(existing, item) ? 'updated' : 'unchanged';
    return { item, version, sealed, result: { id: item.id, fingerprint: fp, outcome, secret_changed: secretChanged } };
  }

  private writeRow(item: InventoryItem, result: UpsertResult, version: number, now: string): void {
    const row = {
      id: item.id,
      instance: item.instance,
      kind: item.kind,
      scopes: JSON.stringify(item.scopes),
      owner: item.owner,
      purpose: item.purpose,
      labels: JSON.stringify(item.labels),
      rotation: item.rotation === undefined ? null : JSON.stringify(item.rotation),
      fingerprint: result.fingerprint,
      secret_version: version,
      now,
    };
    // A new token makes the key active again; a metadata-only update keeps its lifecycle state.
    this.db
      .prepare(
        `INSERT INTO keys (id, instance, kind, scopes, owner, purpose, labels, rotation, status, fingerprint, secret_version, created_at, updated_at, status_changed_at)
         VALUES (@id, @instance, @kind, @scopes, @owner, @purpose, @labels, @rotation, 'active', @fingerprint, @secret_version, @now, @now, @now)
         ON CONFLICT (id) DO UPDATE SET instance = excluded.instance, kind = excluded.kind, scopes = excluded.scopes,
           owner = excluded.owner, purpose = excluded.purpose, labels = excluded.labels, rotation = excluded.rotation,
           fingerprint = excluded.fingerprint, secret_version = excluded.secret_version, updated_at = excluded.updated_at,
           status = CASE WHEN keys.secret_version <> excluded.secret_version THEN 'active' ELSE keys.status END,
           status_changed_at = CASE WHEN keys.secret_version <> excluded.secret_version THEN excluded.updated_at ELSE keys.status_changed_at END`,
      )
      .run(row);
  }

  /**
   * Recompute every fingerprint under `pepper` (after a deliberate pepper change). Decrypts
   * each token; all or nothing.
   */
  async refingerprint(vault: Vault, pepper: string): Promise<Array<{ id: string; fingerprint: string; changed: boolean }>> {
    const keys = this.list();
    const next: Array<{ id: string; fingerprint: string; changed: boolean }> = [];
    for (const k of keys) {
      const { token } = await vault.get(k.id, k.secret_version);
      const fp = hmacFingerprint(pepper, token);
      next.push({ id: k.id, fingerprint: fp, changed: fp !== k.fingerprint });
    }
    const now = new Date().toISOString();
    this.db.transaction(() => {
      // Two passes avoid transient UNIQUE collisions when fingerprints swap between keys.
      for (const n of next) this.db.prepare('UPDATE keys SET fingerprint = ? WHERE id = ?').run(`pending:${n.id}`, n.id);
      for (const n of next) this.db.prepare('UPDATE keys SET fingerprint = ?, updated_at = ? WHERE id = ?').run(n.fingerprint, now, n.id);
      this.db.prepare('INSERT INTO keys_meta (id, pepper_check) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET pepper_check = excluded.pepper_check').run(pepperCheck(pepper));
    })();
    this.logger.info({ keys: next.length, changed: next.filter((n) => n.changed).length }, 'key fingerprints recomputed');
    return next;
  }
}

type ActiveRotation = Pick<RotationRow, 'id' | 'key_id' | 'state'>;

function refusedPlan(item: InventoryItem, fp: string, r: ActiveRotation) {
  const reason =
    `${item.id} is being rotated (rotation ${r.id}, state ${r.state}); it was not imported, so the rotation's new token is kept. ` +
    `Wait for the rotation to complete or roll back (\`tuskguard keys rotation status ${item.id}\`; \`tuskguard keys rotate ${item.id}\` resumes it), then import the key again`;
  return { item, version: 0, sealed: null, result: { id: item.id, fingerprint: fp, outcome: 'refused' as const, secret_changed: false, reason } };
}

function duplicateToken(id: string, other: string, fp: string): TuskguardError {
  return new TuskguardError('KEY_EXISTS', `the token of ${id} is already managed as ${other} (fingerprint ${fp})`, {
    hint: 'Mastodon returns the same token for the same app, user and scopes: keep one id for it, or remove the duplicate from the file',
    details: { id, existing_id: other, fingerprint: fp },
  });
}
