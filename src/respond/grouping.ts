import { systemClock, type Clock } from '../core/clock.js';
import type { ControlDb } from '../store/control.js';
import { ensureRespondSchema, statementCache } from './db.js';

/**
 * Alert grouping, so on-call is not flooded. Per channel and group (rule + key, or rule + IP):
 * the first finding opens a window and alerts at once; further findings inside the window are
 * counted into ONE digest alert due when the window ends (its outbox job is replaced as the
 * count grows). A finding after the window opens the next one. So a group alerts at most twice
 * per interval, and every finding is counted in some alert.
 */
export type Admission =
  /** Send now; a new window started at `windowStart`. */
  | { mode: 'now'; windowStart: number }
  /** Fold into the window's digest, due at `dueAt`, now covering `suppressed` findings. */
  | { mode: 'digest'; windowStart: number; suppressed: number; dueAt: number };

export class AlertGrouping {
  private readonly sql: ReturnType<typeof statementCache>;
  private readonly clock: Clock;

  constructor(
    readonly db: ControlDb,
    options: { clock?: Clock } = {},
  ) {
    ensureRespondSchema(db);
    this.sql = statementCache(db);
    this.clock = options.clock ?? systemClock;
  }

  /** Decide, and record, how the next alert of `group` on `channel` goes out. */
  admit(channel: string, group: string, intervalMs: number): Admission {
    const now = this.clock.now();
    return this.db
      .transaction((): Admission => {
        const row = this.sql('SELECT window_start, suppressed FROM respond_alert_groups WHERE channel = ? AND group_key = ?')
          .get(channel, group) as { window_start: number; suppressed: number } | undefined;
        if (!row || intervalMs <= 0 || now >= row.window_start + intervalMs) {
          this.sql(
              `INSERT INTO respond_alert_groups (channel, group_key, window_start, suppressed) VALUES (?, ?, ?, 0)
               ON CONFLICT (channel, group_key) DO UPDATE SET window_start = excluded.window_start, suppressed = 0`,
            )
            .run(channel, group, now);
          return { mode: 'now', windowStart: now };
        }
        const suppressed = row.suppressed + 1;
        this.sql('UPDATE respond_alert_groups SET suppressed = ? WHERE channel = ? AND group_key = ?')
          .run(suppressed, channel, group);
        return { mode: 'digest', windowStart: row.window_start, suppressed, dueAt: row.window_start + intervalMs };
      })
      .immediate();
  }
}
