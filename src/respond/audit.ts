import { appendFileSync, closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { systemClock, type Clock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { ControlDb } from '../store/control.js';
import type { ActionRecord, WriteResult } from '../store/types.js';
import { canonicalJson, hmacHex, sha256Hex } from './canonical.js';
import { ensureRespondSchema, statementCache } from './db.js';

/**
 * The audit chain: an append-only, hash-chained record of every action, approval, rotation,
 * revocation and configuration change.
 *
 * hash = SHA-256 (hex) of canonicalJson(record without `hash`), and the record includes
 * `prev_hash` (the previous record's hash; 64 zeros for seq 1). Editing, removing or reordering
 * a record breaks the chain at that record. The records live in the control DB and, when a
 * file is given, also in an append-only NDJSON file (one canonical JSON record per line).
 *
 * Truncating the tail of both copies leaves a valid but shorter chain, so every append also
 * rewrites an anchor (last seq + hash) with an HMAC under TUSKGUARD_AUDIT_KEY when that key is
 * set (a plain SHA-256 otherwise, which only catches careless truncation): cutting the tail
 * then needs a new anchor, and a new anchor needs the key.
 */
export const GENESIS_HASH = '0'.repeat(64);

export interface AuditEntry {
  /** Who: `tuskguard` (automatic), `person:<name>`, `outbox`, `cli:<user>`. */
  actor: string;
  /** What, e.g. `notify-slack`, `revoke`, `approval.approve`, `breaker.reset`. */
  action: string;
  /** Why, for people (policy and rule, or the operator's words). */
  reason: string;
  finding_id?: string | null;
  /** `sha256:<hex>` of the canonical evidence the decision was made on. */
  evidence_ref?: string | null;
  /** Key id, IP, channel… */
  target?: string | null;
  /** Outcome status (`queued`, `done`, `dry-run`, `approval-pending`, `failed`, …). */
  result: string;
  /** Secret-free structured details (policy, rule, fingerprint, job id, counts). */
  details?: Record<string, unknown>;
}

export interface AuditRecord {
  seq: number;
  at: string;
  actor: string;
  action: string;
  reason: string;
  finding_id: string | null;
  evidence_ref: string | null;
  target: string | null;
  result: string;
  details: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

export type UnhashedRecord = Omit<AuditRecord, 'hash'>;

export function hashRecord(record: UnhashedRecord): string {
  const { seq, at, actor, action, reason, finding_id, evidence_ref, target, result, details, prev_hash } = record;
  return sha256Hex(canonicalJson({ seq, at, actor, action, reason, finding_id, evidence_ref, target, result, details, prev_hash }));
}

/** The file form of a record: its canonical JSON and a newline. */
export function recordLine(record: AuditRecord): string {
  return `${canonicalJson(record)}\n`;
}

/** The anchor's check value: HMAC-SHA256 under `key`, or SHA-256 when no key is configured. */
export function anchorMac(key: string | null, seq: number, hash: string): string {
  const text = `tuskguard-audit-anchor:v1:${seq}:${hash}`;
  return key ? hmacHex(key, text) : sha256Hex(text);
}

/** `sha256:<hex>` of a finding's evidence, so the chain pins exactly what was acted on. */
export function evidenceRef(evidence: unknown): string {
  return `sha256:${sha256Hex(canonicalJson(evidence ?? null))}`;
}

export type MirrorFn = (records: readonly ActionRecord[]) => Promise<WriteResult | void>;

export interface AuditOptions {
  /** NDJSON mirror, normally `<home>/audit.log`; null or absent for none. */
  file?: string | null;
  /** HMAC key for the anchor (TUSKGUARD_AUDIT_KEY); never logged. */
  anchorKey?: string | null;
  /** Mirror to the searchable store (EventStore.writeActions), best effort with catch-up. */
  mirror?: MirrorFn;
  clock?: Clock;
  logger?: Logger;
  metrics?: Metrics;
}

interface Row extends Omit<AuditRecord, 'details'> {
  details: string;
}

export function rowToRecord(r: Row): AuditRecord {
  return { ...r, details: JSON.parse(r.details) as Record<string, unknown> };
}

/** The searchable form of a record (the store's actions index, for dashboards). */
export function toActionRecord(r: AuditRecord): ActionRecord {
  const d = r.details;
  return {
    id: `audit-${r.seq}`,
    '@timestamp': r.at,
    action: r.action,
    actor: r.actor,
    reason: r.reason,
    finding: r.finding_id,
    target: r.target,
    outcome: r.result,
    status: r.result,
    key: d.key ?? null,
    fingerprint: d.fingerprint ?? null,
    rule: d.rule ?? null,
    policy: d.policy ?? null,
    dry_run: d.dry_run === true,
    evidence_ref: r.evidence_ref,
    audit: { seq: r.seq, hash: r.hash, prev_hash: r.prev_hash },
  };
}

export class AuditLog {
  private readonly sql: ReturnType<typeof statementCache>;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly file: string | null;
  private mirroring: Promise<number> = Promise.resolve(0);

  constructor(
    readonly db: ControlDb,
    private readonly options: AuditOptions = {},
  ) {
    ensureRespondSchema(db);
    this.sql = statementCache(db);
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.file = options.file ?? null;
    if (this.file) this.prepareFile(this.file);
  }

  /** Append one record (durable in the DB and the file when it returns) and start mirroring it. */
  append(entry: AuditEntry): AuditRecord {
    const record = this.db
      .transaction((): AuditRecord => {
        const head = this.head();
        const unhashed: UnhashedRecord = {
          seq: (head?.seq ?? 0) + 1,
          at: new Date(this.clock.now()).toISOString(),
          actor: entry.actor,
          action: entry.action,
          reason: entry.reason,
          finding_id: entry.finding_id ?? null,
          evidence_ref: entry.evidence_ref ?? null,
          target: entry.target ?? null,
          result: entry.result,
          details: JSON.parse(canonicalJson(entry.details ?? {})) as Record<string, unknown>,
          prev_hash: head?.hash ?? GENESIS_HASH,
        };
        const full: AuditRecord = { ...unhashed, hash: hashRecord(unhashed) };
        this.insert(full);
        // Written while the DB write lock is held, so concurrent writers keep the file in seq order.
        if (this.file) appendFileSync(this.file, recordLine(full), { mode: 0o600 });
        return full;
      })
      .immediate();
    if (this.options.mirror) void this.flushMirror();
    return record;
  }

  head(): AuditRecord | null {
    const row = this.sql('SELECT * FROM audit_records ORDER BY seq DESC LIMIT 1').get() as Row | undefined;
    return row ? rowToRecord(row) : null;
  }

  /** Records in seq order (or newest first with `order: 'desc'`), filtered. */
  list(filter: { afterSeq?: number; findingId?: string; limit?: number; order?: 'asc' | 'desc' } = {}): AuditRecord[] {
    const where = ['seq > ?'];
    const args: unknown[] = [filter.afterSeq ?? 0];
    if (filter.findingId) (where.push('finding_id = ?'), args.push(filter.findingId));
    const order = filter.order === 'desc' ? 'DESC' : 'ASC';
    const sql = `SELECT * FROM audit_records WHERE ${where.join(' AND ')} ORDER BY seq ${order} LIMIT ?`;
    return (this.sql(sql).all(...args, filter.limit ?? 100) as Row[]).map(rowToRecord);
  }

  /**
   * Send records not yet mirrored to the store, in batches; on failure the high-water mark
   * stays and the next append or flush catches up. Resolves with the number mirrored.
   */
  flushMirror(): Promise<number> {
    const mirror = this.options.mirror;
    if (!mirror) return Promise.resolve(0);
    this.mirroring = this.mirroring.then(async () => {
      let total = 0;
      for (;;) {
        const { mirrored_seq: mark } = this.sql('SELECT mirrored_seq FROM audit_meta WHERE id = 1').get() as { mirrored_seq: number };
        const batch = this.list({ afterSeq: mark, limit: 500 });
        if (batch.length === 0) return total;
        try {
          const res = await mirror(batch.map(toActionRecord));
          if (res && res.failed.length > 0) this.options.metrics?.errors.inc({ component: 'audit', stage: 'mirror' }, res.failed.length);
        } catch (e) {
          this.options.metrics?.errors.inc({ component: 'audit', stage: 'mirror' });
          this.logger.warn({ error: errorMessage(e), from_seq: mark + 1 }, 'audit mirror failed; will catch up later');
          return total;
        }
        this.sql('UPDATE audit_meta SET mirrored_seq = ? WHERE id = 1').run(batch[batch.length - 1]!.seq);
        total += batch.length;
      }
    });
    return this.mirroring;
  }

  private insert(r: AuditRecord): void {
    this.sql(
        `INSERT INTO audit_records (seq, at, actor, action, reason, finding_id, evidence_ref, target, result, details, prev_hash, hash)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(r.seq, r.at, r.actor, r.action, r.reason, r.finding_id, r.evidence_ref, r.target, r.result, canonicalJson(r.details), r.prev_hash, r.hash);
    this.writeAnchor(r);
  }

  private writeAnchor(r: AuditRecord): void {
    const key = this.options.anchorKey ?? null;
    this.sql(
        `INSERT INTO audit_anchor (id, seq, hash, keyed, mac, at) VALUES (1, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, keyed = excluded.keyed, mac = excluded.mac, at = excluded.at`,
      )
      .run(r.seq, r.hash, key ? 1 : 0, anchorMac(key, r.seq, r.hash), new Date(this.clock.now()).toISOString());
  }

  /**
   * First use of a file: copy the records the DB already holds. Later opens: roll forward a
   * record that reached the file but not the DB (a crash between the two writes). A missing
   * file is never recreated silently: verify reports it.
   */
  private prepareFile(file: string): void {
    const meta = this.sql('SELECT file_mirror FROM audit_meta WHERE id = 1').get() as { file_mirror: number };
    this.db.transaction(() => {
      if (meta.file_mirror === 0) {
        for (const r of this.list({ limit: Number.MAX_SAFE_INTEGER })) appendFileSync(file, recordLine(r), { mode: 0o600 });
        this.sql('UPDATE audit_meta SET file_mirror = 1 WHERE id = 1').run();
        return;
      }
      const last = existsSync(file) ? readLastLine(file) : null;
      const head = this.head();
      const candidate = last ? parseRecord(last) : null;
      if (candidate && candidate.seq === (head?.seq ?? 0) + 1 && candidate.prev_hash === (head?.hash ?? GENESIS_HASH) && hashRecord(candidate) === candidate.hash) {
        this.insert(candidate);
        this.logger.warn({ seq: candidate.seq }, 'audit record found in the file but not the DB; rolled forward');
      }
    }).immediate();
  }
}

/** A record parsed from one file line, or null when the line is not a well-formed record. */
export function parseRecord(line: string): AuditRecord | null {
  try {
    const v = JSON.parse(line) as AuditRecord;
    return typeof v === 'object' && v !== null && Number.isInteger(v.seq) && typeof v.hash === 'string' ? v : null;
  } catch {
    return null;
  }
}

/** The last complete line of a file (reads at most the last 1 MiB). */
function readLastLine(file: string): string | null {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const len = Math.min(size, 1 << 20);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    const lines = buf.toString('utf8').split('\n').filter((l) => l.length > 0);
    return lines[lines.length - 1] ?? null;
  } finally {
    closeSync(fd);
  }
}
