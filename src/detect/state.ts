import { type ControlDb, migrate } from '../store/control.js';

/**
 * Detection state in the control-plane database: per rule and group, the rule type's state
 * (window buckets, learned terms, baselines) plus suppression; the ids of findings already
 * emitted; and the engine's event-time position. A namespace separates engines sharing one
 * database (live service vs a backtest).
 */
const MIGRATIONS = [
  `CREATE TABLE detect_groups (
     ns TEXT NOT NULL, rule TEXT NOT NULL, group_key TEXT NOT NULL,
     shape TEXT NOT NULL, last_seen INTEGER NOT NULL, record TEXT NOT NULL,
     PRIMARY KEY (ns, rule, group_key)) WITHOUT ROWID`,
  `CREATE TABLE detect_emitted (
     ns TEXT NOT NULL, id TEXT NOT NULL, rule TEXT NOT NULL, at INTEGER NOT NULL,
     PRIMARY KEY (ns, id)) WITHOUT ROWID`,
  `CREATE INDEX detect_emitted_at ON detect_emitted (ns, at)`,
  `CREATE TABLE detect_meta (ns TEXT PRIMARY KEY, max_event_time INTEGER NOT NULL, saved_at INTEGER NOT NULL)`,
];

/** What the engine keeps per group, besides the rule type's own state. */
export interface GroupRecord {
  /** group_by field → value. */
  values: Record<string, string>;
  /** The rule type's state (plain JSON). */
  state: unknown;
  /** Event time of the group's last event. */
  lastSeen: number;
  /** Event time until which findings of this group are suppressed. */
  suppressedUntil: number;
  /** Ids of the group's most recent events, for evidence. */
  samples: string[];
  /** Managed key id and fingerprint last seen in the group. */
  key: string | null;
  fingerprint: string | null;
}

export interface SavedGroup {
  rule: string;
  groupKey: string;
  shape: string;
  record: GroupRecord;
}

export class DetectStateStore {
  private readonly stmts;

  constructor(
    private readonly db: ControlDb,
    private readonly ns = 'default',
  ) {
    migrate(db, 'detect', MIGRATIONS);
    this.stmts = {
      load: db.prepare('SELECT shape, record FROM detect_groups WHERE ns = ? AND rule = ? AND group_key = ?'),
      save: db.prepare(
        `INSERT INTO detect_groups (ns, rule, group_key, shape, last_seen, record) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (ns, rule, group_key) DO UPDATE SET shape = excluded.shape, last_seen = excluded.last_seen, record = excluded.record`,
      ),
      remove: db.prepare('DELETE FROM detect_groups WHERE ns = ? AND rule = ? AND group_key = ?'),
      dropShapes: db.prepare('DELETE FROM detect_groups WHERE ns = ? AND rule = ? AND shape != ?'),
      hasEmitted: db.prepare('SELECT 1 FROM detect_emitted WHERE ns = ? AND id = ?'),
      emit: db.prepare('INSERT OR IGNORE INTO detect_emitted (ns, id, rule, at) VALUES (?, ?, ?, ?)'),
      pruneEmitted: db.prepare('DELETE FROM detect_emitted WHERE ns = ? AND at < ?'),
      meta: db.prepare('SELECT max_event_time FROM detect_meta WHERE ns = ?'),
      setMeta: db.prepare(
        `INSERT INTO detect_meta (ns, max_event_time, saved_at) VALUES (?, ?, ?)
         ON CONFLICT (ns) DO UPDATE SET max_event_time = excluded.max_event_time, saved_at = excluded.saved_at`,
      ),
      count: db.prepare('SELECT COUNT(*) AS n FROM detect_groups WHERE ns = ? AND rule = ?'),
    };
  }

  /** A persisted group, or undefined when absent or saved under another state shape. */
  loadGroup(rule: string, groupKey: string, shape: string): GroupRecord | undefined {
    const row = this.stmts.load.get(this.ns, rule, groupKey) as { shape: string; record: string } | undefined;
    if (!row || row.shape !== shape) return undefined;
    return JSON.parse(row.record) as GroupRecord;
  }

  /** Persist groups and the engine position in one transaction. */
  save(groups: readonly SavedGroup[], removed: ReadonlyArray<{ rule: string; groupKey: string }>, maxEventTime: number, now: number): void {
    this.db.transaction(() => {
      for (const g of groups) {
        this.stmts.save.run(this.ns, g.rule, g.groupKey, g.shape, g.record.lastSeen, JSON.stringify(g.record));
      }
      for (const r of removed) this.stmts.remove.run(this.ns, r.rule, r.groupKey);
      if (Number.isFinite(maxEventTime)) this.stmts.setMeta.run(this.ns, maxEventTime, now);
    })();
  }

  /** Discard a rule's groups saved under another state shape (the rule's meaning changed). */
  dropOtherShapes(rule: string, shape: string): number {
    return this.stmts.dropShapes.run(this.ns, rule, shape).changes;
  }

  hasEmitted(id: string): boolean {
    return this.stmts.hasEmitted.get(this.ns, id) !== undefined;
  }

  /** Remember an emitted finding id at once, so a crash right after cannot re-fire it. */
  recordEmitted(id: string, rule: string, at: number): void {
    this.stmts.emit.run(this.ns, id, rule, at);
  }

  /** Forget emitted ids older than `before` (event time); their windows can never recur. */
  pruneEmitted(before: number): number {
    return this.stmts.pruneEmitted.run(this.ns, before).changes;
  }

  /** The largest event time processed when state was last saved, or undefined. */
  maxEventTime(): number | undefined {
    const row = this.stmts.meta.get(this.ns) as { max_event_time: number } | undefined;
    return row?.max_event_time;
  }

  /** Persisted groups of a rule (for tests and status). */
  groupCount(rule: string): number {
    return (this.stmts.count.get(this.ns, rule) as { n: number }).n;
  }
}
