import { TuskguardError } from '../../core/errors.js';
import { systemClock, type Clock } from '../../core/clock.js';
import type { ControlDb } from '../../store/control.js';
import { ensureRotationSchema } from './db.js';

/**
 * Per-key locks with a lease in the control DB, so two processes (the `serve` scheduler and a
 * `keys rotate` run, or two replicas) never work on one key's rotation at the same time. A
 * holder renews its lease while it works; a holder that died loses the lock when the lease
 * expires. Acquiring is one transaction, so SQLite's write lock makes it atomic across processes.
 */
export interface LockHolder {
  owner: string;
  purpose: string;
  acquired_at: number;
  expires_at: number;
}

export class KeyLocks {
  constructor(
    private readonly db: ControlDb,
    private readonly clock: Clock = systemClock,
  ) {
    ensureRotationSchema(db);
  }

  /** Take the lock unless someone else holds an unexpired lease. Re-entrant for the same owner. */
  acquire(keyId: string, owner: string, purpose: string, leaseMs: number): boolean {
    const now = this.clock.now();
    return this.db.transaction(() => {
      const held = this.holder(keyId);
      if (held && held.owner !== owner && held.expires_at > now) return false;
      this.db
        .prepare(
          `INSERT INTO key_locks (key_id, owner, purpose, acquired_at, expires_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (key_id) DO UPDATE SET owner = excluded.owner, purpose = excluded.purpose,
             acquired_at = excluded.acquired_at, expires_at = excluded.expires_at`,
        )
        .run(keyId, owner, purpose, now, now + leaseMs);
      return true;
    }).immediate();
  }

  /** Extend the lease; false when the lock was lost (expired and taken by another owner). */
  renew(keyId: string, owner: string, leaseMs: number): boolean {
    const info = this.db.prepare('UPDATE key_locks SET expires_at = ? WHERE key_id = ? AND owner = ?').run(this.clock.now() + leaseMs, keyId, owner);
    return info.changes === 1;
  }

  release(keyId: string, owner: string): void {
    this.db.prepare('DELETE FROM key_locks WHERE key_id = ? AND owner = ?').run(keyId, owner);
  }

  holder(keyId: string): LockHolder | null {
    return (this.db.prepare('SELECT owner, purpose, acquired_at, expires_at FROM key_locks WHERE key_id = ?').get(keyId) as LockHolder | undefined) ?? null;
  }

  /**
   * Run `fn` holding the lock, renewing the lease every third of it; release afterwards.
   * Throws ROTATION_BUSY when another owner holds it.
   */
  async withLock<T>(keyId: string, owner: string, purpose: string, leaseMs: number, fn: () => Promise<T>): Promise<T> {
    if (!this.acquire(keyId, owner, purpose, leaseMs)) {
      const h = this.holder(keyId);
      throw new TuskguardError('ROTATION_BUSY', `${keyId} is locked by ${h?.owner ?? 'another process'} (${h?.purpose ?? 'work'})`, {
        hint: `wait for it to finish; a crashed holder's lock expires at ${h ? new Date(h.expires_at).toISOString() : 'the end of its lease'}`,
        details: { key_id: keyId, holder: h?.owner, purpose: h?.purpose },
      });
    }
    const timer = setInterval(() => this.renew(keyId, owner, leaseMs), Math.max(1_000, Math.floor(leaseMs / 3)));
    timer.unref();
    try {
      return await fn();
    } finally {
      clearInterval(timer);
      this.release(keyId, owner);
    }
  }
}
