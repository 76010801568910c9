import { systemClock, type Clock } from '../core/clock.js';
import type { ControlDb } from '../store/control.js';
import { ensureRespondSchema, statementCache } from './db.js';

/**
 * The durable outbox: every alert and every Mastodon call is a job in the control DB before
 * anything is sent, so a crash, a restart or a peer that is down loses nothing. Delivery is
 * at least once; receivers get the job key to de-duplicate. Payloads never hold a secret
 * (channel URLs and credentials are read from the environment at delivery time).
 *
 * States: pending → leased → done, or back to pending with a later `available_at` (retry), or
 * dead after `max_attempts` (visible, re-queueable with `requeue`). A lease carries an expiry:
 * a job whose worker died is leased again once the lease has expired.
 */
export const JOB_STATUSES = ['pending', 'leased', 'done', 'dead'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export interface OutboxJob {
  id: number;
  /** Idempotency key: a second enqueue with the same key returns the existing job. */
  key: string;
  /** Which handler delivers it (an action id such as `notify-slack`). */
  channel: string;
  payload: unknown;
  findingId: string | null;
  target: string | null;
  status: JobStatus;
  /** Deliveries started so far (a lease counts, so a job that crashes its worker ends dead). */
  attempts: number;
  maxAttempts: number;
  /** Not delivered before this time (ms since the epoch). */
  availableAt: number;
  /** True when the producer chose `availableAt` (a digest), false for a retry delay. */
  scheduled: boolean;
  leaseOwner: string | null;
  leaseExpiresAt: number | null;
  /** Secret-free message of the last failure. */
  lastError: string | null;
  result: unknown;
  createdAt: number;
  updatedAt: number;
  doneAt: number | null;
}

export interface EnqueueInput {
  key: string;
  channel: string;
  payload: unknown;
  findingId?: string | null;
  target?: string | null;
  /** Deliver no earlier than this (ms since the epoch); default now. */
  availableAt?: number;
  maxAttempts?: number;
  /**
   * When a job with this key is still pending and not yet leased, replace its payload (an
   * alert digest whose count grew). Without it an existing job is returned untouched.
   */
  replacePending?: boolean;
}

export interface EnqueueResult {
  job: OutboxJob;
  /** False when the key already existed. */
  created: boolean;
  /** True when `replacePending` updated a pending job's payload. */
  replaced: boolean;
}

export type FailOutcome = 'retry' | 'dead' | 'lost';

interface Row {
  id: number;
  key: string;
  channel: string;
  payload: string;
  finding_id: string | null;
  target: string | null;
  status: JobStatus;
  attempts: number;
  max_attempts: number;
  available_at: number;
  scheduled: number;
  lease_owner: string | null;
  lease_expires_at: number | null;
  last_error: string | null;
  result: string | null;
  created_at: number;
  updated_at: number;
  done_at: number | null;
}

function toJob(r: Row): OutboxJob {
  return {
    id: r.id,
    key: r.key,
    channel: r.channel,
    payload: JSON.parse(r.payload) as unknown,
    findingId: r.finding_id,
    target: r.target,
    status: r.status,
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    availableAt: r.available_at,
    scheduled: r.scheduled === 1,
    leaseOwner: r.lease_owner,
    leaseExpiresAt: r.lease_expires_at,
    lastError: r.last_error,
    result: r.result === null ? null : (JSON.parse(r.result) as unknown),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    doneAt: r.done_at,
  };
}

export const DEFAULT_MAX_ATTEMPTS = 8;

export class Outbox {
  private readonly sql: ReturnType<typeof statementCache>;
  private readonly clock: Clock;
  private readonly maxAttempts: number;
  private readonly listeners = new Set<() => void>();

  constructor(
    readonly db: ControlDb,
    options: { clock?: Clock; maxAttempts?: number } = {},
  ) {
    ensureRespondSchema(db);
    this.sql = statementCache(db);
    this.clock = options.clock ?? systemClock;
    this.maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  }

  /** Called after every enqueue in this process (workers wake up instead of waiting a poll). */
  onEnqueue(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Persist a job unless its key exists (see `replacePending`). Durable when it returns. */
  enqueue(input: EnqueueInput): EnqueueResult {
    const now = this.clock.now();
    const result = this.db.transaction((): EnqueueResult => {
      const existing = this.getByKey(input.key);
      if (existing) {
        if (!input.replacePending || existing.status !== 'pending' || existing.attempts > 0) {
          return { job: existing, created: false, replaced: false };
        }
        this.sql('UPDATE outbox_jobs SET payload = ?, updated_at = ? WHERE id = ?')
          .run(JSON.stringify(input.payload), now, existing.id);
        return { job: this.get(existing.id)!, created: false, replaced: true };
      }
      const availableAt = input.availableAt ?? now;
      const info = this.sql(
          `INSERT INTO outbox_jobs (key, channel, payload, finding_id, target, status, max_attempts,
             available_at, scheduled, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?)`,
        )
        .run(
          input.key,
          input.channel,
          JSON.stringify(input.payload),
          input.findingId ?? null,
          input.target ?? null,
          input.maxAttempts ?? this.maxAttempts,
          availableAt,
          availableAt > now ? 1 : 0,
          now,
          now,
        );
      return { job: this.get(Number(info.lastInsertRowid))!, created: true, replaced: false };
    })();
    for (const listener of this.listeners) listener();
    return result;
  }

  /**
   * Lease up to `limit` due jobs of `channel` for `leaseMs`: pending jobs whose time has come
   * and leased jobs whose lease expired (their worker died). Each lease counts as an attempt.
   */
  lease(channel: string, owner: string, limit: number, leaseMs: number): OutboxJob[] {
    if (limit <= 0) return [];
    const now = this.clock.now();
    const rows = this.sql(
        `UPDATE outbox_jobs SET status = 'leased', lease_owner = ?, lease_expires_at = ?,
           attempts = attempts + 1, updated_at = ?
         WHERE id IN (SELECT id FROM (
             SELECT id, available_at FROM outbox_jobs WHERE channel = ? AND status = 'pending' AND available_at <= ?
             UNION ALL
             SELECT id, available_at FROM outbox_jobs WHERE channel = ? AND status = 'leased' AND lease_expires_at <= ?)
           ORDER BY available_at, id LIMIT ?)
         RETURNING *`,
      )
      // Two index range scans rather than one OR, which scanned every job of the channel.
      .all(owner, now + leaseMs, now, channel, now, channel, now, limit) as Row[];
    return rows.map(toJob).sort((a, b) => a.availableAt - b.availableAt || a.id - b.id);
  }

  /** Mark a leased job delivered. False when this owner no longer holds the lease. */
  complete(id: number, owner: string, result: unknown = null): boolean {
    const now = this.clock.now();
    const info = this.sql(
        `UPDATE outbox_jobs SET status = 'done', result = ?, done_at = ?, updated_at = ?,
           lease_owner = NULL, lease_expires_at = NULL, last_error = NULL
         WHERE id = ? AND status = 'leased' AND lease_owner = ?`,
      )
      .run(JSON.stringify(result ?? null), now, now, id, owner);
    return info.changes === 1;
  }

  /**
   * Record a failed delivery: back to pending at `retryAt`, or dead when the attempts are used
   * up or the failure is permanent. `error` must already be free of secrets.
   */
  fail(id: number, owner: string, error: string, options: { retryAt: number; permanent?: boolean }): FailOutcome {
    const now = this.clock.now();
    const job = this.get(id);
    if (!job || job.status !== 'leased' || job.leaseOwner !== owner) return 'lost';
    const dead = options.permanent === true || job.attempts >= job.maxAttempts;
    this.sql(
        `UPDATE outbox_jobs SET status = ?, available_at = ?, scheduled = 0, last_error = ?, updated_at = ?,
           lease_owner = NULL, lease_expires_at = NULL
         WHERE id = ?`,
      )
      .run(dead ? 'dead' : 'pending', dead ? job.availableAt : options.retryAt, error.slice(0, 2000), now, id);
    return dead ? 'dead' : 'retry';
  }

  /**
   * Put dead jobs back in the queue with a fresh set of attempts: the ids given, or every dead
   * job (of `channel` when given). Returns how many were re-queued.
   */
  requeue(selector: { ids: readonly number[] } | { allDead: true; channel?: string }): number {
    const now = this.clock.now();
    const set = `SET status = 'pending', attempts = 0, available_at = ?, scheduled = 0, updated_at = ?`;
    if ('ids' in selector) {
      const stmt = this.sql(`UPDATE outbox_jobs ${set} WHERE id = ? AND status = 'dead'`);
      return this.db.transaction(() => selector.ids.reduce((n, id) => n + stmt.run(now, now, id).changes, 0))();
    }
    const byChannel = selector.channel === undefined ? '' : ' AND channel = ?';
    const args = selector.channel === undefined ? [now, now] : [now, now, selector.channel];
    return this.sql(`UPDATE outbox_jobs ${set} WHERE status = 'dead'${byChannel}`).run(...args).changes;
  }

  /** Make producer-scheduled jobs (digests) due now; `replay` does this before draining. */
  releaseScheduled(): number {
    const now = this.clock.now();
    return this.sql(`UPDATE outbox_jobs SET available_at = ?, scheduled = 0, updated_at = ? WHERE status = 'pending' AND scheduled = 1`)
      .run(now, now).changes;
  }

  get(id: number): OutboxJob | null {
    const row = this.sql('SELECT * FROM outbox_jobs WHERE id = ?').get(id) as Row | undefined;
    return row ? toJob(row) : null;
  }

  getByKey(key: string): OutboxJob | null {
    const row = this.sql('SELECT * FROM outbox_jobs WHERE key = ?').get(key) as Row | undefined;
    return row ? toJob(row) : null;
  }

  /**
   * The oldest job of `channel` naming `target` that is still to be delivered (pending or
   * leased), or null when every such job is done or dead. Read-only: lets one producer see that
   * another producer's job already holds the same work (see OutboxRevocationRetry.schedule).
   */
  liveJob(channel: string, target: string): OutboxJob | null {
    const row = this.sql(`SELECT * FROM outbox_jobs WHERE channel = ? AND status IN ('pending', 'leased') AND target = ? ORDER BY id LIMIT 1`)
      .get(channel, target) as Row | undefined;
    return row ? toJob(row) : null;
  }

  /** Jobs, newest first, filtered by status and channel; at most `limit` (default 100). */
  list(filter: { status?: JobStatus; channel?: string; limit?: number } = {}): OutboxJob[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.status) (where.push('status = ?'), args.push(filter.status));
    if (filter.channel) (where.push('channel = ?'), args.push(filter.channel));
    const sql = `SELECT * FROM outbox_jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    return (this.sql(sql).all(...args, filter.limit ?? 100) as Row[]).map(toJob);
  }

  /** Number of jobs per status, optionally only for the given channels. */
  counts(channels?: readonly string[]): Record<JobStatus, number> {
    const out: Record<JobStatus, number> = { pending: 0, leased: 0, done: 0, dead: 0 };
    const filter = channels ? `WHERE channel IN (${channels.map(() => '?').join(',') || "''"})` : '';
    const rows = this.sql(`SELECT status, COUNT(*) AS n FROM outbox_jobs ${filter} GROUP BY status`)
      .all(...(channels ?? [])) as Array<{ status: JobStatus; n: number }>;
    for (const r of rows) out[r.status] = r.n;
    return out;
  }

  /** Delete delivered jobs finished before `before` (their delivery is in the audit chain). */
  purgeDone(before: number): number {
    return this.sql("DELETE FROM outbox_jobs WHERE status = 'done' AND done_at < ?").run(before).changes;
  }

  /** Earliest time a pending job of these channels becomes due, or null when none is pending. */
  nextDueAt(channels: readonly string[]): number | null {
    if (channels.length === 0) return null;
    let next: number | null = null;
    for (const channel of channels) {
      const row = this.sql(
        `SELECT MIN(t) AS t FROM (
           SELECT MIN(available_at) AS t FROM outbox_jobs WHERE channel = ? AND status = 'pending'
           UNION ALL
           SELECT MIN(lease_expires_at) FROM outbox_jobs WHERE channel = ? AND status = 'leased')`,
      ).get(channel, channel) as { t: number | null };
      if (row.t !== null && (next === null || row.t < next)) next = row.t;
    }
    return next;
  }
}
