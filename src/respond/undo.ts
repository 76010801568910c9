import { systemClock, type Clock } from '../core/clock.js';
import { TuskguardError } from '../core/errors.js';
import { migrate, type ControlDb } from '../store/control.js';
import type { AuditEntry } from './audit.js';

/**
 * Reversible actions (suspend-account, block-ip) record here what undoing them takes: the
 * instance, the admin key that acted, and the account id or IP block id Mastodon returned.
 * `tuskguard respond undo ID` (src/cli/commands/respond-undo.ts) reads a record, undoes the
 * action through the admin API, and marks it undone; both steps are audited.
 */
export const UNDO_MIGRATIONS: readonly string[] = [
  `CREATE TABLE respond_reversible (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     action TEXT NOT NULL,
     target TEXT NOT NULL,
     instance TEXT NOT NULL,
     admin_key TEXT NOT NULL,
     data TEXT NOT NULL,
     finding_id TEXT,
     outbox_key TEXT UNIQUE,
     created_at INTEGER NOT NULL,
     expires_at INTEGER,
     undone_at INTEGER,
     undone_by TEXT
   );`,
];

/** What undoing needs, per action (no secret: ids only). */
export type UndoData =
  | { kind: 'suspend-account'; account_id: string; key_id: string }
  | { kind: 'block-ip'; ip_block_id: string; ip: string; severity: string };

export interface Reversible {
  id: number;
  action: string;
  target: string;
  instance: string;
  adminKey: string;
  data: UndoData;
  findingId: string | null;
  createdAt: number;
  /** When Mastodon drops it by itself (an IP block's expiry), or null. */
  expiresAt: number | null;
  undoneAt: number | null;
  undoneBy: string | null;
}

interface Row {
  id: number;
  action: string;
  target: string;
  instance: string;
  admin_key: string;
  data: string;
  finding_id: string | null;
  created_at: number;
  expires_at: number | null;
  undone_at: number | null;
  undone_by: string | null;
}

function fromRow(r: Row): Reversible {
  return {
    id: r.id, action: r.action, target: r.target, instance: r.instance, adminKey: r.admin_key, data: JSON.parse(r.data) as UndoData,
    findingId: r.finding_id, createdAt: r.created_at, expiresAt: r.expires_at, undoneAt: r.undone_at, undoneBy: r.undone_by,
  };
}

export class UndoLog {
  private readonly clock: Clock;

  constructor(
    private readonly db: ControlDb,
    options: { clock?: Clock } = {},
  ) {
    migrate(db, 'respond-undo', UNDO_MIGRATIONS);
    this.clock = options.clock ?? systemClock;
  }

  /**
   * Record a reversible action once per outbox job (`outboxKey`): a delivery retried after
   * the record was written returns the existing id. Returns the record id (the ACTION_ID).
   */
  record(input: { action: string; target: string; instance: string; adminKey: string; data: UndoData; findingId: string | null; outboxKey: string; expiresAt?: number | null }): number {
    const existing = this.db.prepare('SELECT id FROM respond_reversible WHERE outbox_key = ?').get(input.outboxKey) as { id: number } | undefined;
    if (existing) return existing.id;
    const res = this.db
      .prepare(
        `INSERT INTO respond_reversible (action, target, instance, admin_key, data, finding_id, outbox_key, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(input.action, input.target, input.instance, input.adminKey, JSON.stringify(input.data), input.findingId, input.outboxKey, this.clock.now(), input.expiresAt ?? null);
    return Number(res.lastInsertRowid);
  }

  get(id: number): Reversible | null {
    const row = this.db.prepare('SELECT * FROM respond_reversible WHERE id = ?').get(id) as Row | undefined;
    return row ? fromRow(row) : null;
  }

  /** Newest first; `open` leaves out undone ones. */
  list(filter: { open?: boolean; limit?: number } = {}): Reversible[] {
    const where = filter.open ? 'WHERE undone_at IS NULL' : '';
    return (this.db.prepare(`SELECT * FROM respond_reversible ${where} ORDER BY id DESC LIMIT ?`).all(filter.limit ?? 100) as Row[]).map(fromRow);
  }

  /** Mark undone; false when it already was (someone else undid it first). */
  markUndone(id: number, by: string): boolean {
    const res = this.db.prepare('UPDATE respond_reversible SET undone_at = ?, undone_by = ? WHERE id = ? AND undone_at IS NULL').run(this.clock.now(), by, id);
    return res.changes === 1;
  }
}

/** The admin calls undoing needs, and a way to read the admin key's token for one call. */
export interface UndoDeps {
  log: UndoLog;
  token(keyId: string): Promise<string>;
  admin: {
    unsuspendAccount(a: { instance: string; token: string; accountId: string }): Promise<void>;
    deleteIpBlock(a: { instance: string; token: string; id: string }): Promise<void>;
  };
  audit(entry: AuditEntry): unknown;
  clock?: Clock;
}

export interface UndoReport {
  id: number;
  action: string;
  target: string;
  /** `undone`, or `already-gone` when Mastodon no longer had it (an expired IP block). */
  outcome: 'undone' | 'already-gone';
  message: string;
}

/**
 * Undo reversible action `id` as `by` (`cli:<user>`): unsuspend the account or delete the IP
 * block with the admin key that made it. An IP block Mastodon already dropped (404: expired
 * and purged, or removed by hand) counts as undone. Throws USAGE for an unknown or already
 * undone id; Mastodon errors pass through as coded errors (nothing is marked then).
 */
export async function undoAction(id: number, by: string, deps: UndoDeps): Promise<UndoReport> {
  const r = deps.log.get(id);
  if (!r) throw new TuskguardError('USAGE', `no reversible action #${id}`, { hint: 'list them with `tuskguard respond undo --list`' });
  if (r.undoneAt !== null) {
    throw new TuskguardError('USAGE', `action #${id} was already undone by ${r.undoneBy} at ${new Date(r.undoneAt).toISOString()}`, { hint: 'nothing to do' });
  }
  const token = await deps.token(r.adminKey);
  let outcome: UndoReport['outcome'] = 'undone';
  if (r.data.kind === 'suspend-account') {
    await deps.admin.unsuspendAccount({ instance: r.instance, token, accountId: r.data.account_id });
  } else {
    try {
      await deps.admin.deleteIpBlock({ instance: r.instance, token, id: r.data.ip_block_id });
    } catch (e) {
      if ((e as { details?: { status?: number } }).details?.status !== 404) throw e;
      outcome = 'already-gone';
    }
  }
  deps.log.markUndone(id, by);
  const message = r.data.kind === 'suspend-account'
    ? `account ${r.data.account_id} (owner of ${r.data.key_id}) is unsuspended on ${r.instance}`
    : outcome === 'undone' ? `IP block ${r.data.ip} (#${r.data.ip_block_id}) removed from ${r.instance}` : `IP block ${r.data.ip} was already gone from ${r.instance}`;
  deps.audit({
    actor: by, action: `${r.action}.undo`, reason: `undo of action #${id} requested by ${by}`, finding_id: r.findingId, target: r.target,
    result: outcome === 'undone' ? 'done' : 'already-gone', details: { undo_id: id, instance: r.instance, admin_key: r.adminKey, ...r.data },
  });
  return { id, action: r.action, target: r.target, outcome, message };
}
