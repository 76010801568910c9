import { join } from 'node:path';
import type { LoadedConfig } from '../../config/load.js';
import { durationMs } from '../../config/schema.js';
import type { Clock } from '../../core/clock.js';
import { errorMessage } from '../../core/errors.js';
import { createFingerprinter, loadPepper } from '../../core/fingerprint.js';
import type { Logger } from '../../core/logger.js';
import type { Metrics } from '../../core/metrics.js';
import { MastodonClient } from '../../mastodon/client.js';
import { AuditLog } from '../../respond/audit.js';
import { Outbox } from '../../respond/outbox.js';
import type { ControlDb } from '../../store/control.js';
import type { EventStore } from '../../store/types.js';
import { openKeysDb } from '../db.js';
import { loadLocalKek } from '../kms.js';
import { OutboxRevocationRetry, startRevocationRetry, type RevocationRetryRuntime } from '../revocation/retry.js';
import { RevocationService } from '../revocation/service.js';
import { Announcer, logNotifier, type AuditHook, type Notifier } from '../revocation/types.js';
import { Vault } from '../vault.js';
import { eventStoreUsage } from './cutover.js';
import { startRotationScheduler, type RotationScheduler } from './scheduler.js';
import { RotationService } from './service.js';

/**
 * Wiring of revocation and rotation for the CLI and for `serve` (the composition root calls
 * `startKeyLifecycle`; the API mounts `oauthCallbackRoutes` with `lifecycle.rotations.consent`).
 */
export interface Lifecycle {
  revocations: RevocationService;
  rotations: RotationService;
  outbox: Outbox;
  retry: OutboxRevocationRetry;
  announce: Announcer;
}

export interface LifecycleOptions {
  loaded: LoadedConfig;
  db: ControlDb;
  vault: Vault;
  pepper: string;
  logger: Logger;
  env: NodeJS.ProcessEnv;
  events: Pick<EventStore, 'searchEvents'> | null;
  notifier?: Notifier;
  /** Default: the audit chain in the control DB (and `<home>/audit.log`). */
  audit?: AuditHook;
  clock?: Clock;
  metrics?: Metrics;
}

export function buildLifecycle(o: LifecycleOptions): Lifecycle {
  const { config, home } = o.loaded;
  const fingerprint = createFingerprinter(o.pepper);
  const client = new MastodonClient({ logger: o.logger, fingerprint, ...(o.clock ? { clock: o.clock } : {}) });
  const notifier = o.notifier ?? logNotifier(o.logger);
  const audit = o.audit ?? defaultAudit(o.db, home, o.env, o.logger);
  const outbox = new Outbox(o.db, o.clock ? { clock: o.clock } : {});
  const settings = retrySettings(o.loaded);
  const retry = new OutboxRevocationRetry(outbox, settings, o.clock);
  const common = { db: o.db, vault: o.vault, fingerprint, client, notifier, audit, logger: o.logger, ...(o.clock ? { clock: o.clock } : {}), ...(o.metrics ? { metrics: o.metrics } : {}) };
  return {
    revocations: new RevocationService({ ...common, retry }),
    rotations: new RotationService({ ...common, config: config.rotation, usage: o.events ? eventStoreUsage(o.events) : null, env: o.env, revocationRetry: retry }),
    outbox,
    retry,
    announce: new Announcer(o.logger, notifier, audit),
  };
}

function defaultAudit(db: ControlDb, home: string, env: NodeJS.ProcessEnv, logger: Logger): AuditHook {
  const log = new AuditLog(db, { file: join(home, 'audit.log'), anchorKey: env.TUSKGUARD_AUDIT_KEY ?? null, logger });
  return (entry) => log.append(entry);
}

export function retrySettings(loaded: LoadedConfig): { baseMs: number; maxMs: number; maxAttempts: number } {
  const r = loaded.config.revocation;
  return { baseMs: durationMs(r.retry_base), maxMs: durationMs(r.retry_max), maxAttempts: r.max_attempts };
}

export interface RunningLifecycle {
  lifecycle: Lifecycle;
  stop(): Promise<void>;
}

/**
 * For `serve`: when a master key and a pepper are configured, drain pending revocations (the
 * outbox worker, re-queueing dead jobs of still-pending revocations), resume unfinished
 * rotations at once, and schedule `max_age` rotations. Without a master key tuskguard cannot
 * decrypt anything, so this logs why and returns null.
 */
export async function startKeyLifecycle(o: {
  loaded: LoadedConfig; logger: Logger; env?: NodeJS.ProcessEnv; events: Pick<EventStore, 'searchEvents'> | null;
  metrics?: Metrics; notifier?: Notifier; audit?: AuditHook;
}): Promise<RunningLifecycle | null> {
  const env = o.env ?? process.env;
  const pepper = loadPepper(o.loaded.config.pepper_file, env);
  const kek = loadLocalKek(env);
  if (pepper === null || kek === null) {
    o.logger.info({ master_key: kek !== null, pepper: pepper !== null }, 'key revocation retries and rotation are off: they need the master key and the pepper');
    return null;
  }
  const db = openKeysDb(o.loaded.home);
  try {
    const vault = await Vault.open(db, kek, o.logger);
    const lifecycle = buildLifecycle({
      loaded: o.loaded, db, vault, pepper, logger: o.logger, env, events: o.events,
      ...(o.notifier ? { notifier: o.notifier } : {}), ...(o.audit ? { audit: o.audit } : {}), ...(o.metrics ? { metrics: o.metrics } : {}),
    });
    const retry: RevocationRetryRuntime = startRevocationRetry({
      outbox: lifecycle.outbox, service: lifecycle.revocations, retry: lifecycle.retry, announce: lifecycle.announce,
      settings: retrySettings(o.loaded), logger: o.logger, ...(o.metrics ? { metrics: o.metrics } : {}),
    });
    const scheduler: RotationScheduler = startRotationScheduler(lifecycle.rotations, o.loaded.config.rotation.schedule, o.logger);
    // Resume unfinished rotations now rather than at the first cron tick.
    void scheduler.runOnce().catch((e: unknown) => o.logger.error({ error: errorMessage(e) }, 'resuming rotations failed'));
    return {
      lifecycle,
      async stop() {
        await scheduler.stop();
        await retry.stop();
        db.close();
      },
    };
  } catch (e) {
    db.close();
    throw e;
  }
}
