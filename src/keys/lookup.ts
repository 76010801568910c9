import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openKeysDb } from './db.js';
import { KeyInventory } from './inventory.js';

/**
 * Fingerprint → managed key id, for the ingest pipeline, `parse` and `replay`. Matches the
 * `KeyLookup` interface of src/ingest/enrich structurally. Fingerprints are stored at import,
 * so no master key and no decryption are involved. Implemented by ReloadingKeys
 * (src/detect/replay-keys.ts), which `serve` shares between ingest and detection.
 */
export interface ManagedKeyLookup {
  /** The managed key id for a fingerprint, or null when tuskguard does not manage that token. */
  keyIdFor(fingerprint: string): string | null;
  /** Number of managed keys known. */
  readonly size: number;
  /** Re-read the inventory (after `keys import` in another process). */
  reload(): void;
}

/**
 * fingerprint → managed key id and instance, for `scan` (managed tokens are matched exactly and
 * verified against their own instance). Same pepper rule and no-DB behaviour as ReloadingKeys.load
 * (src/detect/replay-keys.ts).
 */
export function loadManagedIndex(home: string, pepper: string): Map<string, { id: string; instance: string }> {
  if (!existsSync(join(home, 'control.db'))) return new Map();
  const db = openKeysDb(home);
  try {
    const inventory = new KeyInventory(db);
    inventory.assertPepper(pepper);
    return new Map(inventory.list().map((k) => [k.fingerprint, { id: k.id, instance: k.instance }]));
  } finally {
    db.close();
  }
}
