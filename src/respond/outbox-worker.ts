import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { systemClock, type Clock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import { redactSecrets } from '../core/redact.js';
import type { Outbox, OutboxJob } from './outbox.js';

/** How one channel delivers its jobs (an action folder provides it). */
export interface OutboxChannel {
  /** Deliveries of this channel in flight at once, per worker. */
  concurrency: number;
  /** A delivery still running after this is abandoned and retried; keep it well under the lease. */
  timeoutMs: number;
  /**
   * Deliver one job. Resolve with a secret-free result to mark it done; throw DeliveryError
   * (permanent for a request that can never succeed, retryAfterMs for a 429) or any error to
   * retry with backoff. Must honour `signal` where the client allows it.
   */
  deliver(job: OutboxJob, signal: AbortSignal): Promise<unknown>;
}

/** A failed delivery; the message must be free of secrets (it is stored and logged). */
export class DeliveryError extends Error {
  readonly permanent: boolean;
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options: { permanent?: boolean; retryAfterMs?: number } = {}) {
    super(message);
    this.name = 'DeliveryError';
    this.permanent = options.permanent ?? false;
    this.retryAfterMs = options.retryAfterMs;
  }
}

export interface BackoffSettings {
  /** Delay after the first failure. */
  baseMs: number;
  /** Ceiling for any delay. */
  maxMs: number;
}

/**
 * Exponential backoff with equal jitter: the n-th retry waits between d/2 and d, where
 * d = min(max, base·2^(n−1)). Half the delay is guaranteed (peers get a rest); the random
 * half spreads retries of many jobs that failed together.
 */
export function backoffDelay(attempt: number, settings: BackoffSettings, random: () => number = Math.random): number {
  const d = Math.min(settings.maxMs, settings.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(d / 2 + random() * (d / 2));
}

export type Settlement = 'delivered' | 'dead';

export interface WorkerOptions {
  /** Lease owner name; default a random id per worker. */
  owner?: string;
  pollMs?: number;
  leaseMs?: number;
  /** Delivered jobs are deleted this long after delivery (the audit chain keeps the record). */
  retainDoneMs?: number;
  backoff?: BackoffSettings;
  random?: () => number;
  clock?: Clock;
  logger?: Logger;
  metrics?: Metrics;
  /** Called once per job when it is delivered or dead-lettered (the audit chain hooks in here). */
  onSettled?: (job: OutboxJob, outcome: Settlement, detail: { error?: string; result?: unknown }) => void;
}

export interface DrainReport {
  drained: boolean;
  pending: number;
  dead: number;
}

/**
 * Delivers the outbox's jobs for the channels it is given, with per-channel concurrency,
 * retries with backoff and dead-lettering. Several workers (processes) may share one outbox:
 * leases keep them from delivering the same job twice while both are alive.
 */
export class OutboxWorker {
  private readonly owner: string;
  private readonly opts: Required<Omit<WorkerOptions, 'owner' | 'metrics' | 'onSettled'>>;
  private readonly inflight = new Map<string, number>();
  private readonly active = new Set<Promise<void>>();
  private running = false;
  private lastPurge = 0;
  private timer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private unsubscribe: (() => void) | null = null;

  constructor(
    private readonly outbox: Outbox,
    private readonly channels: Readonly<Record<string, OutboxChannel>>,
    private readonly options: WorkerOptions = {},
  ) {
    this.owner = options.owner ?? `worker-${randomUUID()}`;
    this.opts = {
      pollMs: options.pollMs ?? 250,
      leaseMs: options.leaseMs ?? 60_000,
      retainDoneMs: options.retainDoneMs ?? 7 * 86_400_000,
      backoff: options.backoff ?? { baseMs: 1_000, maxMs: 300_000 },
      random: options.random ?? Math.random,
      clock: options.clock ?? systemClock,
      logger: options.logger ?? silentLogger,
    };
  }

  get channelIds(): string[] {
    return Object.keys(this.channels);
  }

  /** Start polling; pending work left by an earlier run (or a dead worker's expired leases) resumes. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.unsubscribe = this.outbox.onEnqueue(() => this.wake());
    this.wake();
  }

  /** Stop taking jobs and wait for the deliveries in flight. */
  async stop(): Promise<void> {
    this.running = false;
    this.unsubscribe?.();
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = null;
    this.immediate = null;
    await Promise.allSettled([...this.active]);
  }

  /** Look for due jobs now rather than at the next poll. */
  wake(): void {
    if (!this.running || this.immediate) return;
    // setImmediate, not setTimeout(0): the latter waits at least 1 ms per delivery.
    this.immediate = setImmediate(() => {
      this.immediate = null;
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      this.tick();
    });
  }

  /**
   * Wait until this worker's channels have nothing pending or leased, or `timeoutMs` passed.
   * `releaseScheduled` first makes delayed digests due (replay wants them sent, not parked).
   * Starts the worker if it is not running.
   */
  async drain(timeoutMs: number, options: { releaseScheduled?: boolean } = {}): Promise<DrainReport> {
    if (options.releaseScheduled) this.outbox.releaseScheduled();
    this.start();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const c = this.outbox.counts(this.channelIds);
      const busy = [...this.inflight.values()].some((n) => n > 0);
      if (c.pending + c.leased === 0 && !busy) return { drained: true, pending: 0, dead: c.dead };
      if (Date.now() >= deadline) return { drained: false, pending: c.pending + c.leased, dead: c.dead };
      await sleep(Math.min(25, Math.max(1, deadline - Date.now())));
    }
  }

  private tick(): void {
    this.timer = null;
    if (!this.running) return;
    this.purge();
    let leased = 0;
    for (const [id, channel] of Object.entries(this.channels)) {
      const free = channel.concurrency - (this.inflight.get(id) ?? 0);
      if (free <= 0) continue;
      let jobs: OutboxJob[] = [];
      try {
        jobs = this.outbox.lease(id, this.owner, free, this.opts.leaseMs);
      } catch (e) {
        // SQLITE_BUSY under heavy contention: count it and try again at the next poll.
        this.options.metrics?.errors.inc({ component: 'outbox', stage: 'lease' });
        this.opts.logger.warn({ channel: id, error: errorMessage(e) }, 'outbox lease failed');
      }
      for (const job of jobs) this.track(this.run(id, channel, job));
      leased += jobs.length;
    }
    this.scheduleNext(leased > 0);
  }

  /** Hourly: drop delivered jobs past their retention so leasing stays cheap. */
  private purge(): void {
    const now = this.opts.clock.now();
    if (now - this.lastPurge < 3_600_000) return;
    this.lastPurge = now;
    try {
      this.outbox.purgeDone(now - this.opts.retainDoneMs);
    } catch (e) {
      this.opts.logger.warn({ error: errorMessage(e) }, 'outbox purge failed');
    }
  }

  /** When jobs were just leased, their completion wakes the worker: skip the due-time query. */
  private scheduleNext(busy: boolean): void {
    if (!this.running || this.timer) return;
    const next = busy ? null : this.outbox.nextDueAt(this.channelIds);
    const now = this.opts.clock.now();
    const wait = next === null ? this.opts.pollMs : Math.min(this.opts.pollMs, Math.max(0, next - now));
    this.timer = setTimeout(() => this.tick(), wait);
  }

  private track(p: Promise<void>): void {
    this.active.add(p);
    void p.finally(() => this.active.delete(p));
  }

  private async run(id: string, channel: OutboxChannel, job: OutboxJob): Promise<void> {
    this.inflight.set(id, (this.inflight.get(id) ?? 0) + 1);
    try {
      const result = await withTimeout(channel.timeoutMs, (signal) => channel.deliver(job, signal));
      if (this.outbox.complete(job.id, this.owner, result)) this.settle(job, 'delivered', { result });
      else this.opts.logger.warn({ channel: id, job: job.id }, 'outbox lease lost before completion');
    } catch (e) {
      this.failed(id, job, e);
    } finally {
      this.inflight.set(id, (this.inflight.get(id) ?? 1) - 1);
      this.wake();
    }
  }

  /** The hook must not turn a finished delivery into a failure (it would be retried). */
  private settle(job: OutboxJob, outcome: Settlement, detail: { error?: string; result?: unknown }): void {
    try {
      this.options.onSettled?.(job, outcome, detail);
    } catch (e) {
      this.options.metrics?.errors.inc({ component: 'outbox', stage: 'settled-hook' });
      this.opts.logger.error({ job: job.id, error: errorMessage(e) }, 'outbox settled hook failed');
    }
  }

  private failed(id: string, job: OutboxJob, e: unknown): void {
    const error = redactSecrets(errorMessage(e));
    const delivery = e instanceof DeliveryError ? e : null;
    const retryIn = delivery?.retryAfterMs ?? backoffDelay(job.attempts, this.opts.backoff, this.opts.random);
    const outcome = this.outbox.fail(job.id, this.owner, error, {
      retryAt: this.opts.clock.now() + retryIn,
      permanent: delivery?.permanent ?? false,
    });
    this.options.metrics?.errors.inc({ component: 'outbox', stage: id });
    const log = { channel: id, job: job.id, key: job.key, attempts: job.attempts, error };
    if (outcome === 'dead') {
      this.options.metrics?.deadLetters.inc({ component: 'outbox', reason: id });
      this.opts.logger.error(log, 'outbox job dead-lettered');
      this.settle(job, 'dead', { error });
    } else {
      this.opts.logger.warn({ ...log, retry_in_ms: retryIn }, 'outbox delivery failed');
    }
  }
}

/** Run `fn` with an AbortSignal that fires after `ms`; reject at that point whatever `fn` does. */
async function withTimeout<T>(ms: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new DeliveryError(`delivery timed out after ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([fn(controller.signal), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
