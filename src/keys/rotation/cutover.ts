import { errorMessage } from '../../core/errors.js';
import { isRetryable } from '../../mastodon/errors.js';
import type { EventStore } from '../../store/types.js';
import { deleteVaultVersion, setKeyStatus } from '../revocation/records.js';
import type { KeyRecord } from '../schema.js';
import { firstTime, nowIso, patch, type RotationCore, type StepResult } from './core.js';
import type { RotationRow } from './store.js';

/**
 * The cut-over: the new key is out; the old one is revoked once the logs show nobody uses it.
 * "Nobody" means its fingerprint has not appeared in the events for `quiet_ms`, counted from
 * whichever is later: the moment the new key went out, or the old key's last request. If the
 * grace period ends first, the old key is revoked anyway and people are told it was still in
 * use. Without an event store there is no evidence of silence, so only the grace period ends
 * the wait. `immediate` (`keys rotate --now`) skips the wait.
 */

/** Where the last use of a fingerprint is looked up (the event store). */
export interface UsageSource {
  /** Time of the latest event with this fingerprint at or after `sinceIso`, or null. */
  lastSeen(fingerprint: string, sinceIso: string): Promise<string | null>;
}

export function eventStoreUsage(store: Pick<EventStore, 'searchEvents'>): UsageSource {
  return {
    async lastSeen(fingerprint, sinceIso) {
      const [latest] = await store.searchEvents({ fingerprint, from: sinceIso, order: 'desc', limit: 1 });
      return latest?.['@timestamp'] ?? null;
    },
  };
}

type Decision = { revoke: false; lastSeen: string | null } | { revoke: true; why: 'immediate' | 'silent' | 'grace-ended'; lastSeen: string | null };

async function decide(core: RotationCore, r: RotationRow): Promise<Decision> {
  if (r.immediate) return { revoke: true, why: 'immediate', lastSeen: null };
  const now = core.clock.now();
  const since = r.cutover_at!;
  let lastSeen: string | null = null;
  let known = core.usage !== null;
  try {
    lastSeen = core.usage ? await core.usage.lastSeen(r.old_fingerprint, since) : null;
  } catch (e) {
    known = false;
    core.logger.warn({ rotation: r.id, key_id: r.key_id, error: errorMessage(e) }, 'rotation: event store unreadable, cannot confirm silence');
  }
  const quietSince = Math.max(Date.parse(since), lastSeen ? Date.parse(lastSeen) : 0);
  if (known && now - quietSince >= r.quiet_ms) return { revoke: true, why: 'silent', lastSeen };
  if (now >= Date.parse(r.deadline!)) return { revoke: true, why: 'grace-ended', lastSeen };
  return { revoke: false, lastSeen };
}

export async function cutover(core: RotationCore, r: RotationRow, key: KeyRecord): Promise<StepResult> {
  const d = await decide(core, r);
  if (!d.revoke) {
    if (d.lastSeen !== r.old_last_seen) patch(core, r, { old_last_seen: d.lastSeen });
    return 'wait';
  }
  if (d.why === 'grace-ended' && d.lastSeen !== null && firstTime(core, r, 'still-in-use')) {
    await core.announce.notify({
      kind: 'old-key-still-in-use', severity: 'warning', key_id: key.id, fingerprint: r.old_fingerprint, owner: key.owner,
      message: `the grace period of ${key.id}'s rotation ended while the old token was still in use (last seen ${d.lastSeen}); it is revoked now, so whoever still uses it will get 401`,
    });
  }
  return revokeOld(core, r, key, d.why);
}

async function revokeOld(core: RotationCore, r: RotationRow, key: KeyRecord, why: string): Promise<StepResult> {
  const old = await core.vault.get(key.id, r.old_version);
  let confirmed = false;
  let status: number | null = null;
  try {
    ({ confirmed, status } = await core.client.revoke({ instance: key.instance, clientId: old.client_id, clientSecret: old.client_secret, token: old.token }));
  } catch (e) {
    if (isRetryable(e)) {
      patch(core, r, { error: `revoking the old key: ${errorMessage(e)} (retried)` });
      return 'wait';
    }
    return oldRevokeFailed(core, r, key, errorMessage(e));
  }
  if (!confirmed) {
    patch(core, r, { error: `old key revoked but /oauth/token/info answered ${status ?? 'nothing'} instead of 401 (retried)` });
    return 'wait';
  }
  finish(core, r, key, why, status);
  return 'continue';
}

function finish(core: RotationCore, r: RotationRow, key: KeyRecord, why: string, status: number | null): void {
  const at = nowIso(core);
  const verification = { method: 'GET /oauth/token/info' as const, tokens: [{ version: r.old_version, fingerprint: r.old_fingerprint, status, confirmed: true }], attempts: 1, checked_at: at };
  core.db.transaction(() => {
    const id = core.records.open({ keyId: key.id, fingerprint: r.old_fingerprint, actor: `rotation:${r.id}`, reason: `replaced by rotation (${why})`, at });
    core.records.update(id, 'revoked', verification, at);
    deleteVaultVersion(core.db, key.id, r.old_version);
    if (core.inventory.require(key.id).status === 'rotating') setKeyStatus(core.db, key.id, 'active', at);
    patch(core, r, { state: 'completed', completed_at: at, error: null });
  })();
  core.logger.info({ rotation: r.id, key_id: key.id, old_fingerprint: r.old_fingerprint, fingerprint: r.new_fingerprint, why }, 'rotation completed: old key revoked, 401 confirmed');
  core.announce.record({
    actor: r.actor, action: 'key.rotate', reason: r.reason, target: key.id, result: 'done',
    details: { rotation: r.id, strategy: r.strategy, old_fingerprint: r.old_fingerprint, fingerprint: r.new_fingerprint, cutover: why, targets: r.distributed },
  });
  void core.announce.notify({
    kind: 'rotation-completed', severity: 'info', key_id: key.id, fingerprint: r.new_fingerprint ?? '', owner: key.owner,
    message: `${key.id} rotated: the new key (${r.new_fingerprint}) is in place and the old one (${r.old_fingerprint}) is revoked (${why})`,
  });
}

function oldRevokeFailed(core: RotationCore, r: RotationRow, key: KeyRecord, message: string): StepResult {
  const at = nowIso(core);
  patch(core, r, { state: 'failed', error: `the new key is in place but the old one could not be revoked: ${message}`, completed_at: at });
  if (core.inventory.require(key.id).status === 'rotating') setKeyStatus(core.db, key.id, 'active', at);
  void core.announce.notify({
    kind: 'rotation-failed', severity: 'critical', key_id: key.id, fingerprint: r.old_fingerprint, owner: key.owner,
    message: `${key.id}: the new key is in place, but the OLD token (${r.old_fingerprint}) could not be revoked (${message}); it is still live. Revoke it by hand (FACTS §4).`,
  });
  return 'wait';
}
