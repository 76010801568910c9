import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The control-plane database: keys (encrypted), checkpoints, rule and baseline state, the
 * outbox and the audit chain. Always a local SQLite file (one control-plane node; Postgres
 * later for HA), whichever store holds the events.
 *
 * Each component owns its tables and declares them as an ordered list of migrations under its
 * own name; `migrate` applies the ones not yet applied, in a transaction.
 */
export type ControlDb = Database.Database;

export function openControlDb(home: string, file = 'control.db'): ControlDb {
  const path = join(home, file);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    component TEXT NOT NULL, version INTEGER NOT NULL, applied_at TEXT NOT NULL,
    PRIMARY KEY (component, version))`);
  return db;
}

/** Apply `migrations[i]` as version i+1 of `component` unless already applied. */
export function migrate(db: ControlDb, component: string, migrations: readonly string[]): void {
  const row = db
    .prepare('SELECT MAX(version) AS v FROM schema_migrations WHERE component = ?')
    .get(component) as { v: number | null };
  const current = row.v ?? 0;
  const apply = db.transaction(() => {
    for (let i = current; i < migrations.length; i++) {
      db.exec(migrations[i]!);
      db.prepare('INSERT INTO schema_migrations (component, version, applied_at) VALUES (?, ?, ?)').run(
        component,
        i + 1,
        new Date().toISOString(),
      );
    }
  });
  apply();
}
