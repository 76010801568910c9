import { randomUUID } from 'node:crypto';
import { durationMs } from '../../config/schema.js';
import { systemClock, type Clock } from '../../core/clock.js';
import { TuskguardError } from '../../core/errors.js';
import type { Fingerprinter } from '../../core/fingerprint.js';
import { silentLogger, type Logger } from '../../core/logger.js';
import type { Metrics } from '../../core/metrics.js';
import type { ControlDb } from '../../store/control.js';
import { targetsFor } from '../distribute/registry.js';
import type { DistributionTarget } from '../distribute/types.js';
import { KeyInventory } from '../inventory.js';
import { RevocationRecords } from '../revocation/records.js';
import type { RevocationRetryQueue } from '../revocation/service.js';
import { Announcer, type AuditHook, type Notifier } from '../revocation/types.js';
import type { KeyRecord } from '../schema.js';
import type { Vault } from '../vault.js';
import { DEFAULT_ROTATION_CONFIG, keyRotationSettingsSchema, type RotationConfig } from './config.js';
import type { RotationCore } from './core.js';
import type { UsageSource } from './cutover.js';
import { RotationEngine } from './engine.js';
import { KeyLocks } from './lock.js';
import { ConsentFlow } from './reauthorize/flow.js';
import { ConsentLinks } from './reauthorize/links.js';
import { RotationStore, type RotationRow, type RotationTrigger } from './store.js';
import { strategyFor } from './strategies.js';
import type { RotationClient } from './types.js';
import { toView, type RotationView } from './view.js';

/**
 * Key rotation: the entry points `keys rotate`, the scheduler and the responder use.
 * `rotateKey` starts a rotation (or joins the key's running one: rotations of one key are
 * serialized by the one-active-rotation index and the per-key lock) and drives it as far as it
 * can go now; `tick` resumes every unfinished rotation (after a restart, while waiting for the
 * old key to go quiet, for consent expiry) and starts the ones `max_age` asks for.
 */
export interface RotationDeps {
  db: ControlDb;
  vault: Vault;
  client: RotationClient;
  fingerprint: Fingerprinter;
  config?: RotationConfig;
  /** The event store's view of key use; null: only the grace period ends a cut-over. */
  usage?: UsageSource | null;
  notifier?: Notifier;
  audit?: AuditHook;
  logger?: Logger;
  clock?: Clock;
  env?: NodeJS.ProcessEnv;
  /** Lock owner name of this process; default a random id. */
  owner?: string;
  /** Counts rollbacks as `tuskguard_errors_total{component="keys",stage="rotation"}`. */
  metrics?: Metrics;
  /** Retry queue for revocations a rotation hands back (aborted by a revocation meanwhile). */
  revocationRetry?: RevocationRetryQueue;
  /** Override how targets are built (tests). */
  targets?: (key: KeyRecord) => DistributionTarget[];
}

export interface RotateRequest {
  keyId: string;
  reason: string;
  trigger: RotationTrigger;
  actor?: string;
  /** Revoke the old key as soon as the new one is out (no wait for silence). */
  immediate?: boolean;
}

export interface RotateReport {
  /** False when the key already had a rotation running (this request joined it). */
  created: boolean;
  rotation: RotationView;
}

export class RotationService {
  readonly store: RotationStore;
  readonly inventory: KeyInventory;
  readonly locks: KeyLocks;
  readonly core: RotationCore;
  readonly consent: ConsentFlow | null;
  private readonly engine: RotationEngine;
  private readonly owner: string;
  private readonly leaseMs: number;

  constructor(deps: RotationDeps) {
    const config = deps.config ?? DEFAULT_ROTATION_CONFIG;
    const logger = deps.logger ?? silentLogger;
    const clock = deps.clock ?? systemClock;
    const env = deps.env ?? process.env;
    this.inventory = new KeyInventory(deps.db, logger);
    this.store = new RotationStore(deps.db);
    this.locks = new KeyLocks(deps.db, clock);
    this.owner = deps.owner ?? `tuskguard:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.leaseMs = durationMs(config.lock_lease);
    const links = ConsentLinks.fromConfig(config, env);
    this.core = {
      db: deps.db, vault: deps.vault, inventory: this.inventory, store: this.store, records: new RevocationRecords(deps.db), retry: deps.revocationRetry ?? null,
      client: deps.client, fingerprint: deps.fingerprint, config, usage: deps.usage ?? null, consent: links,
      announce: new Announcer(logger, deps.notifier, deps.audit), logger, clock, env, metrics: deps.metrics ?? null,
      settingsFor: (id) => config.keys[id] ?? keyRotationSettingsSchema.parse({}),
      targetsFor: deps.targets ?? ((key) => targetsFor(config.keys[key.id]?.targets ?? [], config.targets, env)),
    };
    this.engine = new RotationEngine(this.core, this.locks, this.owner, this.leaseMs);
    this.consent = links
      ? new ConsentFlow(this.core, links, (id) => this.engine.advance(id), (keyId, fn) => this.locks.withLock(keyId, this.owner, 'consent', this.leaseMs, fn))
      : null;
  }

  /** Start (or join) a rotation of the key and drive it as far as it goes now. */
  async rotateKey(req: RotateRequest): Promise<RotateReport> {
    const key = this.inventory.require(req.keyId);
    if (key.status === 'revoked' || key.status === 'revoke-pending') {
      throw new TuskguardError('USAGE', `${key.id} is ${key.status}; a revoked key cannot be rotated`, {
        hint: 'import a new token for it with `tuskguard keys import` or `keys add`',
      });
    }
    const strategy = strategyFor(key);
    const config = this.core.config;
    const quiet = this.core.settingsFor(key.id).quiet_period ?? config.quiet_period;
    const { row, created } = this.store.createOrGetActive({
      key_id: key.id, strategy: strategy.id, triggered_by: req.trigger, reason: req.reason, actor: req.actor ?? req.trigger,
      immediate: req.immediate ?? false, old_version: key.secret_version, new_version: this.nextVersion(key), old_fingerprint: key.fingerprint,
      data: {}, quiet_ms: durationMs(quiet), grace_ms: durationMs(key.rotation?.grace ?? config.grace), at: new Date(this.core.clock.now()).toISOString(),
    });
    if (created) this.core.logger.info({ rotation: row.id, key_id: key.id, strategy: strategy.id, trigger: req.trigger }, 'rotation started');
    else if (req.immediate && !row.immediate) this.store.update(row.id, { immediate: true }, new Date(this.core.clock.now()).toISOString());
    const after = await this.engine.advance(row.id);
    return { created, rotation: toView(after) };
  }

  /** Resume one rotation (the scheduler, `keys rotate` on a waiting rotation). */
  async advance(rotationId: string): Promise<RotationView> {
    return toView(await this.engine.advance(rotationId));
  }

  /** A version number no vault row of the key uses (the new secrets' home). */
  private nextVersion(key: KeyRecord): number {
    const row = this.core.db.prepare('SELECT MAX(version) AS v FROM vault_records WHERE record_id = ?').get(key.id) as { v: number | null };
    return Math.max(row.v ?? 0, key.secret_version) + 1;
  }

  /** Rotations (newest first), optionally of one key. */
  status(keyId?: string): RotationView[] {
    if (keyId !== undefined) this.inventory.require(keyId);
    return this.store.list(keyId === undefined ? {} : { keyId }).map(toView);
  }

  /** Active keys whose token is older than their `rotation.max_age` and that are not rotating. */
  dueForMaxAge(): KeyRecord[] {
    const now = this.core.clock.now();
    return this.inventory.list().filter((k) => {
      if (k.status !== 'active' || !k.rotation?.max_age || this.store.activeFor(k.id)) return false;
      const since = Date.parse(k.token_stored_at ?? k.created_at);
      return now - since >= durationMs(k.rotation.max_age);
    });
  }

  /** One scheduler pass: advance unfinished rotations, then start those max_age asks for. */
  async tick(): Promise<{ advanced: number; started: string[]; errors: number }> {
    let errors = 0;
    const unfinished = this.store.unfinished();
    for (const r of unfinished) {
      try {
        await this.engine.advance(r.id);
      } catch (e) {
        errors += 1;
        this.core.logger.warn({ rotation: r.id, key_id: r.key_id, code: (e as { code?: string }).code, error: (e as Error).message }, 'rotation could not be advanced');
      }
    }
    const started: string[] = [];
    for (const key of this.dueForMaxAge()) {
      try {
        await this.rotateKey({ keyId: key.id, reason: `token older than max_age ${key.rotation!.max_age}`, trigger: 'max_age', actor: 'scheduler' });
        started.push(key.id);
      } catch (e) {
        errors += 1;
        this.core.logger.warn({ key_id: key.id, code: (e as { code?: string }).code, error: (e as Error).message }, 'scheduled rotation could not start');
      }
    }
    return { advanced: unfinished.length, started, errors };
  }
}

export type { RotationRow };
