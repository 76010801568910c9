import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Event } from '../../core/event.js';
import { TuskguardError, errorMessage } from '../../core/errors.js';
import type { Finding } from '../../core/finding.js';
import type { Logger } from '../../core/logger.js';
import type { Metrics } from '../../core/metrics.js';
import { migrate } from '../control.js';
import { actionRefusal, clampLimit, compareUsage, eventRefusal, findingRefusal } from '../query.js';
import type {
  ActionRecord,
  EventQuery,
  EventStore,
  FindingQuery,
  RouteUsage,
  TimeRange,
  WriteFailure,
  WriteResult,
} from '../types.js';
import { eventWhere, findingWhere, rangeWhere, routeUsageSql, toRouteUsage, type UsageRow } from './queries.js';
import { SQLITE_MIGRATIONS } from './schema.js';

export interface SqliteStoreOptions {
  /** Database file, or `:memory:` (tests). Its directory is created. */
  path: string;
  /** Retention in milliseconds: applyRetention deletes rows older than `now - retentionMs`. */
  retentionMs: number;
  metrics: Metrics;
  logger: Logger;
}

/** Rows deleted per statement by the retention job, so a big purge never holds the lock long. */
const DELETE_CHUNK = 10_000;

type Row = readonly (string | number | null)[];

/**
 * The embedded default store: one SQLite file in WAL mode. Writes are one transaction per
 * call through prepared `INSERT OR REPLACE` statements (the primary key is the document id, so
 * a replay overwrites instead of duplicating); acknowledged means committed.
 */
export class SqliteStore implements EventStore {
  readonly kind = 'sqlite' as const;
  private db: Database.Database | null = null;
  /** Prepared statements by SQL text: preparing once per write would cost more than a small batch. */
  private readonly statements = new Map<string, Database.Statement>();

  constructor(private readonly options: SqliteStoreOptions) {}

  async init(): Promise<void> {
    if (this.db) return;
    const { path } = this.options;
    try {
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      const db = new Database(path);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('busy_timeout = 5000');
      db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
        component TEXT NOT NULL, version INTEGER NOT NULL, applied_at TEXT NOT NULL,
        PRIMARY KEY (component, version))`);
      migrate(db, 'event-store', SQLITE_MIGRATIONS);
      this.db = db;
    } catch (e) {
      throw new TuskguardError('STORE_UNAVAILABLE', `cannot open the SQLite store at ${path}: ${errorMessage(e)}`, {
        hint: 'check that the directory is writable and the file is a tuskguard events database (store.sqlite.path)',
        cause: e,
        details: { path },
      });
    }
  }

  private handle(): Database.Database {
    if (!this.db) {
      throw new TuskguardError('STORE_UNAVAILABLE', 'the SQLite store is not open', {
        hint: 'call init() before using the store, and do not use it after close()',
      });
    }
    return this.db;
  }

  /** Validate, then insert the accepted rows in one transaction. */
  private write<T>(
    kind: 'events' | 'findings' | 'actions',
    docs: readonly T[],
    refusal: (doc: T) => WriteFailure | null,
    row: (doc: T) => Row,
    sql: string,
  ): WriteResult {
    const db = this.handle();
    const failed: WriteFailure[] = [];
    const rows: Row[] = [];
    for (const doc of docs) {
      const refused = refusal(doc);
      if (refused) failed.push(refused);
      else rows.push(row(doc));
    }
    const end = this.options.metrics.bulkSeconds.startTimer({ store: 'sqlite' });
    try {
      const insert = this.statement(sql);
      db.transaction((all: Row[]) => {
        for (const r of all) insert.run(r);
      })(rows);
    } catch (e) {
      this.options.metrics.errors.inc({ component: 'store-sqlite', stage: 'write' });
      throw new TuskguardError('STORE_WRITE_FAILED', `SQLite write of ${rows.length} ${kind} failed: ${errorMessage(e)}`, {
        hint: 'check free disk space and that no other process holds the database locked',
        cause: e,
      });
    } finally {
      end();
    }
    this.options.metrics.eventsWritten.inc({ store: 'sqlite', kind }, rows.length);
    if (failed.length) this.options.metrics.errors.inc({ component: 'store-sqlite', stage: 'refused' }, failed.length);
    return { written: rows.length, failed };
  }

  async writeEvents(events: readonly Event[]): Promise<WriteResult> {
    return this.write('events', events, eventRefusal, eventRow, EVENT_INSERT);
  }

  async writeFindings(findings: readonly Finding[]): Promise<WriteResult> {
    return this.write('findings', findings, findingRefusal, findingRow, FINDING_INSERT);
  }

  async writeActions(actions: readonly ActionRecord[]): Promise<WriteResult> {
    return this.write('actions', actions, actionRefusal, actionRow, ACTION_INSERT);
  }

  /** Committed rows are visible at once. */
  async refresh(): Promise<void> {
    this.handle();
  }

  async searchEvents(query: EventQuery): Promise<Event[]> {
    const where = eventWhere(query);
    const dir = query.order === 'desc' ? 'DESC' : 'ASC';
    const sql = `SELECT doc FROM events ${where.sql} ORDER BY ts ${dir}, id ${dir} LIMIT ?`;
    return this.docs<Event>(sql, [...where.params, clampLimit(query.limit)]);
  }

  async countEvents(query: EventQuery): Promise<number> {
    const where = eventWhere(query);
    const row = this.handle().prepare(`SELECT COUNT(*) AS n FROM events ${where.sql}`).get(where.params) as { n: number };
    return row.n;
  }

  async searchFindings(query: FindingQuery): Promise<Finding[]> {
    const where = findingWhere(query);
    const sql = `SELECT doc FROM findings ${where.sql} ORDER BY ts, id LIMIT ?`;
    return this.docs<Finding>(sql, [...where.params, clampLimit(query.limit)]);
  }

  async searchActions(query: TimeRange & { limit?: number }): Promise<ActionRecord[]> {
    const where = rangeWhere(query);
    const sql = `SELECT doc FROM actions ${where.sql} ORDER BY ts, id LIMIT ?`;
    return this.docs<ActionRecord>(sql, [...where.params, clampLimit(query.limit)]);
  }

  async routeUsage(range: TimeRange & { fingerprints?: string[] }): Promise<RouteUsage[]> {
    if (range.fingerprints?.length === 0) return [];
    const { sql, params } = routeUsageSql(range);
    const rows = this.handle().prepare(sql).all(params) as UsageRow[];
    return rows.map(toRouteUsage).sort(compareUsage);
  }

  async applyRetention(now: Date): Promise<{ deleted: number }> {
    const db = this.handle();
    const cutoff = now.getTime() - this.options.retentionMs;
    let deleted = 0;
    for (const table of ['events', 'findings', 'actions'] as const) {
      const del = db.prepare(`DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} WHERE ts < ? LIMIT ?)`);
      for (;;) {
        const { changes } = del.run(cutoff, DELETE_CHUNK);
        deleted += changes;
        if (changes < DELETE_CHUNK) break;
      }
    }
    this.options.logger.info({ store: 'sqlite', deleted, cutoff: new Date(cutoff).toISOString() }, 'retention applied');
    return { deleted };
  }

  /** Writes are synchronous and committed, so nothing is pending; closing checkpoints the WAL. */
  async close(): Promise<void> {
    this.statements.clear();
    this.db?.close();
    this.db = null;
  }

  private statement(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (!st) {
      st = this.handle().prepare(sql);
      this.statements.set(sql, st);
    }
    return st;
  }

  private docs<T>(sql: string, params: (string | number)[]): T[] {
    const rows = this.handle().prepare(sql).pluck().all(params) as string[];
    return rows.map((doc) => JSON.parse(doc) as T);
  }
}

const EVENT_INSERT = `INSERT OR REPLACE INTO events
  (id, ts, fingerprint, key_id, source_ip, request_id, route, scopes, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`;
const FINDING_INSERT = `INSERT OR REPLACE INTO findings (id, ts, rule, key_id, fingerprint, doc) VALUES (?, ?, ?, ?, ?, ?)`;
const ACTION_INSERT = `INSERT OR REPLACE INTO actions (id, ts, doc) VALUES (?, ?, ?)`;

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

function eventRow(e: Event): Row {
  const scopes = e['mastodon.required_scopes'];
  return [
    e['event.id'],
    Date.parse(e['@timestamp']),
    str(e['tuskguard.fingerprint']),
    str(e['tuskguard.key_id']),
    str(e['source.ip']),
    str(e['http.request.id']),
    str(e['mastodon.route']),
    Array.isArray(scopes) ? JSON.stringify(scopes) : null,
    JSON.stringify(e),
  ];
}

function findingRow(f: Finding): Row {
  return [f.id, Date.parse(f.at), String(f.rule), str(f.key), str(f.fingerprint), JSON.stringify(f)];
}

function actionRow(a: ActionRecord): Row {
  return [a.id, Date.parse(a['@timestamp']), JSON.stringify(a)];
}
