import { systemClock, type Clock } from '../core/clock.js';
import type { Finding } from '../core/finding.js';
import type { ControlDb } from '../store/control.js';
import { ensureRespondSchema, statementCache } from './db.js';
import { globMatch, labelsMatch, safeguardMs, scopeCovers, type AllowEntry, type SafeguardSettings } from './policies.js';
import type { KeyInfo } from './types.js';

/**
 * The responder's brakes, kept in the control DB so every process sees the same state:
 * allowlists with expiry, protected keys, cooldowns, and the revocation budget whose circuit
 * breaker, once open, stays open until a person resets it.
 */
export type BudgetVerdict =
  /** Counted; the revocation may proceed. */
  | { ok: true; used: number; max: number }
  /** Refused. `tripped` is true only for the request that opened the breaker (alert loudly once). */
  | { ok: false; tripped: boolean; used: number; max: number; reason: string };

export interface BreakerState {
  open: boolean;
  openedAt: number | null;
  reason: string | null;
  changedBy: string | null;
  /** When the state last changed (a reset restarts the budget window). */
  changedAt: number | null;
}

const RETRYABLE = new Set(['failed', 'blocked']);
const STALE_CLAIM_MS = 10 * 60_000;

export class Safeguards {
  private readonly sql: ReturnType<typeof statementCache>;
  private readonly clock: Clock;
  private readonly ms: ReturnType<typeof safeguardMs>;

  constructor(
    readonly db: ControlDb,
    readonly settings: SafeguardSettings,
    options: { clock?: Clock } = {},
  ) {
    ensureRespondSchema(db);
    this.sql = statementCache(db);
    this.clock = options.clock ?? systemClock;
    this.ms = safeguardMs(settings);
  }

  /** The first unexpired allowlist entry that covers this finding and action, or null. */
  allowlisted(finding: Finding, key: KeyInfo | null, action: string): AllowEntry | null {
    const now = this.clock.now();
    return (
      this.settings.allowlist.find((e) => {
        if (Date.parse(e.until) <= now) return false;
        if (e.actions && !e.actions.includes(action)) return false;
        if (e.key !== undefined && e.key !== (finding.key ?? key?.id)) return false;
        if (e.fingerprint !== undefined && e.fingerprint !== (finding.fingerprint ?? key?.fingerprint)) return false;
        if (e.rule !== undefined && !globMatch(e.rule, finding.rule)) return false;
        if (e.ip !== undefined && e.ip !== finding.group['source.ip'] && e.ip !== finding.group['source.network']) return false;
        return true;
      }) ?? null
    );
  }

  /** Why this key needs a person's approval for contain/revoke actions, or null. */
  protectedReason(key: KeyInfo | null): string | null {
    if (!key) return null;
    const p = this.settings.protected;
    if (p.keys.includes(key.id)) return `key ${key.id} is listed as protected`;
    const scope = key.scopes.find((s) => p.scopes.some((g) => scopeCovers(s, g)));
    if (scope) return `key ${key.id} holds the protected scope ${scope}`;
    const label = Object.entries(p.labels).find(([name, want]) => labelsMatch({ [name]: want }, key.labels));
    if (label) return `key ${key.id} carries the protected label ${label[0]}=${key.labels[label[0]]}`;
    return null;
  }

  /** Until when `action` on `target` is cooling down, or null when it may run. */
  cooldownUntil(action: string, target: string): number | null {
    const row = this.sql('SELECT until FROM respond_cooldowns WHERE action = ? AND target = ?').get(action, target) as
      | { until: number }
      | undefined;
    return row && row.until > this.clock.now() ? row.until : null;
  }

  startCooldown(action: string, target: string, ms = this.ms.cooldown): void {
    this.sql(
        `INSERT INTO respond_cooldowns (action, target, until) VALUES (?, ?, ?)
         ON CONFLICT (action, target) DO UPDATE SET until = excluded.until`,
      )
      .run(action, target, this.clock.now() + ms);
  }

  /**
   * Claim an idempotency key (finding + action + target) before acting. False when the key was
   * already claimed, unless its last outcome was `failed` or `blocked` (worth another try).
   */
  claim(key: string, meta: { findingId: string; action: string; target: string; policy: string }): boolean {
    return this.db
      .transaction((): boolean => {
        const row = this.sql('SELECT status, at FROM respond_dispatches WHERE key = ?').get(key) as { status: string; at: number } | undefined;
        // A claim left `running` by a process that died mid-action may be taken again.
        const stale = row?.status === 'running' && row.at < this.clock.now() - STALE_CLAIM_MS;
        if (row && !RETRYABLE.has(row.status) && !stale) return false;
        this.sql(
            `INSERT INTO respond_dispatches (key, finding_id, action, target, policy, status, at) VALUES (?, ?, ?, ?, ?, 'running', ?)
             ON CONFLICT (key) DO UPDATE SET status = 'running', at = excluded.at`,
          )
          .run(key, meta.findingId, meta.action, meta.target, meta.policy, this.clock.now());
        return true;
      })
      .immediate();
  }

  /** Record the outcome of a claimed key. */
  settleClaim(key: string, status: string): void {
    this.sql('UPDATE respond_dispatches SET status = ?, at = ? WHERE key = ?').run(status, this.clock.now(), key);
  }

  breaker(): BreakerState {
    const row = this.sql('SELECT state, opened_at, reason, changed_by, changed_at FROM respond_breaker WHERE id = 1').get() as
      | { state: string; opened_at: number | null; reason: string | null; changed_by: string | null; changed_at: number }
      | undefined;
    if (!row) return { open: false, openedAt: null, reason: null, changedBy: null, changedAt: null };
    return { open: row.state === 'open', openedAt: row.opened_at, reason: row.reason, changedBy: row.changed_by, changedAt: row.changed_at };
  }

  /** Automatic revocations counted in the current window (which a breaker reset restarts). */
  budgetUsed(): number {
    const b = this.breaker();
    const since = Math.max(this.clock.now() - this.ms.budgetWindow, b.open ? 0 : (b.changedAt ?? 0));
    return (this.sql('SELECT COUNT(*) AS n FROM respond_budget WHERE at >= ?').get(since) as { n: number }).n;
  }

  /**
   * Count one automatic revocation against the budget, atomically across processes. Refused
   * when the breaker is open, or when this one would exceed the budget (which opens it).
   */
  consumeRevocation(action: string, target: string, findingId: string): BudgetVerdict {
    const max = this.settings.revocation_budget.max;
    return this.db
      .transaction((): BudgetVerdict => {
        const used = this.budgetUsed();
        const state = this.breaker();
        if (state.open) return { ok: false, tripped: false, used, max, reason: `circuit breaker open since ${new Date(state.openedAt ?? 0).toISOString()}: ${state.reason}` };
        if (used >= max) {
          const reason = `revocation budget exhausted: ${used} of ${max} automatic revocations within ${this.settings.revocation_budget.window}`;
          this.setBreaker('open', 'tuskguard', reason);
          return { ok: false, tripped: true, used, max, reason };
        }
        this.sql('INSERT INTO respond_budget (at, action, target, finding_id) VALUES (?, ?, ?, ?)')
          .run(this.clock.now(), action, target, findingId);
        return { ok: true, used: used + 1, max };
      })
      .immediate();
  }

  /** A person closes the breaker; the budget window starts afresh. Returns the prior state. */
  resetBreaker(by: string, reason: string): BreakerState {
    return this.db
      .transaction((): BreakerState => {
        const before = this.breaker();
        this.setBreaker('closed', by, reason);
        return before;
      })
      .immediate();
  }

  private setBreaker(state: 'open' | 'closed', by: string, reason: string): void {
    const now = this.clock.now();
    this.sql(
        `INSERT INTO respond_breaker (id, state, opened_at, reason, changed_by, changed_at) VALUES (1, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET state = excluded.state, opened_at = excluded.opened_at,
           reason = excluded.reason, changed_by = excluded.changed_by, changed_at = excluded.changed_at`,
      )
      .run(state, state === 'open' ? now : null, reason, by, now);
  }
}
