import { migrate, type ControlDb } from '../../store/control.js';
import { KEYS_MIGRATIONS } from '../db.js';

/**
 * The rotation tables in the control DB (component `keys-rotation`). Append migrations; never
 * edit one that has shipped.
 *
 * - `key_locks`: one row per key while a process works on it; the lease lets a crashed
 *   holder's lock expire instead of blocking the key forever.
 * - `key_rotations`: the persisted state machine, so a restart resumes a rotation where it
 *   stopped. At most one non-terminal rotation per key (partial unique index): concurrent
 *   requests to rotate one key meet the same row. No secret is stored here: new secrets live
 *   in the vault as the key's next version; the OAuth `state` only as a SHA-256.
 */
export const ROTATION_MIGRATIONS: readonly string[] = [
  `CREATE TABLE key_locks (
     key_id TEXT PRIMARY KEY,
     owner TEXT NOT NULL,
     purpose TEXT NOT NULL,
     acquired_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL
   );
   CREATE TABLE key_rotations (
     id TEXT PRIMARY KEY,
     key_id TEXT NOT NULL,
     strategy TEXT NOT NULL,
     triggered_by TEXT NOT NULL,
     reason TEXT NOT NULL,
     actor TEXT NOT NULL,
     state TEXT NOT NULL,
     immediate INTEGER NOT NULL DEFAULT 0,
     old_version INTEGER NOT NULL,
     new_version INTEGER NOT NULL,
     old_fingerprint TEXT NOT NULL,
     new_fingerprint TEXT,
     consent_state_hash TEXT UNIQUE,
     distributed TEXT NOT NULL DEFAULT '[]',
     data TEXT NOT NULL DEFAULT '{}',
     error TEXT,
     quiet_ms INTEGER NOT NULL,
     grace_ms INTEGER NOT NULL,
     cutover_at TEXT,
     deadline TEXT,
     old_last_seen TEXT,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     completed_at TEXT
   );
   CREATE UNIQUE INDEX key_rotations_one_active ON key_rotations (key_id)
     WHERE state NOT IN ('completed', 'rolled-back', 'aborted', 'failed');
   CREATE INDEX key_rotations_key ON key_rotations (key_id, created_at);`,
];

/** Make sure the keys and rotation tables exist. */
export function ensureRotationSchema(db: ControlDb): void {
  migrate(db, 'keys', KEYS_MIGRATIONS);
  migrate(db, 'keys-rotation', ROTATION_MIGRATIONS);
}
