import { TuskguardError, errorMessage } from '../../core/errors.js';
import { setKeyStatus } from '../revocation/records.js';
import type { KeyRecord } from '../schema.js';
import type { KeySecrets } from '../vault.js';
import { firstTime, nowIso, patch, sameScopes, type RotationCore, type StepResult } from './core.js';
import { cutover } from './cutover.js';
import type { KeyLocks } from './lock.js';
import { beginRollback, rollback } from './rollback.js';
import { TERMINAL_STATES, type RotationData, type RotationRow } from './store.js';
import { strategyFor } from './strategies.js';

/**
 * Drives one rotation through its states (store.ts) while holding the key's lock. Each call
 * runs steps until the rotation finishes or has to wait (for consent, for the old key to go
 * quiet, for an unreachable peer); the scheduler or the OAuth callback calls again later. A
 * failure in any step before the old key is revoked turns into a rollback.
 */
export class RotationEngine {
  /** In this process, one advance per key at a time (the DB lock covers other processes). */
  private readonly running = new Map<string, Promise<unknown>>();

  constructor(
    private readonly core: RotationCore,
    private readonly locks: KeyLocks,
    private readonly owner: string,
    private readonly leaseMs: number,
  ) {}

  /** Advance rotation `id` as far as it goes now; returns its row afterwards. ROTATION_BUSY if another process holds the key. */
  async advance(id: string): Promise<RotationRow> {
    const keyId = this.core.store.get(id)!.key_id;
    const previous = this.running.get(keyId) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.advanceLocked(id, keyId));
    this.running.set(keyId, next);
    try {
      return await next;
    } finally {
      if (this.running.get(keyId) === next) this.running.delete(keyId);
    }
  }

  private advanceLocked(id: string, keyId: string): Promise<RotationRow> {
    return this.locks.withLock(keyId, this.owner, `rotation ${id}`, this.leaseMs, async () => {
      for (let i = 0; i < 12; i++) {
        const r = this.core.store.get(id)!;
        if (TERMINAL_STATES.has(r.state)) return r;
        // A holder that stalled past its lease may have lost the key to another process: stop writing.
        if (!this.locks.renew(keyId, this.owner, this.leaseMs)) throw lostLock(keyId);
        if ((await this.step(r)) === 'wait') break;
      }
      return this.core.store.get(id)!;
    });
  }

  private async step(r: RotationRow): Promise<StepResult> {
    const key = this.core.inventory.require(r.key_id);
    if (key.status === 'revoked' || key.status === 'revoke-pending') return this.abort(r, key);
    if (r.state === 'rolling-back') return rollback(this.core, r, key);
    if (r.state === 'distributed') return cutover(this.core, r, key);
    try {
      switch (r.state) {
        case 'started':
          return await this.obtain(r, key);
        case 'awaiting-consent':
          return this.awaitConsent(r);
        case 'minted':
          return await this.verify(r, key);
        case 'verified':
          return await this.distribute(r, key);
        default:
          return 'wait';
      }
    } catch (e) {
      if (this.locks.holder(r.key_id)?.owner !== this.owner) throw lostLock(r.key_id);
      beginRollback(this.core, r, errorMessage(e));
      return 'continue';
    }
  }

  /**
   * The key was revoked meanwhile (a panic button). A pending revocation covers every vault
   * version when it is retried; a finished one may have run before this rotation's token
   * existed, so that token is revoked here.
   */
  private async abort(r: RotationRow, key: KeyRecord): Promise<StepResult> {
    const { core } = this;
    const fresh = key.status === 'revoked' && core.vault.has(key.id, r.new_version) ? await core.vault.get(key.id, r.new_version) : null;
    let error = `the key was ${key.status} during the rotation`;
    if (fresh?.token && core.fingerprint(fresh.token) !== r.old_fingerprint) {
      try {
        const res = await core.client.revoke({ instance: key.instance, clientId: fresh.client_id, clientSecret: fresh.client_secret, token: fresh.token });
        if (!res.confirmed) error += '; the new token did not answer 401 after its revocation';
      } catch (e) {
        error += `; the new token (${r.new_fingerprint}) could not be revoked yet: ${errorMessage(e)} (revoke-pending, retried)`;
        this.reopenRevocation(r, key);
      }
    }
    patch(core, r, { state: 'aborted', completed_at: nowIso(core), error });
    core.logger.warn({ rotation: r.id, key_id: key.id }, 'rotation aborted: the key was revoked');
    return 'wait';
  }

  /** Hand the key back to the revocation retry: a pending record covers every vault version. */
  private reopenRevocation(r: RotationRow, key: KeyRecord): void {
    const { core } = this;
    const at = nowIso(core);
    const id = core.records.open({ keyId: key.id, fingerprint: r.new_fingerprint ?? key.fingerprint, actor: `rotation:${r.id}`, reason: 'the token of a rotation aborted by a revocation', at });
    setKeyStatus(core.db, key.id, 'revoke-pending', at);
    core.retry?.schedule(id, key.id);
    void core.announce.notify({
      kind: 'revoke-pending', severity: 'warning', key_id: key.id, fingerprint: r.new_fingerprint ?? '', owner: key.owner,
      message: `${key.id} was revoked during a rotation; the rotation's new token could not be revoked yet and is retried (the key is revoke-pending)`,
    });
  }

  private async obtain(r: RotationRow, key: KeyRecord): Promise<StepResult> {
    const { core } = this;
    const old = await core.vault.get(key.id, r.old_version);
    if (r.data.old_owner_user_id === undefined) {
      const v = await core.client.verifyKey({ instance: key.instance, token: old.token });
      r = patch(core, r, { data: { ...r.data, old_owner_user_id: v.live ? v.ownerUserId : null } });
      if (key.status === 'active') setKeyStatus(core.db, key.id, 'rotating', nowIso(core));
    }
    const pending = core.vault.has(key.id, r.new_version) ? await core.vault.get(key.id, r.new_version) : null;
    const result = await strategyFor(key).obtain({
      key, rotation: r, old, pending, client: core.client, config: core.config, settings: core.settingsFor(key.id), consent: core.consent,
      env: core.env, clock: core.clock, logger: core.logger,
      store: (s: KeySecrets) => core.vault.put(key.id, r.new_version, s),
      setData: (p: Partial<RotationData>) => void patch(core, r, { data: { ...core.store.get(r.id)!.data, ...p } }),
    });
    if (result.kind === 'minted') {
      patch(core, r, { state: 'minted', new_fingerprint: core.fingerprint(result.secrets.token) });
      return 'continue';
    }
    r = patch(core, r, { state: 'awaiting-consent', consent_state_hash: result.consentStateHash });
    if (firstTime(core, r, 'consent')) {
      await core.announce.notify({ kind: 'consent-requested', severity: 'info', key_id: key.id, fingerprint: r.old_fingerprint, owner: key.owner, message: result.message, ...(result.link ? { link: result.link } : {}), details: { rotation: r.id } });
    }
    return 'wait';
  }

  private awaitConsent(r: RotationRow): StepResult {
    const expires = r.data.consent_expires_at ? Date.parse(r.data.consent_expires_at) : 0;
    if (this.core.clock.now() < expires) return 'wait';
    beginRollback(this.core, r, `the owner did not consent before ${r.data.consent_expires_at ?? 'the link expired'}`);
    return 'continue';
  }

  /** The new key must be live, carry exactly the intended scopes, and be a different token of the right owner. */
  private async verify(r: RotationRow, key: KeyRecord): Promise<StepResult> {
    const fresh = await this.core.vault.get(key.id, r.new_version);
    const fp = this.core.fingerprint(fresh.token);
    const problems: string[] = [];
    if (fp === r.old_fingerprint) problems.push('Mastodon returned the old token again (token reuse, FACTS §3)');
    const v = await this.core.client.verifyKey({ instance: key.instance, token: fresh.token });
    if (!v.live || v.status !== 'live') problems.push(`the new token is ${v.status}`);
    else if (!sameScopes(v.scopes, key.scopes)) problems.push(`the new token has scopes [${v.scopes.join(' ')}], not the intended [${key.scopes.join(' ')}]`);
    if (v.live && key.kind === 'app' && v.ownerUserId !== null) problems.push('the new token belongs to a user, not to an app');
    const owner = r.data.old_owner_user_id;
    if (v.live && key.kind === 'user' && owner != null && v.ownerUserId !== owner) problems.push('the new token belongs to another Mastodon user than the old one');
    if (problems.length > 0) {
      beginRollback(this.core, r, `verification failed: ${problems.join('; ')}`);
      return 'continue';
    }
    patch(this.core, r, { state: 'verified', new_fingerprint: fp });
    return 'continue';
  }

  /** Deliver to each target not yet done, then make the new version the key's current one. */
  private async distribute(r: RotationRow, key: KeyRecord): Promise<StepResult> {
    const { core } = this;
    const fresh = await core.vault.get(key.id, r.new_version);
    const targets = core.targetsFor(key);
    if (targets.length === 0) core.logger.warn({ rotation: r.id, key_id: key.id }, 'rotation: no distribution targets configured for this key');
    for (const t of targets) {
      if (r.distributed.includes(t.id)) continue;
      const result = await t.deliver({ keyId: key.id, instance: key.instance, fingerprint: r.new_fingerprint!, scopes: key.scopes, rotatedAt: nowIso(core), secrets: fresh, reason: 'rotate' });
      r = patch(core, r, { distributed: [...r.distributed, t.id] });
      core.logger.info({ rotation: r.id, key_id: key.id, target: t.id, type: t.type, fingerprint: r.new_fingerprint, result }, 'rotation: new key delivered');
    }
    const at = nowIso(core);
    const deadline = new Date(core.clock.now() + r.grace_ms).toISOString();
    core.db.transaction(() => {
      core.db
        .prepare(`UPDATE keys SET secret_version = ?, fingerprint = ?, status = 'rotating', updated_at = ? WHERE id = ? AND status IN ('active', 'rotating')`)
        .run(r.new_version, r.new_fingerprint, at, key.id);
      patch(core, r, { state: 'distributed', cutover_at: at, deadline, error: null });
    })();
    return 'continue';
  }
}

function lostLock(keyId: string): TuskguardError {
  return new TuskguardError('ROTATION_BUSY', `lost the lock on ${keyId} (lease expired); another process continues the rotation`, {
    hint: 'raise rotation.lock_lease if steps (targets, the site command) take longer than it',
  });
}
