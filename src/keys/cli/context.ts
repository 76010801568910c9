import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, type LoadedConfig } from '../../config/load.js';
import { errorMessage } from '../../core/errors.js';
import { requirePepper } from '../../core/fingerprint.js';
import { createLogger, type Logger } from '../../core/logger.js';
import { Metrics } from '../../core/metrics.js';
import { createStore } from '../../store/index.js';
import type { EventStore, RouteUsage, TimeRange } from '../../store/types.js';
import { openKeysDb } from '../db.js';
import { KeyInventory } from '../inventory.js';
import { requireKek } from '../kms.js';
import { Vault } from '../vault.js';

/**
 * What the keys, vault and scan commands share: config, logger, the inventory, the vault and
 * the event store, each opened only when a command needs it and closed after.
 */
export interface KeysCommandContext {
  loaded: LoadedConfig;
  logger: Logger;
  env: NodeJS.ProcessEnv;
}

export function commandContext(opts: { config?: string }, env: NodeJS.ProcessEnv = process.env): KeysCommandContext {
  const loaded = loadConfig(opts.config, env);
  // Interactive commands keep stderr quiet unless asked: their output is the report.
  const logger = createLogger({ level: env.TUSKGUARD_LOG_LEVEL ?? 'warn' });
  return { loaded, logger, env };
}

export function pepperOf(ctx: KeysCommandContext): string {
  return requirePepper(ctx.loaded.config.pepper_file, ctx.env);
}

/** Run `fn` with the inventory (and, when `withVault`, the vault under the master key). */
export async function withInventory<T>(
  ctx: KeysCommandContext,
  fn: (inventory: KeyInventory, vault: Vault | null) => Promise<T>,
  withVault = false,
): Promise<T> {
  const db = openKeysDb(ctx.loaded.home);
  try {
    const vault = withVault ? await Vault.open(db, requireKek(ctx.env), ctx.logger) : null;
    return await fn(new KeyInventory(db, ctx.logger), vault);
  } finally {
    db.close();
  }
}

/** Whether there is anything to read: the embedded store's file may not exist yet. */
function storeExists(loaded: LoadedConfig): boolean {
  const { store } = loaded.config;
  if (store.type !== 'sqlite' || store.sqlite.path !== undefined) return true;
  return existsSync(join(loaded.home, 'events.db'));
}

/** Open the event store for reading, or null when the embedded store has no file yet. */
export async function openEventStore(ctx: KeysCommandContext): Promise<EventStore | null> {
  if (!storeExists(ctx.loaded)) return null;
  return createStore(ctx.loaded, { metrics: new Metrics(), logger: ctx.logger });
}

/**
 * Route usage for the fingerprints, or null with a warning when the store cannot be read
 * (listing keys must not depend on the event store being up).
 */
export async function readUsage(ctx: KeysCommandContext, range: TimeRange & { fingerprints: string[] }, required: boolean): Promise<RouteUsage[] | null> {
  if (range.fingerprints.length === 0) return [];
  let store: EventStore | null = null;
  try {
    store = await openEventStore(ctx);
    if (store === null) return [];
    return await store.routeUsage(range);
  } catch (e) {
    if (required) throw e;
    process.stderr.write(`warning: the event store could not be read, so last seen is unknown (${errorMessage(e)})\n`);
    return null;
  } finally {
    await store?.close();
  }
}

/** fingerprint → last time seen, from usage rows. */
export function lastSeenMap(rows: readonly RouteUsage[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of rows) {
    const prev = out.get(r.fingerprint);
    if (prev === undefined || r.lastSeen > prev) out.set(r.fingerprint, r.lastSeen);
  }
  return out;
}
