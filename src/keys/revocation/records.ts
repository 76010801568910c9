import type { ControlDb } from '../../store/control.js';
import type { KeyStatus } from '../schema.js';

/**
 * The `key_revocations` rows (table owned by src/keys/db.ts) and the key's lifecycle status,
 * as revocation and rotation write them. One row per revocation request: `pending` while
 * Mastodon could not be reached or the 401 is not yet confirmed, then `revoked` or `failed`.
 */

/** What the 401 check showed, per token version that was revoked. Secret-free. */
export interface Verification {
  /** The endpoint that must answer 401 (FACTS §5; not the three quirk endpoints). */
  method: 'GET /oauth/token/info';
  tokens: Array<{ version: number; fingerprint: string; status: number | null; confirmed: boolean }>;
  attempts: number;
  checked_at: string;
  last_error?: { code: string; message: string } | undefined;
}

export interface RevocationRow {
  id: number;
  key_id: string;
  fingerprint: string;
  actor: string;
  reason: string;
  requested_at: string;
  completed_at: string | null;
  outcome: 'pending' | 'revoked' | 'failed';
  verification: Verification | null;
}

type RawRow = Omit<RevocationRow, 'verification'> & { verification: string | null };

function fromRaw(r: RawRow): RevocationRow {
  return { ...r, verification: r.verification === null ? null : (JSON.parse(r.verification) as Verification) };
}

export class RevocationRecords {
  constructor(private readonly db: ControlDb) {}

  open(input: { keyId: string; fingerprint: string; actor: string; reason: string; at: string }): number {
    const info = this.db
      .prepare(`INSERT INTO key_revocations (key_id, fingerprint, actor, reason, requested_at, outcome) VALUES (?, ?, ?, ?, ?, 'pending')`)
      .run(input.keyId, input.fingerprint, input.actor, input.reason, input.at);
    return Number(info.lastInsertRowid);
  }

  get(id: number): RevocationRow | null {
    const r = this.db.prepare('SELECT * FROM key_revocations WHERE id = ?').get(id) as RawRow | undefined;
    return r ? fromRaw(r) : null;
  }

  /** The open (pending) revocation of a key, if any. */
  pendingFor(keyId: string): RevocationRow | null {
    const r = this.db
      .prepare(`SELECT * FROM key_revocations WHERE key_id = ? AND outcome = 'pending' ORDER BY id DESC LIMIT 1`)
      .get(keyId) as RawRow | undefined;
    return r ? fromRaw(r) : null;
  }

  /** The latest completed revocation of a key. */
  lastRevoked(keyId: string): RevocationRow | null {
    const r = this.db
      .prepare(`SELECT * FROM key_revocations WHERE key_id = ? AND outcome = 'revoked' ORDER BY id DESC LIMIT 1`)
      .get(keyId) as RawRow | undefined;
    return r ? fromRaw(r) : null;
  }

  allPending(): RevocationRow[] {
    return (this.db.prepare(`SELECT * FROM key_revocations WHERE outcome = 'pending' ORDER BY id`).all() as RawRow[]).map(fromRaw);
  }

  update(id: number, outcome: RevocationRow['outcome'], verification: Verification, completedAt: string | null): void {
    this.db
      .prepare('UPDATE key_revocations SET outcome = ?, verification = ?, completed_at = ? WHERE id = ?')
      .run(outcome, JSON.stringify(verification), completedAt, id);
  }
}

/** Set a key's lifecycle status (the `keys` row), keeping status_changed_at honest. */
export function setKeyStatus(db: ControlDb, keyId: string, status: KeyStatus, at: string): void {
  db.prepare(
    `UPDATE keys SET status = ?, updated_at = ?, status_changed_at = CASE WHEN status = ? THEN status_changed_at ELSE ? END WHERE id = ?`,
  ).run(status, at, status, at, keyId);
}

/** Versions of a key's secrets held in the vault (the current one, and during a rotation the other). */
export function vaultVersions(db: ControlDb, keyId: string): number[] {
  return (db.prepare('SELECT version FROM vault_records WHERE record_id = ? ORDER BY version').all(keyId) as Array<{ version: number }>).map(
    (r) => r.version,
  );
}

/** Drop one version of a key's secrets (a rotation's replaced or abandoned token). */
export function deleteVaultVersion(db: ControlDb, keyId: string, version: number): void {
  db.prepare('DELETE FROM vault_records WHERE record_id = ? AND version = ?').run(keyId, version);
}
