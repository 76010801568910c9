import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openKeysDb } from './db.js';
import { KeyInventory } from './inventory.js';

/**
 * Fingerprint → managed key id, for the ingest pipeline, `parse` and `replay`. Matches the
 * `KeyLookup` interface of src/ingest/enrich structurally. Fingerprints are stored at import,
 * so no master key and no decryption are involved.
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
 * Load the lookup from the control DB under `home`. Throws KEY_FINGERPRINTS_STALE when the
 * stored fingerprints were computed with a different pepper: every lookup would silently miss.
 * A home without a control DB yields an empty lookup (nothing imported yet) and creates nothing.
 */
export function loadKeyLookup(home: string, pepper: string): ManagedKeyLookup {
  let index = new Map<string, string>();
  const read = (): void => {
    if (!existsSync(join(home, 'control.db'))) {
      index = new Map();
      return;
    }
    const db = openKeysDb(home);
    try {
      const inventory = new KeyInventory(db);
      inventory.assertPepper(pepper);
      index = inventory.fingerprintIndex();
    } finally {
      db.close();
    }
  };
  read();
  return {
    keyIdFor: (fp) => index.get(fp) ?? null,
    get size() {
      return index.size;
    },
    reload: read,
  };
}

/**
 * fingerprint → managed key id and instance, for `scan` (managed tokens are matched exactly and
 * verified against their own instance). Same pepper rule and no-DB behaviour as loadKeyLookup.
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
