import { z } from 'zod';

/**
 * What detection may know about managed keys, injected into the engine. Rules read it through
 * derived fields (`tuskguard.key_status`, `tuskguard.scope_granted`, `tuskguard.key_id`), so a
 * rule such as "use after revocation" works on proxy logs, which cannot know a key's status.
 * Never holds a secret: only fingerprints, ids, statuses, times and scopes.
 *
 * Statuses are those of the key inventory (`active`, `rotating`, `revoke-pending`, `revoked`)
 * plus `rotated` for a fingerprint retired by a rotation and `suspended`.
 */
export const KEY_STATUSES = ['active', 'rotating', 'revoke-pending', 'revoked', 'rotated', 'suspended'] as const;
export type KeyStatus = (typeof KEY_STATUSES)[number];

export interface KeyInfo {
  /** Managed key id. */
  keyId: string;
  /** Current status of this fingerprint: `revoked`/`rotated` ones must no longer be used. */
  status: KeyStatus;
  /**
   * When the status took effect (epoch ms). Events before it see `active`, so a backtest over
   * old logs does not call a key's legitimate past use "use after revocation".
   */
  since?: number;
  /** Scopes the token was granted, when known. */
  scopes?: readonly string[];
}

export interface KeyLookup {
  /** The key a fingerprint belongs to (current or retired), or undefined when not managed. Must be fast and synchronous. */
  byFingerprint(fingerprint: string): KeyInfo | undefined;
}

/** The status of a key as of event time `t`. */
export function statusAt(info: KeyInfo, t: number): KeyStatus {
  return info.since !== undefined && t < info.since ? 'active' : info.status;
}

/**
 * Lookup over a fixed list, e.g. loaded from `keys list --output json`. Also serves the
 * enricher (`keyIdFor`), so retired fingerprints still resolve to their key's id.
 */
export class StaticKeyLookup implements KeyLookup {
  private readonly map = new Map<string, KeyInfo>();

  constructor(entries: ReadonlyArray<KeyInfo & { fingerprint: string }>) {
    for (const { fingerprint, ...info } of entries) this.map.set(fingerprint, info);
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

const fingerprintSchema = z.string().regex(/^[0-9a-f]{32}$/, '32 lowercase hex characters');
const timeSchema = z.iso.datetime({ offset: true });

/**
 * One key as `keys list --output json` prints it (extra fields ignored). Fingerprints a
 * rotation retired may be listed in `previous_fingerprints`, with the time they were retired.
 */
const keyRecordSchema = z.looseObject({
  id: z.string().min(1),
  fingerprint: fingerprintSchema,
  status: z.enum(KEY_STATUSES).default('active'),
  status_changed_at: timeSchema.optional(),
  scopes: z.array(z.string()).optional(),
  previous_fingerprints: z
    .array(z.union([fingerprintSchema, z.object({ fingerprint: fingerprintSchema, retired_at: timeSchema.optional() })]))
    .optional(),
});

function entriesOf(k: z.infer<typeof keyRecordSchema>): Array<KeyInfo & { fingerprint: string }> {
  const base: KeyInfo = { keyId: k.id, status: k.status };
  if (k.scopes) base.scopes = k.scopes;
  const current = { ...base, fingerprint: k.fingerprint };
  if (k.status !== 'active' && k.status_changed_at) current.since = Date.parse(k.status_changed_at);
  const retired = (k.previous_fingerprints ?? []).map((p) => {
    const { fingerprint, retired_at } = typeof p === 'string' ? { fingerprint: p, retired_at: undefined } : p;
    const e: KeyInfo & { fingerprint: string } = { ...base, fingerprint, status: 'rotated' };
    if (retired_at) e.since = Date.parse(retired_at);
    return e;
  });
  return [current, ...retired];
}

/**
 * Parse a key inventory: a JSON array, `{ "keys": [...] }`, or one JSON object per line.
 * Throws an Error naming the record and field at fault.
 */
export function parseKeyInventory(text: string): StaticKeyLookup {
  const entries: Array<KeyInfo & { fingerprint: string }> = [];
  inventoryRecords(text).forEach((r, i) => {
    const parsed = keyRecordSchema.safeParse(r);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new Error(`key record ${i}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
    }
    entries.push(...entriesOf(parsed.data));
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
