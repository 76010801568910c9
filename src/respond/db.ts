import type Database from 'better-sqlite3';
import { migrate, openControlDb, type ControlDb } from '../store/control.js';

/**
 * The responder's tables in the control-plane database. Append migrations; never edit one
 * that has shipped.
 *
 * - `outbox_jobs`: the durable queue every alert and Mastodon call goes through; `key` is the
 *   idempotency key, `scheduled` marks a delay set by the producer (an alert digest) rather
 *   than by a retry, so `drain` can release it early.
 * - `audit_records` / `audit_anchor` / `audit_meta`: the hash chain, the (HMAC-keyed) head
 *   anchor that makes truncation of the tail detectable, and the mirror's progress.
 * - `respond_dispatches`: one row per idempotency key (finding + action + target).
 * - `respond_budget` / `respond_breaker`: automatic revocations in the window, the breaker.
 * - `respond_cooldowns`, `respond_alert_groups`, `respond_approvals`.
 */
export const RESPOND_MIGRATIONS: readonly string[] = [
  `CREATE TABLE outbox_jobs (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     key TEXT NOT NULL UNIQUE,
     channel TEXT NOT NULL,
     payload TEXT NOT NULL,
     finding_id TEXT,
     target TEXT,
     status TEXT NOT NULL CHECK (status IN ('pending', 'leased', 'done', 'dead')),
     attempts INTEGER NOT NULL DEFAULT 0,
     max_attempts INTEGER NOT NULL CHECK (max_attempts >= 1),
     available_at INTEGER NOT NULL,
     scheduled INTEGER NOT NULL DEFAULT 0,
     lease_owner TEXT,
     lease_expires_at INTEGER,
     last_error TEXT,
     result TEXT,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     done_at INTEGER
   );
   CREATE INDEX outbox_due ON outbox_jobs (channel, status, available_at);
   CREATE TABLE audit_records (
     seq INTEGER PRIMARY KEY,
     at TEXT NOT NULL,
     actor TEXT NOT NULL,
     action TEXT NOT NULL,
     reason TEXT NOT NULL,
     finding_id TEXT,
     evidence_ref TEXT,
     target TEXT,
     result TEXT NOT NULL,
     details TEXT NOT NULL,
     prev_hash TEXT NOT NULL,
     hash TEXT NOT NULL
   );
   CREATE INDEX audit_finding ON audit_records (finding_id);
   CREATE TABLE audit_anchor (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     seq INTEGER NOT NULL,
     hash TEXT NOT NULL,
     keyed INTEGER NOT NULL,
     mac TEXT NOT NULL,
     at TEXT NOT NULL
   );
   CREATE TABLE audit_meta (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     file_mirror INTEGER NOT NULL DEFAULT 0,
     mirrored_seq INTEGER NOT NULL DEFAULT 0
   );
   INSERT INTO audit_meta (id) VALUES (1);
   CREATE TABLE respond_dispatches (
     key TEXT PRIMARY KEY,
     finding_id TEXT NOT NULL,
     action TEXT NOT NULL,
     target TEXT NOT NULL,
     policy TEXT NOT NULL,
     status TEXT NOT NULL,
     at INTEGER NOT NULL
   );
   CREATE TABLE respond_budget (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     at INTEGER NOT NULL,
     action TEXT NOT NULL,
     target TEXT NOT NULL,
     finding_id TEXT NOT NULL
   );
   CREATE INDEX respond_budget_at ON respond_budget (at);
   CREATE TABLE respond_breaker (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     state TEXT NOT NULL CHECK (state IN ('closed', 'open')),
     opened_at INTEGER,
     reason TEXT,
     changed_by TEXT,
     changed_at INTEGER NOT NULL
   );
   CREATE TABLE respond_cooldowns (
     action TEXT NOT NULL,
     target TEXT NOT NULL,
     until INTEGER NOT NULL,
     PRIMARY KEY (action, target)
   );
   CREATE TABLE respond_alert_groups (
     channel TEXT NOT NULL,
     group_key TEXT NOT NULL,
     window_start INTEGER NOT NULL,
     suppressed INTEGER NOT NULL,
     PRIMARY KEY (channel, group_key)
   );
   CREATE TABLE respond_approvals (
     id TEXT PRIMARY KEY,
     status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'expired')),
     created_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     finding TEXT NOT NULL,
     policy TEXT NOT NULL,
     action TEXT NOT NULL,
     config TEXT NOT NULL,
     key_id TEXT,
     target TEXT NOT NULL,
     reason TEXT NOT NULL,
     decided_at INTEGER,
     decided_by TEXT,
     note TEXT
   );
   CREATE INDEX respond_approvals_status ON respond_approvals (status, expires_at);`,
];

/** Create or upgrade the responder tables (idempotent, cheap once applied). */
export function ensureRespondSchema(db: ControlDb): ControlDb {
  migrate(db, 'respond', RESPOND_MIGRATIONS);
  return db;
}

/** Open the control DB under `home` with the responder tables migrated. */
export function openRespondDb(home: string): ControlDb {
  return ensureRespondSchema(openControlDb(home));
}

/**
 * A per-connection cache of prepared statements: preparing dominated the responder's CPU
 * profile (bench/respond-alert.ts). The SQL texts are fixed or drawn from a handful of
 * filter combinations, so the cache stays small.
 */
export function statementCache(db: ControlDb): (sql: string) => Database.Statement {
  const cache = new Map<string, Database.Statement>();
  return (sql) => {
    let stmt = cache.get(sql);
    if (!stmt) {
      stmt = db.prepare(sql);
      cache.set(sql, stmt);
    }
    return stmt;
  };
}
