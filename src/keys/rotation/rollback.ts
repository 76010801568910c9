import { errorMessage } from '../../core/errors.js';
import { isRetryable } from '../../mastodon/errors.js';
import { deleteVaultVersion, setKeyStatus } from '../revocation/records.js';
import type { KeyRecord } from '../schema.js';
import { firstTime, nowIso, patch, type RotationCore, type StepResult } from './core.js';
import type { RotationRow } from './store.js';

/**
 * Rolling back a rotation that failed before its old key was revoked: the old key stays (or
 * becomes again) the key's current one, targets that already got the new key get the old one
 * back, the new token is revoked (and 401 confirmed) and dropped from the vault, and people are
 * told. Every step is idempotent and the state stays `rolling-back` until all are done, so an
 * unreachable target or instance is retried at the next tick or after a restart.
 *
 * The order matters: targets are restored BEFORE the new token is revoked, so no consumer is
 * ever left holding a dead token. A new token with the old token's fingerprint (Mastodon's
 * reuse rule handed the old one back) is never revoked: that would kill the live key.
 */

export function beginRollback(core: RotationCore, r: RotationRow, reason: string): RotationRow {
  core.logger.warn({ rotation: r.id, key_id: r.key_id, state: r.state, reason }, 'rotation failed: rolling back');
  core.metrics?.errors.inc({ component: 'keys', stage: 'rotation' });
  const data = core.store.get(r.id)!.data;
  return patch(core, r, { state: 'rolling-back', error: reason, data: { ...data, rollback_reason: reason } });
}

export async function rollback(core: RotationCore, r: RotationRow, key: KeyRecord): Promise<StepResult> {
  if (key.secret_version === r.new_version) switchBack(core, r);
  if (!(await restoreTargets(core, r, key))) return 'wait';
  const revoked = await revokeNew(core, r, key);
  if (revoked === 'wait') return 'wait';
  if (revoked === 'failed') return 'continue';
  const at = nowIso(core);
  core.db.transaction(() => {
    deleteVaultVersion(core.db, key.id, r.new_version);
    if (core.inventory.require(key.id).status === 'rotating') setKeyStatus(core.db, key.id, 'active', at);
    patch(core, r, { state: 'rolled-back', completed_at: at });
  })();
  const reason = r.data.rollback_reason ?? r.error ?? 'unknown';
  core.announce.record({
    actor: r.actor, action: 'key.rotate', reason: r.reason, target: key.id, result: 'rolled-back',
    details: { rotation: r.id, strategy: r.strategy, fingerprint: r.old_fingerprint, failed_because: reason },
  });
  await core.announce.notify({
    kind: 'rotation-rolled-back', severity: 'warning', key_id: key.id, fingerprint: r.old_fingerprint, owner: key.owner,
    message: `rotation of ${key.id} failed and was rolled back: ${reason}. The current key (${r.old_fingerprint}) stays active${r.new_fingerprint ? `; the new one (${r.new_fingerprint}) was revoked` : ''}.`,
    details: { rotation: r.id },
  });
  return 'continue';
}

/** Point the inventory at the old version again (the new one had already been switched in). */
function switchBack(core: RotationCore, r: RotationRow): void {
  core.db
    .prepare(`UPDATE keys SET secret_version = ?, fingerprint = ?, updated_at = ? WHERE id = ? AND secret_version = ?`)
    .run(r.old_version, r.old_fingerprint, nowIso(core), r.key_id, r.new_version);
}

/** Give the old key back to every target that received the new one. True when all are done. */
async function restoreTargets(core: RotationCore, r: RotationRow, key: KeyRecord): Promise<boolean> {
  const restored = [...(r.data.restored ?? [])];
  const todo = core.targetsFor(key).filter((t) => r.distributed.includes(t.id) && !restored.includes(t.id)).reverse();
  if (todo.length === 0) return true;
  const old = await core.vault.get(key.id, r.old_version);
  const failures: string[] = [];
  for (const t of todo) {
    try {
      await t.deliver({ keyId: key.id, instance: key.instance, fingerprint: r.old_fingerprint, scopes: key.scopes, rotatedAt: nowIso(core), secrets: old, reason: 'rollback' });
      restored.push(t.id);
    } catch (e) {
      failures.push(`${t.id}: ${errorMessage(e)}`);
    }
  }
  patch(core, r, { data: { ...core.store.get(r.id)!.data, restored } });
  if (failures.length === 0) return true;
  core.logger.error({ rotation: r.id, key_id: key.id, failures }, 'rollback: could not give the old key back to a target (retried)');
  if (firstTime(core, r, 'restore-failed')) {
    await core.announce.notify({
      kind: 'rotation-failed', severity: 'critical', key_id: key.id, fingerprint: r.old_fingerprint, owner: key.owner,
      message: `rolling back ${key.id}: the old key could not be put back into ${failures.join('; ')}. The new token stays live until it can (retried).`,
      details: { rotation: r.id },
    });
  }
  return false;
}

async function revokeNew(core: RotationCore, r: RotationRow, key: KeyRecord): Promise<'done' | 'wait' | 'failed'> {
  if (!core.vault.has(key.id, r.new_version)) return 'done';
  const fresh = await core.vault.get(key.id, r.new_version);
  if (fresh.token === '' || core.fingerprint(fresh.token) === r.old_fingerprint) return 'done';
  try {
    const res = await core.client.revoke({ instance: key.instance, clientId: fresh.client_id, clientSecret: fresh.client_secret, token: fresh.token });
    if (res.confirmed) return 'done';
    patch(core, r, { error: `${r.data.rollback_reason ?? ''}; the new token did not answer 401 yet (retried)` });
    return 'wait';
  } catch (e) {
    if (isRetryable(e)) return 'wait';
    const at = nowIso(core);
    patch(core, r, { state: 'failed', completed_at: at, error: `rollback could not revoke the new token: ${errorMessage(e)}` });
    if (core.inventory.require(key.id).status === 'rotating') setKeyStatus(core.db, key.id, 'active', at);
    await core.announce.notify({
      kind: 'rotation-failed', severity: 'critical', key_id: key.id, fingerprint: r.new_fingerprint ?? '', owner: key.owner,
      message: `rolling back ${key.id}: the NEW token (${r.new_fingerprint}) could not be revoked (${errorMessage(e)}); it is still live. The old key stays active.`,
      details: { rotation: r.id },
    });
    return 'failed';
  }
}
