import type { LoadedConfig } from '../config/load.js';
import { errorMessage } from '../core/errors.js';
import { createFingerprinter, loadPepper } from '../core/fingerprint.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import { KeyInventory } from '../keys/inventory.js';
import { loadLocalKek } from '../keys/kms.js';
import { RevocationService } from '../keys/revocation/service.js';
import { givenUpNotice } from '../keys/revocation/retry.js';
import { Announcer, type AuditHook, type Notifier } from '../keys/revocation/types.js';
import { buildLifecycle, retrySettings, type Lifecycle } from '../keys/rotation/runtime.js';
import { Vault } from '../keys/vault.js';
import { MastodonClient } from '../mastodon/client.js';
import type { ControlDb } from '../store/control.js';
import type { EventStore } from '../store/types.js';
import type { ResponseKeyServices } from './actions/mastodon.js';
import { UndoLog } from './undo.js';

/**
 * The key services the Mastodon-facing actions use (src/respond/actions/mastodon.ts), built
 * from the environment: the master key opens the vault, the pepper names tokens by
 * fingerprint. Without either, null: those actions then fail with a message saying what to set.
 */
export interface KeyServicesOptions {
  loaded: LoadedConfig;
  /** The control DB with the keys tables migrated (openKeysDb). */
  db: ControlDb;
  env: NodeJS.ProcessEnv;
  logger: Logger;
  metrics?: Metrics | undefined;
  /** Revocations and rotations append here (the responder's audit chain). */
  audit: AuditHook;
  /** Notices for people (revoke-pending, revoke-failed…). */
  notifier: Notifier;
  /** `serve`'s running lifecycle, whose rotation service is reused; built here otherwise. */
  lifecycle?: Lifecycle | null | undefined;
  /** Key usage for rotation cut-overs (without it only the grace period ends one). */
  events?: Pick<EventStore, 'searchEvents'> | null | undefined;
  /** Mastodon call timeout (default 10 s). */
  mastodonTimeoutMs?: number | undefined;
}

export interface BuiltKeyServices {
  services: ResponseKeyServices;
  undo: UndoLog;
}

/**
 * The responder's own outbox job retries a revocation until Mastodon confirms the 401, so the
 * revocation service must not queue a second retry of its own.
 */
const RETRIED_BY_THE_RESPONDER = { schedule: (): void => undefined };

export async function buildKeyServices(o: KeyServicesOptions): Promise<BuiltKeyServices | null> {
  const pepper = loadPepper(o.loaded.config.pepper_file, o.env);
  const kek = loadLocalKek(o.env);
  if (pepper === null || kek === null) {
    o.logger.warn({ has_master_key: kek !== null, has_pepper: pepper !== null }, 'revoke, rotate, suspend-account and block-ip are unavailable: they need the master key and the pepper');
    return null;
  }
  const vault = await Vault.open(o.db, kek, o.logger);
  const inventory = new KeyInventory(o.db, o.logger);
  const fingerprint = createFingerprinter(pepper);
  const client = new MastodonClient({ logger: o.logger, fingerprint, ...(o.mastodonTimeoutMs ? { timeoutMs: o.mastodonTimeoutMs } : {}) });
  const common = { db: o.db, vault, fingerprint, client, audit: o.audit, notifier: o.notifier, logger: o.logger, ...(o.metrics ? { metrics: o.metrics } : {}) };
  const revocations = new RevocationService({ ...common, retry: RETRIED_BY_THE_RESPONDER });
  const lifecycle = o.lifecycle ?? buildLifecycle({ loaded: o.loaded, db: o.db, vault, pepper, logger: o.logger, env: o.env, events: o.events ?? null, notifier: o.notifier, audit: o.audit, ...(o.metrics ? { metrics: o.metrics } : {}) });
  const undo = new UndoLog(o.db);
  const announce = new Announcer(o.logger, o.notifier, o.audit);
  const services: ResponseKeyServices = {
    revokeKey: (req) => revocations.revokeKey(req),
    rotateKey: (req) => lifecycle.rotations.rotateKey(req),
    key: (id) => inventory.get(id),
    async token(id) {
      const key = inventory.require(id);
      return (await vault.get(id, key.secret_version)).token;
    },
    admin: client,
    undo,
    revokeAttempts: retrySettings(o.loaded).maxAttempts,
    async revocationGivenUp(report, attempts) {
      o.logger.error({ key_id: report.key_id, fingerprint: report.fingerprint, revocation_id: report.revocation_id, attempts }, 'revocation attempts exhausted');
      let owner = '';
      try {
        owner = inventory.get(report.key_id)?.owner ?? '';
      } catch (e) {
        o.logger.error({ key_id: report.key_id, error: errorMessage(e) }, 'owner of a given-up revocation could not be read');
      }
      await announce.notify(givenUpNotice({ keyId: report.key_id, fingerprint: report.fingerprint, owner, revocationId: report.revocation_id, attempts }));
    },
  };
  return { services, undo };
}
