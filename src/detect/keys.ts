import { z } from 'zod';

/**
 * What detection may know about managed keys, injected into the engine. Rules read it through
 * derived fields (`tuskguard.key_status`, `tuskguard.scope_granted`, `tuskguard.key_id`), so a
 * rule such as "use after revocation" works on proxy logs, which cannot know a key's status.
 * Never holds a secret: only fingerprints, ids, statuses and scopes.
 */
export const KEY_STATUSES = ['active', 'revoked', 'rotated', 'suspended', 'revoke-pending'] as const;
export type KeyStatus = (typeof KEY_STATUSES)[number];

export interface KeyInfo {
  /** Managed key id. */
  keyId: string;
  /** `revoked`/`rotated` for fingerprints that must no longer be used. */
  status: KeyStatus;
  /** Scopes the token was granted, when known. */
  scopes?: readonly string[];
}

export interface KeyLookup {
  /** The key a fingerprint belongs to (current or retired), or undefined when not managed. Must be fast and synchronous. */
  byFingerprint(fingerprint: string): KeyInfo | undefined;
}

/**
 * Lookup over a fixed list, e.g. loaded from `keys list --output json`. Also serves the
 * enricher (`keyIdFor`), so retired fingerprints still resolve to their key's id.
 */
export class StaticKeyLookup implements KeyLookup {
  private readonly map = new Map<string, KeyInfo>();

  constructor(entries: ReadonlyArray<KeyInfo & { fingerprint: string }>) {
    for (const e of entries) {
      const info: KeyInfo = { keyId: e.keyId, status: e.status };
      if (e.scopes) info.scopes = e.scopes;
      this.map.set(e.fingerprint, info);
    }
  }

  byFingerprint(fingerprint: string): KeyInfo | undefined {
    return this.map.get(fingerprint);
  }

  /** The managed key id of a fingerprint, or null (the enricher's lookup contract). */
  keyIdFor(fingerprint: string): string | null {
    return this.map.get(fingerprint)?.keyId ?? null;
  }

  get size(): number {
    return this.map.size;
  }
}

/**
 * One key as `keys list --output json` prints it (extra fields ignored). Retired fingerprints
 * of a rotated key may be listed as `previous_fingerprints` and are looked up as `rotated`.
 */
const keyRecordSchema = z.looseObject({
  id: z.string().min(1),
  fingerprint: z.string().regex(/^[0-9a-f]{32}$/, '32 lowercase hex characters'),
  status: z.enum(KEY_STATUSES).default('active'),
  scopes: z.array(z.string()).optional(),
  previous_fingerprints: z.array(z.string().regex(/^[0-9a-f]{32}$/)).optional(),
});

/**
 * Parse a key inventory: a JSON array, `{ "keys": [...] }`, or one JSON object per line.
 * Throws an Error naming the record and field at fault.
 */
export function parseKeyInventory(text: string): StaticKeyLookup {
  const records = inventoryRecords(text);
  const entries: Array<KeyInfo & { fingerprint: string }> = [];
  records.forEach((r, i) => {
    const parsed = keyRecordSchema.safeParse(r);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new Error(`key record ${i}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
    }
    const k = parsed.data;
    const base = k.scopes ? { keyId: k.id, scopes: k.scopes } : { keyId: k.id };
    entries.push({ ...base, fingerprint: k.fingerprint, status: k.status });
    for (const old of k.previous_fingerprints ?? []) entries.push({ ...base, fingerprint: old, status: 'rotated' });
  });
  return new StaticKeyLookup(entries);
}

function inventoryRecords(text: string): unknown[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  let whole: unknown;
  try {
    whole = JSON.parse(trimmed);
  } catch {
    // Not one JSON document: one object per line.
    return trimmed.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as unknown);
  }
  if (Array.isArray(whole)) return whole;
  const keys = (whole as { keys?: unknown }).keys;
  return Array.isArray(keys) ? keys : [whole];
}
