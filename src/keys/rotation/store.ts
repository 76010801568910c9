import { randomUUID } from 'node:crypto';
import type { ControlDb } from '../../store/control.js';
import { ensureRotationSchema } from './db.js';

/**
 * The rotation state machine's rows (`key_rotations`).
 *
 *   started ──(strategy: new token)──────────────> minted ─> verified ─> distributed ─> completed
 *      └─(reauthorize: link sent)─> awaiting-consent ─┘                     (cut-over wait:
 *                                                                             old key silent
 *   any failure before the old key is revoked ─> rolling-back ─> rolled-back    or grace over,
 *                                               (or failed, for a person)      then revoke it)
 *   the key revoked meanwhile ─> aborted
 *
 * Non-terminal states are resumed after a restart.
 */
export const ROTATION_STATES = [
  'started', 'awaiting-consent', 'minted', 'verified', 'distributed', 'rolling-back',
  'completed', 'rolled-back', 'aborted', 'failed',
] as const;
export type RotationState = (typeof ROTATION_STATES)[number];
export const TERMINAL_STATES: ReadonlySet<RotationState> = new Set(['completed', 'rolled-back', 'aborted', 'failed']);

export const ROTATION_TRIGGERS = ['manual', 'max_age', 'event'] as const;
export type RotationTrigger = (typeof ROTATION_TRIGGERS)[number];

/** Non-secret facts a strategy or the rollback keeps between steps. */
export interface RotationData {
  new_client_id?: string;
  new_app_id?: string;
  consent_nonce?: string;
  consent_expires_at?: string;
  /** `users.id` of the old token's owner: a re-authorised token must belong to the same user. */
  old_owner_user_id?: number | null;
  rollback_reason?: string;
  /** Targets already given the old key back during a rollback. */
  restored?: string[];
  notified?: string[];
  [k: string]: unknown;
}

export interface RotationRow {
  id: string;
  key_id: string;
  strategy: string;
  triggered_by: RotationTrigger;
  reason: string;
  actor: string;
  state: RotationState;
  /** Revoke the old key as soon as the new one is out (`keys rotate --now`). */
  immediate: boolean;
  old_version: number;
  new_version: number;
  old_fingerprint: string;
  new_fingerprint: string | null;
  consent_state_hash: string | null;
  /** Target ids that hold the new key, in delivery order. */
  distributed: string[];
  data: RotationData;
  /** Secret-free reason of the last failure. */
  error: string | null;
  quiet_ms: number;
  grace_ms: number;
  cutover_at: string | null;
  deadline: string | null;
  old_last_seen: string | null;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
}

type Raw = Omit<RotationRow, 'immediate' | 'distributed' | 'data'> & { immediate: number; distributed: string; data: string };

function fromRaw(r: Raw): RotationRow {
  return { ...r, immediate: r.immediate === 1, distributed: JSON.parse(r.distributed) as string[], data: JSON.parse(r.data) as RotationData };
}

const PATCHABLE: ReadonlySet<string> = new Set([
  'strategy', 'triggered_by', 'reason', 'actor', 'state', 'immediate', 'old_version', 'new_version', 'old_fingerprint', 'new_fingerprint',
  'consent_state_hash', 'distributed', 'data', 'error', 'quiet_ms', 'grace_ms', 'cutover_at', 'deadline', 'old_last_seen', 'updated_at', 'completed_at',
]);

export type RotationPatch = Partial<Omit<RotationRow, 'id' | 'key_id' | 'created_at'>>;

export class RotationStore {
  constructor(readonly db: ControlDb) {
    ensureRotationSchema(db);
  }

  /**
   * Insert a new rotation, or return the key's active one: `created` tells which. The partial
   * unique index makes this safe across processes.
   */
  createOrGetActive(input: Omit<RotationRow, 'id' | 'state' | 'new_fingerprint' | 'consent_state_hash' | 'distributed' | 'error' | 'cutover_at' | 'deadline' | 'old_last_seen' | 'created_at' | 'updated_at' | 'completed_at'> & { at: string }): { row: RotationRow; created: boolean } {
    return this.db.transaction(() => {
      const active = this.activeFor(input.key_id);
      if (active) return { row: active, created: false };
      const id = randomUUID();
      this.db
        .prepare(
          `INSERT INTO key_rotations (id, key_id, strategy, triggered_by, reason, actor, state, immediate, old_version, new_version,
             old_fingerprint, data, quiet_ms, grace_ms, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, 'started', ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(id, input.key_id, input.strategy, input.triggered_by, input.reason, input.actor, input.immediate ? 1 : 0, input.old_version,
          input.new_version, input.old_fingerprint, JSON.stringify(input.data), input.quiet_ms, input.grace_ms, input.at, input.at);
      return { row: this.get(id)!, created: true };
    }).immediate();
  }

  get(id: string): RotationRow | null {
    const r = this.db.prepare('SELECT * FROM key_rotations WHERE id = ?').get(id) as Raw | undefined;
    return r ? fromRaw(r) : null;
  }

  activeFor(keyId: string): RotationRow | null {
    const r = this.db
      .prepare(`SELECT * FROM key_rotations WHERE key_id = ? AND state NOT IN ('completed', 'rolled-back', 'aborted', 'failed')`)
      .get(keyId) as Raw | undefined;
    return r ? fromRaw(r) : null;
  }

  byConsentState(hash: string): RotationRow | null {
    const r = this.db.prepare('SELECT * FROM key_rotations WHERE consent_state_hash = ?').get(hash) as Raw | undefined;
    return r ? fromRaw(r) : null;
  }

  /** Every non-terminal rotation, oldest first (what a restart resumes). */
  unfinished(): RotationRow[] {
    return (this.db
      .prepare(`SELECT * FROM key_rotations WHERE state NOT IN ('completed', 'rolled-back', 'aborted', 'failed') ORDER BY created_at`)
      .all() as Raw[]).map(fromRaw);
  }

  /** Rotations, newest first, optionally of one key. */
  list(filter: { keyId?: string; limit?: number } = {}): RotationRow[] {
    const where = filter.keyId === undefined ? '' : 'WHERE key_id = ?';
    const args: unknown[] = filter.keyId === undefined ? [] : [filter.keyId];
    return (this.db.prepare(`SELECT * FROM key_rotations ${where} ORDER BY created_at DESC, rowid DESC LIMIT ?`).all(...args, filter.limit ?? 50) as Raw[]).map(fromRaw);
  }

  update(id: string, patch: RotationPatch, at: string): RotationRow {
    const cols: string[] = [];
    const args: unknown[] = [];
    for (const [k, v] of Object.entries(patch)) {
      if (!PATCHABLE.has(k)) throw new Error(`not a key_rotations column: ${k}`);
      cols.push(`${k} = ?`);
      args.push(k === 'distributed' || k === 'data' ? JSON.stringify(v) : k === 'immediate' ? (v ? 1 : 0) : v);
    }
    cols.push('updated_at = ?');
    args.push(at);
    this.db.prepare(`UPDATE key_rotations SET ${cols.join(', ')} WHERE id = ?`).run(...args, id);
    return this.get(id)!;
  }
}
