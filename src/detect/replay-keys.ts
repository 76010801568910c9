import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openKeysDb } from '../keys/db.js';
import { KeyInventory } from '../keys/inventory.js';
import type { ManagedKeyLookup } from '../keys/lookup.js';
import type { KeyRecord } from '../keys/schema.js';
import { type KeyInfo, type KeyLookup, StaticKeyLookup } from './keys.js';

/**
 * The managed keys as detection needs them during a replay or a live run, read once from the
 * key inventory under `home` (filled by `tuskguard keys import`). Fingerprints were computed
 * at import, so nothing is decrypted and no master key is needed; only the pepper is checked,
 * because fingerprints made under another pepper would silently match nothing.
 */
export interface ReplayKeys {
  /** Fingerprint → key id, status (as of event time), scopes: for enrichment and the engine. */
  lookup: StaticKeyLookup;
  /** How many managed keys were loaded. */
  count: number;
}

/** What detection knows of one inventory record (the status takes effect at status_changed_at). */
export function detectionEntry(k: KeyRecord): KeyInfo & { fingerprint: string } {
  const entry: KeyInfo & { fingerprint: string } = { fingerprint: k.fingerprint, keyId: k.id, status: k.status, scopes: k.scopes };
  if (k.status !== 'active') entry.since = Date.parse(k.status_changed_at);
  return entry;
}

/**
 * Load the inventory of `home`. Throws KEY_FINGERPRINTS_STALE when `pepper` is not the one the
 * fingerprints were made with; without a pepper (or without a control DB) no key is known, and
 * findings then carry fingerprints only.
 */
export function loadReplayKeys(home: string, pepper: string | null): ReplayKeys {
  if (pepper === null || !existsSync(join(home, 'control.db'))) return fromRecords([]);
  const db = openKeysDb(home);
  try {
    const inventory = new KeyInventory(db);
    inventory.assertPepper(pepper);
    return fromRecords(inventory.list());
  } finally {
    db.close();
  }
}

/** The lookup over inventory records (exported for tests and benchmarks). */
export function fromRecords(records: readonly KeyRecord[]): ReplayKeys {
  return { lookup: new StaticKeyLookup(records.map(detectionEntry)), count: records.length };
}

/**
 * The inventory `serve` shares between ingest (fingerprint → key id) and detection (status,
 * scopes): one read of the control DB builds one lookup, and `reload` swaps it whole, so both
 * always see the same keys. A failed read throws and keeps the previous lookup.
 */
export class ReloadingKeys implements KeyLookup, ManagedKeyLookup {
  private current: StaticKeyLookup;

  constructor(private readonly read: () => StaticKeyLookup) {
    this.current = read();
  }

  /** Read `home` with `pepper` (see loadReplayKeys; throws KEY_FINGERPRINTS_STALE at once). */
  static load(home: string, pepper: string | null): ReloadingKeys {
    return new ReloadingKeys(() => loadReplayKeys(home, pepper).lookup);
  }

  byFingerprint(fp: string): KeyInfo | undefined {
    return this.current.byFingerprint(fp);
  }

  keyIdFor(fp: string): string | null {
    return this.current.keyIdFor(fp);
  }

  get size(): number {
    return this.current.size;
  }

  reload(): void {
    this.current = this.read();
  }
}
