import type { Clock } from '../../core/clock.js';
import type { Fingerprinter } from '../../core/fingerprint.js';
import type { Logger } from '../../core/logger.js';
import type { Metrics } from '../../core/metrics.js';
import type { ControlDb } from '../../store/control.js';
import type { DistributionTarget } from '../distribute/types.js';
import type { KeyInventory } from '../inventory.js';
import type { RevocationRecords } from '../revocation/records.js';
import type { RevocationRetryQueue } from '../revocation/service.js';
import type { Announcer } from '../revocation/types.js';
import type { KeyRecord } from '../schema.js';
import type { Vault } from '../vault.js';
import type { KeyRotationSettings, RotationConfig } from './config.js';
import type { UsageSource } from './cutover.js';
import type { ConsentLinks } from './reauthorize/links.js';
import type { RotationPatch, RotationRow, RotationStore } from './store.js';
import type { RotationClient } from './types.js';

/** What the rotation steps (engine, cut-over, rollback) share. */
export interface RotationCore {
  db: ControlDb;
  vault: Vault;
  inventory: KeyInventory;
  store: RotationStore;
  records: RevocationRecords;
  /** Where a revocation the rotation could not finish is retried (the outbox); null: not retried. */
  retry: RevocationRetryQueue | null;
  client: RotationClient;
  fingerprint: Fingerprinter;
  config: RotationConfig;
  usage: UsageSource | null;
  consent: ConsentLinks | null;
  announce: Announcer;
  logger: Logger;
  clock: Clock;
  env: NodeJS.ProcessEnv;
  metrics: Metrics | null;
  settingsFor(keyId: string): KeyRotationSettings;
  targetsFor(key: KeyRecord): DistributionTarget[];
}

/** What a step tells the loop: keep going, or stop here until the next tick / callback. */
export type StepResult = 'continue' | 'wait';

export function nowIso(core: RotationCore): string {
  return new Date(core.clock.now()).toISOString();
}

export function patch(core: RotationCore, r: RotationRow, p: RotationPatch): RotationRow {
  return core.store.update(r.id, p, nowIso(core));
}

/** Record that a notice was sent for this rotation, so a resumed step does not send it twice. */
export function firstTime(core: RotationCore, r: RotationRow, tag: string): boolean {
  const fresh = core.store.get(r.id)!;
  const seen = fresh.data.notified ?? [];
  if (seen.includes(tag)) return false;
  patch(core, r, { data: { ...fresh.data, notified: [...seen, tag] } });
  return true;
}

export function sameScopes(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && [...a].sort().join(' ') === [...b].sort().join(' ');
}
