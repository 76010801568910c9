import { systemClock, type Clock } from '../../core/clock.js';
import { silentLogger, type Logger } from '../../core/logger.js';
import type { Metrics } from '../../core/metrics.js';
import type { Outbox, OutboxJob } from '../../respond/outbox.js';
import { DeliveryError, OutboxWorker, type OutboxChannel } from '../../respond/outbox-worker.js';
import type { RevocationRetryQueue, RevocationService } from './service.js';
import type { Announcer, Notice } from './types.js';

/**
 * Pending revocations ride the responder's durable outbox (src/respond/outbox.ts): one job per
 * revocation, keyed `keys-revoke:<revocation id>`, payload `{revocation_id, key_id}` (no
 * secret: the vault is read at delivery time). The job survives restarts; `serve` runs a worker
 * for this channel, which retries with exponential backoff and jitter until Mastodon confirms
 * the 401, and re-queues dead-lettered jobs of still-pending revocations when it starts.
 */
export const REVOKE_RETRY_CHANNEL = 'keys-revoke-retry';

/**
 * The channel of the responder's `revoke` action (src/respond/actions/revoke: the channel is
 * the action id, the job's target the key id). Its job retries the key's pending revocation
 * itself, through `revokeKey`, which resumes the key's open revocation.
 */
export const RESPONDER_REVOKE_CHANNEL = 'revoke';

export interface RetrySettings {
  baseMs: number;
  maxMs: number;
  maxAttempts: number;
}

export class OutboxRevocationRetry implements RevocationRetryQueue {
  constructor(
    private readonly outbox: Outbox,
    private readonly settings: RetrySettings,
    private readonly clock: Clock = systemClock,
  ) {}

  /**
   * Queue (or re-queue, when dead) the retry job of this revocation; idempotent. True when this
   * queue's job holds it; false when a live responder `revoke` job of the key already does: a
   * second job would call Mastodon on each of its own retries and give up a second time.
   */
  schedule(revocationId: number, keyId: string, delayMs: number = this.settings.baseMs): boolean {
    if (this.outbox.liveJob(RESPONDER_REVOKE_CHANNEL, keyId)) return false;
    const { job, created } = this.outbox.enqueue({
      key: `keys-revoke:${revocationId}`,
      channel: REVOKE_RETRY_CHANNEL,
      payload: { revocation_id: revocationId, key_id: keyId },
      target: keyId,
      // The first attempt just failed: wait the base delay rather than hammer a dead instance.
      availableAt: this.clock.now() + delayMs,
      maxAttempts: this.settings.maxAttempts,
    });
    if (!created && job.status === 'dead') this.outbox.requeue({ ids: [job.id] });
    return true;
  }
}

/**
 * The critical notice of a revocation whose outbox job used its last attempt while the key is
 * still revoke-pending: one shape and one message for every channel that retries revocations
 * (this one and the responder's `revoke`). Fingerprint and ids only, never a secret.
 */
export function givenUpNotice(g: { keyId: string; fingerprint: string; owner: string; revocationId: number | null; attempts: number }): Notice {
  return {
    kind: 'revoke-given-up', severity: 'critical', key_id: g.keyId, fingerprint: g.fingerprint, owner: g.owner,
    message: `${g.keyId} is still not revoked after ${g.attempts} retries; it stays revoke-pending and \`serve\` tries again at its next start. Check the instance or revoke by hand.`,
    details: { revocation_id: g.revocationId },
  };
}

/** The outbox channel that retries revocations through `service.retry`. */
export function revokeRetryChannel(service: RevocationService, announce: Announcer, logger: Logger = silentLogger): OutboxChannel {
  return {
    concurrency: 2,
    timeoutMs: 60_000,
    async deliver(job: OutboxJob): Promise<unknown> {
      const { revocation_id: id } = job.payload as { revocation_id: number; key_id: string };
      const report = await service.retry(id);
      if (report.outcome === 'revoked' || report.outcome === 'already-revoked') return { outcome: report.outcome };
      if (report.outcome === 'failed') throw new DeliveryError(report.message, { permanent: true });
      if (job.attempts >= job.maxAttempts) {
        logger.error({ key_id: report.key_id, revocation_id: id, attempts: job.attempts }, 'revocation retries exhausted');
        await announce.notify(givenUpNotice({ keyId: report.key_id, fingerprint: report.fingerprint, owner: service.inventory.get(report.key_id)?.owner ?? '', revocationId: id, attempts: job.attempts }));
      }
      throw new DeliveryError(report.message);
    },
  };
}

export interface RevocationRetryRuntime {
  worker: OutboxWorker;
  /** Revocations found pending at start (re-queued here or held by a live responder job). */
  resumed: number;
  /** Of those, the ones a live responder `revoke` job holds (no retry job queued for them). */
  heldByResponder: number;
  stop(): Promise<void>;
}

/**
 * For `serve` at start-up: make sure every pending revocation has exactly one live job: the
 * responder's `revoke` job when one is pending or leased, else this channel's (a job that died
 * while the service was down gets a fresh set of attempts). Then start the worker.
 */
export function startRevocationRetry(input: {
  outbox: Outbox;
  service: RevocationService;
  retry: OutboxRevocationRetry;
  announce: Announcer;
  settings: RetrySettings;
  logger?: Logger;
  metrics?: Metrics;
  clock?: Clock;
}): RevocationRetryRuntime {
  const logger = input.logger ?? silentLogger;
  const pending = input.service.records.allPending();
  const heldByResponder = pending.filter((row) => !input.retry.schedule(row.id, row.key_id, 0)).length;
  if (pending.length > 0) logger.warn({ pending: pending.length, held_by_responder: heldByResponder }, 'resuming pending revocations');
  const worker = new OutboxWorker(
    input.outbox,
    { [REVOKE_RETRY_CHANNEL]: revokeRetryChannel(input.service, input.announce, logger) },
    {
      backoff: { baseMs: input.settings.baseMs, maxMs: input.settings.maxMs },
      logger,
      ...(input.metrics ? { metrics: input.metrics } : {}),
      ...(input.clock ? { clock: input.clock } : {}),
      pollMs: 1_000,
    },
  );
  worker.start();
  return { worker, resumed: pending.length, heldByResponder, stop: () => worker.stop() };
}
