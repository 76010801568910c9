import { createHash } from 'node:crypto';
import { systemClock, type Clock } from '../core/clock.js';
import { TuskguardError } from '../core/errors.js';
import { resetFrom } from './errors.js';

/**
 * Keeps tuskguard's own `/api` calls under Mastodon's per-token budget (FACTS.md §10:
 * `throttle_per_token_api`, 300 per 5 minutes, fixed windows aligned to the epoch) with a safety
 * margin, and obeys what the server says: after a 429, or when X-RateLimit-Remaining falls to
 * the margin, calls with that token wait for X-RateLimit-Reset. `/oauth/*` is not throttled and
 * does not pass through here.
 */

export interface BudgetSettings {
  /** Requests per window per token; Mastodon's is 300. */
  readonly limit: number;
  /** Window length; Mastodon's is 5 minutes. */
  readonly periodMs: number;
  /** Requests left unused in every window, for other users of the same token. */
  readonly margin: number;
}

export const DEFAULT_BUDGET: BudgetSettings = { limit: 300, periodMs: 300_000, margin: 20 };

interface Slot {
  window: number;
  used: number;
  /** Epoch ms before which the server told us not to call. */
  blockedUntil: number;
}

/**
 * A map key for an instance + token that does not keep the token: SHA-256 of both, truncated.
 * (Tokens are 256-bit random values, so the digest reveals nothing usable.)
 */
export function budgetKey(instance: string, token: string): string {
  return createHash('sha256').update(`${instance}\u0000${token}`).digest('hex').slice(0, 32);
}

export class TokenBudget {
  private readonly slots = new Map<string, Slot>();
  readonly settings: BudgetSettings;

  constructor(settings: Partial<BudgetSettings> = {}, private readonly clock: Clock = systemClock) {
    this.settings = { ...DEFAULT_BUDGET, ...settings };
  }

  private slot(key: string): Slot {
    const window = Math.floor(this.clock.now() / this.settings.periodMs);
    let s = this.slots.get(key);
    if (!s) {
      s = { window, used: 0, blockedUntil: 0 };
      this.slots.set(key, s);
    }
    if (s.window !== window) [s.window, s.used] = [window, 0];
    return s;
  }

  /** When the next call with this key is allowed (now when it is allowed now). */
  nextAllowed(key: string): Date {
    const s = this.slot(key);
    const now = this.clock.now();
    const windowEnd = (s.window + 1) * this.settings.periodMs;
    const spent = s.used >= this.settings.limit - this.settings.margin;
    return new Date(Math.max(now, s.blockedUntil, spent ? windowEnd : now));
  }

  /**
   * Count one call, or throw MASTODON_RATE_LIMITED (retryable, with `retryAt`) without calling
   * Mastodon when the budget is spent or the server asked us to wait.
   */
  take(key: string, context: { op: string; instance: string; fingerprint?: string | undefined }): void {
    const at = this.nextAllowed(key);
    if (at.getTime() > this.clock.now()) {
      throw new TuskguardError('MASTODON_RATE_LIMITED', `${context.op}: tuskguard's budget for this token is spent until ${at.toISOString()}`, {
        hint: `wait until ${at.toISOString()}; tuskguard keeps each token under ${this.settings.limit - this.settings.margin} calls per ${this.settings.periodMs / 1000} s`,
        details: { ...context, retryAt: at.toISOString(), retryable: true, local: true },
      });
    }
    this.slot(key).used += 1;
  }

  /** Learn from a response: 429 or a low X-RateLimit-Remaining blocks until X-RateLimit-Reset. */
  observe(key: string, headers: Headers | undefined, status?: number): void {
    const s = this.slot(key);
    const reset = resetFrom(headers);
    const remaining = Number(headers?.get('x-ratelimit-remaining') ?? NaN);
    const exhausted = status === 429 || (Number.isFinite(remaining) && remaining <= this.settings.margin);
    if (!exhausted) return;
    const until = reset?.getTime() ?? this.clock.now() + this.settings.periodMs;
    s.blockedUntil = Math.max(s.blockedUntil, until);
  }
}
