import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InventoryItem } from '../../src/keys/schema.js';
import type { ControlDb } from '../../src/store/control.js';

/** A fresh data directory per test. */
export function tempHome(prefix = 'tg-keys-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A random Mastodon-shaped token: 43 base64url characters, like SecureRandom.urlsafe_base64(32). */
export function fakeToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hexKey(): string {
  return randomBytes(32).toString('hex');
}

/** Every row of the keys component's tables, buffers as hex: compare before/after to prove "nothing changed". */
export function dumpKeysTables(db: ControlDb): string {
  const tables = ['vault_meta', 'vault_records', 'keys', 'keys_meta', 'key_revocations'];
  const out: Record<string, unknown[]> = {};
  for (const t of tables) {
    out[t] = (db.prepare(`SELECT * FROM ${t} ORDER BY rowid`).all() as Array<Record<string, unknown>>).map((r) =>
      Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Buffer.isBuffer(v) ? v.toString('hex') : v])),
    );
  }
  return JSON.stringify(out);
}

/** Everything an error exposes when printed or serialised. */
export function errorText(e: unknown): string {
  const err = e as Error & { hint?: string; details?: unknown; toDisplay?: () => string };
  return [String(err), err.message, err.hint, JSON.stringify(err.details ?? null), err.toDisplay?.() ?? '', err.stack ?? ''].join('\n');
}

export async function caught(p: Promise<unknown> | (() => unknown)): Promise<unknown> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    return e;
  }
  throw new Error('expected an error, none was thrown');
}

/** A valid inventory item with fresh random secrets. */
export function item(id: string, over: Partial<InventoryItem> = {}): InventoryItem {
  return {
    id,
    instance: 'https://social.example',
    token: fakeToken(),
    client_id: fakeToken(),
    client_secret: fakeToken(),
    kind: 'app',
    scopes: ['read:statuses'],
    owner: 'team-a',
    purpose: 'test bot',
    labels: {},
    ...over,
  };
}
