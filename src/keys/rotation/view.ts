import type { RotationRow } from './store.js';

/** A rotation as `keys rotation status` and the API show it: no nonce, no state hash. */
export interface RotationView {
  id: string;
  key_id: string;
  strategy: string;
  trigger: string;
  reason: string;
  actor: string;
  state: RotationRow['state'];
  immediate: boolean;
  old_fingerprint: string;
  new_fingerprint: string | null;
  targets_done: string[];
  error: string | null;
  consent_expires_at: string | null;
  /** When the new key went out (the cut-over wait started). */
  cutover_at: string | null;
  /** When the grace period ends (the old key is revoked then at the latest). */
  deadline: string | null;
  quiet_period_ms: number;
  old_last_seen: string | null;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
}

export function toView(r: RotationRow): RotationView {
  return {
    id: r.id, key_id: r.key_id, strategy: r.strategy, trigger: r.triggered_by, reason: r.reason, actor: r.actor, state: r.state,
    immediate: r.immediate, old_fingerprint: r.old_fingerprint, new_fingerprint: r.new_fingerprint, targets_done: r.distributed,
    error: r.error, consent_expires_at: r.state === 'awaiting-consent' ? (r.data.consent_expires_at ?? null) : null,
    cutover_at: r.cutover_at, deadline: r.deadline, quiet_period_ms: r.quiet_ms, old_last_seen: r.old_last_seen,
    created_at: r.created_at, updated_at: r.updated_at, completed_at: r.completed_at,
  };
}
