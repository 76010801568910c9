import cron, { type ScheduledTask } from 'node-cron';
import { TuskguardError, errorMessage } from '../../core/errors.js';
import { silentLogger, type Logger } from '../../core/logger.js';
import type { RotationService } from './service.js';

/**
 * The rotation scheduler for `serve`: node-cron runs `RotationService.tick` on
 * `rotation.schedule` (default every 5 minutes). A tick advances unfinished rotations (cut-over
 * waits, consent expiry, retries after a failure to reach a peer, rotations a restart
 * interrupted) and starts the rotations `max_age` policies call for. `noOverlap` keeps a slow
 * tick from running twice; the per-key locks keep other processes out.
 */
export interface RotationScheduler {
  /** Run one tick now (also what the cron job runs). */
  runOnce(): Promise<void>;
  stop(): Promise<void>;
}

export function startRotationScheduler(service: RotationService, expression: string, logger: Logger = silentLogger): RotationScheduler {
  if (!cron.validate(expression)) {
    throw new TuskguardError('CONFIG_INVALID', `rotation.schedule is not a cron expression: ${expression}`, {
      hint: "e.g. '*/5 * * * *' (every 5 minutes)",
    });
  }
  let current: Promise<void> = Promise.resolve();
  const tick = async (): Promise<void> => {
    try {
      const r = await service.tick();
      if (r.started.length > 0 || r.errors > 0) logger.info({ ...r }, 'rotation scheduler tick');
    } catch (e) {
      logger.error({ error: errorMessage(e) }, 'rotation scheduler tick failed');
    }
  };
  // Ticks run one after another (a manual runOnce and the cron job included); stop waits for the last.
  const runOnce = (): Promise<void> => (current = current.then(tick));
  const task: ScheduledTask = cron.schedule(expression, runOnce, { name: `tuskguard-rotation-${process.pid}-${Date.now()}`, noOverlap: true });
  return {
    runOnce,
    async stop() {
      await task.stop();
      await current;
    },
  };
}
