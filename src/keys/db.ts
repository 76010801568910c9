import { migrate, openControlDb, type ControlDb } from '../store/control.js';

/**
 * The `keys` component's tables in the control-plane database (vault, inventory, revocation
 * records). Append migrations; never edit one that has shipped.
 *
 * - `vault_meta`: the KEK id the vault is sealed under and a canary wrapped by it, so a wrong
 *   master key is detected before anything is read or written.
 * - `vault_records`: one row per (record, version); rotation will hold the old and the new
 *   version side by side until the old token is revoked.
 * - `keys`: secret-free metadata; `fingerprint` is computed on import so lookups need no
 *   decryption. `status` is the lifecycle the revoke/rotate work drives.
 * - `key_revocations`: who revoked what, why, when, and what verification showed.
 * - `keys_meta`: a check value of the pepper the stored fingerprints were computed with.
 */
export const KEYS_MIGRATIONS: readonly string[] = [
  `CREATE TABLE vault_meta (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     kek_id TEXT NOT NULL,
     canary BLOB NOT NULL,
     created_at TEXT NOT NULL,
     rewrapped_at TEXT
   );
   CREATE TABLE vault_records (
     record_id TEXT NOT NULL,
     version INTEGER NOT NULL CHECK (version >= 1),
     alg TEXT NOT NULL,
     kek_id TEXT NOT NULL,
     wrapped_key BLOB NOT NULL,
     iv BLOB NOT NULL,
     ciphertext BLOB NOT NULL,
     tag BLOB NOT NULL,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     PRIMARY KEY (record_id, version)
   );
   CREATE TABLE keys (
     id TEXT PRIMARY KEY,
     instance TEXT NOT NULL,
     kind TEXT NOT NULL CHECK (kind IN ('user', 'app')),
     scopes TEXT NOT NULL,
     owner TEXT NOT NULL,
     purpose TEXT NOT NULL,
     labels TEXT NOT NULL,
     rotation TEXT,
     status TEXT NOT NULL CHECK (status IN ('active', 'revoke-pending', 'revoked', 'rotating')),
     fingerprint TEXT NOT NULL UNIQUE,
     secret_version INTEGER NOT NULL,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     status_changed_at TEXT NOT NULL
   );
   CREATE TABLE key_revocations (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     key_id TEXT NOT NULL,
     fingerprint TEXT NOT NULL,
     actor TEXT NOT NULL,
     reason TEXT NOT NULL,
     requested_at TEXT NOT NULL,
     completed_at TEXT,
     outcome TEXT NOT NULL CHECK (outcome IN ('pending', 'revoked', 'failed')),
     verification TEXT
   );
   CREATE INDEX key_revocations_key ON key_revocations (key_id, requested_at);
   CREATE TABLE keys_meta (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     pepper_check TEXT NOT NULL
   );`,
];

/** Open the control DB under `home` with the keys tables migrated. */
export function openKeysDb(home: string): ControlDb {
  const db = openControlDb(home);
  migrate(db, 'keys', KEYS_MIGRATIONS);
  return db;
}
