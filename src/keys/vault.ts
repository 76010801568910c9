import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { TuskguardError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { ControlDb } from '../store/control.js';
import { KEYS_MIGRATIONS } from './db.js';
import type { KeyEncryptionKey } from './kms.js';
import { migrate } from '../store/control.js';

/**
 * The vault: AES-256-GCM envelope encryption of each key's secrets in the control DB.
 *
 * Each (record, version) gets a fresh random 256-bit data key that encrypts the secrets; the
 * data key is wrapped by the KEK (the master key, or a KMS). Both layers bind
 * `[record id, version]` as additional authenticated data, so a row's ciphertext or wrapped
 * key moved onto another row — or another version — fails to decrypt instead of returning the
 * wrong key's secrets. Only the vault and the Mastodon client ever hold a raw token.
 */

/** The three values Mastodon needs to use and revoke a token (FACTS.md §4). */
export interface KeySecrets {
  token: string;
  /** Not secret, but kept with the secrets because revocation needs all three together. */
  client_id: string;
  client_secret: string;
}

/** An encrypted row, ready to be written in the caller's transaction. */
export interface SealedRecord {
  record_id: string;
  version: number;
  alg: string;
  kek_id: string;
  wrapped_key: Buffer;
  iv: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

export interface VaultStatus {
  initialized: boolean;
  /** KEK the vault is sealed under (null before the first write). */
  kek_id: string | null;
  alg: string;
  records: number;
  /** Records per KEK id; after a complete rewrap there is exactly one. */
  records_by_kek: Record<string, number>;
  created_at: string | null;
  rewrapped_at: string | null;
}

export const ALG = 'A256GCM+A256GCM-KW';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const CANARY_AAD = Buffer.from(JSON.stringify(['tuskguard-vault', 1, 'canary']));

function aad(layer: 'data' | 'dek', recordId: string, version: number): Buffer {
  // JSON array: unambiguous even when a record id contains separators.
  return Buffer.from(JSON.stringify(['tuskguard-vault', 1, layer, recordId, version]));
}

function decryptFailed(what: string, details: Record<string, unknown>, cause?: unknown): TuskguardError {
  return new TuskguardError('VAULT_DECRYPT_FAILED', `${what} could not be decrypted`, {
    hint: 'the vault record was altered or belongs to another record; nothing was changed. Restore control.db from a backup, or re-import the key',
    cause,
    details,
  });
}

function wrongKey(current: string, sealedWith: string, cause?: unknown): TuskguardError {
  return new TuskguardError(
    'VAULT_DECRYPT_FAILED',
    `the master key (${current}) is not the key this vault is sealed with (${sealedWith})`,
    {
      hint: 'set TUSKGUARD_MASTER_KEY (or TUSKGUARD_MASTER_KEY_FILE) to the key used when the keys were imported; after `vault rewrap` use the new key. Nothing was changed',
      cause,
      details: { kek_id: current, vault_kek_id: sealedWith },
    },
  );
}

interface MetaRow {
  kek_id: string;
  canary: Buffer;
  created_at: string;
  rewrapped_at: string | null;
}

/** Read the vault's state without a master key (for `vault status`). */
export function vaultStatus(db: ControlDb): VaultStatus {
  migrate(db, 'keys', KEYS_MIGRATIONS);
  const meta = db.prepare('SELECT kek_id, created_at, rewrapped_at FROM vault_meta WHERE id = 1').get() as
    | Omit<MetaRow, 'canary'>
    | undefined;
  const rows = db.prepare('SELECT kek_id, COUNT(*) AS n FROM vault_records GROUP BY kek_id').all() as Array<{
    kek_id: string;
    n: number;
  }>;
  const byKek = Object.fromEntries(rows.map((r) => [r.kek_id, r.n]));
  return {
    initialized: meta !== undefined,
    kek_id: meta?.kek_id ?? null,
    alg: ALG,
    records: rows.reduce((s, r) => s + r.n, 0),
    records_by_kek: byKek,
    created_at: meta?.created_at ?? null,
    rewrapped_at: meta?.rewrapped_at ?? null,
  };
}

/**
 * Whether `kek` opens the vault, without writing anything (a new vault is not sealed):
 * `uninitialized` before the first write, else `match` or `mismatch`.
 */
export async function checkKek(db: ControlDb, kek: KeyEncryptionKey): Promise<'match' | 'mismatch' | 'uninitialized'> {
  migrate(db, 'keys', KEYS_MIGRATIONS);
  const meta = db.prepare('SELECT kek_id, canary FROM vault_meta WHERE id = 1').get() as MetaRow | undefined;
  if (meta === undefined) return 'uninitialized';
  if (meta.kek_id !== kek.id) return 'mismatch';
  try {
    (await kek.unwrap(meta.canary, CANARY_AAD)).fill(0);
    return 'match';
  } catch {
    return 'mismatch';
  }
}

export class Vault {
  private constructor(
    private readonly db: ControlDb,
    private kek: KeyEncryptionKey,
    private readonly logger: Logger,
  ) {}

  /**
   * Open the vault with `kek`. A new vault is sealed under it (a canary is stored); an
   * existing one must have been sealed under the same key, else VAULT_DECRYPT_FAILED is thrown
   * and nothing is written.
   */
  static async open(db: ControlDb, kek: KeyEncryptionKey, logger: Logger = silentLogger): Promise<Vault> {
    migrate(db, 'keys', KEYS_MIGRATIONS);
    const meta = db.prepare('SELECT kek_id, canary FROM vault_meta WHERE id = 1').get() as MetaRow | undefined;
    if (meta === undefined) {
      const canary = await kek.wrap(randomBytes(32), CANARY_AAD);
      db.prepare('INSERT OR IGNORE INTO vault_meta (id, kek_id, canary, created_at) VALUES (1, ?, ?, ?)').run(
        kek.id,
        canary,
        new Date().toISOString(),
      );
      logger.info({ kek_id: kek.id }, 'vault sealed under a new master key');
      return Vault.open(db, kek, logger);
    }
    if (meta.kek_id !== kek.id) throw wrongKey(kek.id, meta.kek_id);
    try {
      (await kek.unwrap(meta.canary, CANARY_AAD)).fill(0);
    } catch (e) {
      throw wrongKey(kek.id, meta.kek_id, e);
    }
    return new Vault(db, kek, logger);
  }

  get kekId(): string {
    return this.kek.id;
  }

  /** Encrypt `secrets` for (recordId, version) with a fresh data key. Writes nothing. */
  async seal(recordId: string, version: number, secrets: KeySecrets): Promise<SealedRecord> {
    const dek = randomBytes(32);
    try {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', dek, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(aad('data', recordId, version));
      const plain = Buffer.from(JSON.stringify(secrets), 'utf8');
      const ciphertext = Buffer.concat([cipher.update(plain), cipher.final()]);
      plain.fill(0);
      const wrapped_key = await this.kek.wrap(dek, aad('dek', recordId, version));
      return { record_id: recordId, version, alg: ALG, kek_id: this.kek.id, wrapped_key, iv, ciphertext, tag: cipher.getAuthTag() };
    } finally {
      dek.fill(0);
    }
  }

  /** Insert or replace a sealed row. Synchronous so callers can run it inside a transaction. */
  writeSealed(rec: SealedRecord): void {
    const now = new Date().toISOString();
    this.db
      .prepare(
        `INSERT INTO vault_records (record_id, version, alg, kek_id, wrapped_key, iv, ciphertext, tag, created_at, updated_at)
         VALUES (@record_id, @version, @alg, @kek_id, @wrapped_key, @iv, @ciphertext, @tag, @now, @now)
         ON CONFLICT (record_id, version) DO UPDATE SET alg = excluded.alg, kek_id = excluded.kek_id,
           wrapped_key = excluded.wrapped_key, iv = excluded.iv, ciphertext = excluded.ciphertext,
           tag = excluded.tag, updated_at = excluded.updated_at`,
      )
      .run({ ...rec, now });
  }

  /** Remove every version of a record except `keep` (synchronous, for transactions). */
  deleteOtherVersions(recordId: string, keep: number): void {
    this.db.prepare('DELETE FROM vault_records WHERE record_id = ? AND version <> ?').run(recordId, keep);
  }

  /** Seal and write in one step. */
  async put(recordId: string, version: number, secrets: KeySecrets): Promise<void> {
    this.writeSealed(await this.seal(recordId, version, secrets));
    this.logger.debug({ record_id: recordId, version }, 'vault record written');
  }

  has(recordId: string, version: number): boolean {
    return this.db.prepare('SELECT 1 FROM vault_records WHERE record_id = ? AND version = ?').get(recordId, version) !== undefined;
  }

  /** Decrypt (recordId, version). Throws KEY_NOT_FOUND or VAULT_DECRYPT_FAILED; never returns altered data. */
  async get(recordId: string, version: number): Promise<KeySecrets> {
    const row = this.db
      .prepare('SELECT * FROM vault_records WHERE record_id = ? AND version = ?')
      .get(recordId, version) as SealedRecord | undefined;
    if (row === undefined) {
      throw new TuskguardError('KEY_NOT_FOUND', `the vault holds no secrets for ${recordId} version ${version}`, {
        hint: 'import the key again with `tuskguard keys import FILE` or `tuskguard keys add`',
        details: { record_id: recordId, version },
      });
    }
    return this.unseal(row);
  }

  /** Decrypt a row as read from the table (also used by rewrap to prove every row is intact). */
  async unseal(row: SealedRecord): Promise<KeySecrets> {
    const details = { record_id: row.record_id, version: row.version };
    if (row.kek_id !== this.kek.id) throw wrongKey(this.kek.id, row.kek_id);
    const dek = await this.kek.unwrap(row.wrapped_key, aad('dek', row.record_id, row.version)).catch((e: unknown) => {
      throw decryptFailed(`the data key of ${row.record_id} v${row.version}`, details, e);
    });
    try {
      const decipher = createDecipheriv('aes-256-gcm', dek, row.iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(aad('data', row.record_id, row.version));
      decipher.setAuthTag(row.tag);
      const plain = Buffer.concat([decipher.update(row.ciphertext), decipher.final()]);
      const secrets = JSON.parse(plain.toString('utf8')) as KeySecrets;
      plain.fill(0);
      return secrets;
    } catch (e) {
      throw decryptFailed(`the secrets of ${row.record_id} v${row.version}`, details, e);
    } finally {
      dek.fill(0);
    }
  }

  /**
   * Re-wrap every data key under `next` and make it the vault's key. All or nothing: every row
   * is first decrypted and re-wrapped in memory (any failure aborts with nothing written), then
   * all rows and the canary are replaced in one transaction that also checks no row changed
   * meanwhile. The data keys and ciphertexts stay as they are.
   */
  async rewrap(next: KeyEncryptionKey): Promise<{ records: number; from: string; to: string }> {
    if (next.id === this.kek.id) {
      throw new TuskguardError('USAGE', `the new master key is the current one (${next.id})`, {
        hint: 'generate a new key with `openssl rand -hex 32` and pass it in TUSKGUARD_NEW_MASTER_KEY',
      });
    }
    const rows = this.db.prepare('SELECT * FROM vault_records ORDER BY record_id, version').all() as SealedRecord[];
    const updates: Array<{ row: SealedRecord; wrapped: Buffer }> = [];
    for (const row of rows) {
      await this.unseal(row); // proves the ciphertext intact before it is committed to a new key
      const dekAad = aad('dek', row.record_id, row.version);
      const dek = await this.kek.unwrap(row.wrapped_key, dekAad);
      updates.push({ row, wrapped: await next.wrap(dek, dekAad) });
      dek.fill(0);
    }
    const canary = await next.wrap(randomBytes(32), CANARY_AAD);
    const from = this.kek.id;
    this.commitRewrap(updates, next.id, canary);
    this.kek = next;
    this.logger.info({ from, to: next.id, records: rows.length }, 'vault re-wrapped under a new master key');
    return { records: rows.length, from, to: next.id };
  }

  private commitRewrap(updates: Array<{ row: SealedRecord; wrapped: Buffer }>, kekId: string, canary: Buffer): void {
    const now = new Date().toISOString();
    const update = this.db.prepare(
      `UPDATE vault_records SET kek_id = ?, wrapped_key = ?, updated_at = ?
       WHERE record_id = ? AND version = ? AND kek_id = ? AND wrapped_key = ?`,
    );
    this.db.transaction(() => {
      for (const { row, wrapped } of updates) {
        const r = update.run(kekId, wrapped, now, row.record_id, row.version, row.kek_id, row.wrapped_key);
        if (r.changes !== 1) {
          throw new TuskguardError('VAULT_DECRYPT_FAILED', `record ${row.record_id} v${row.version} changed during the rewrap`, {
            hint: 'run `tuskguard vault rewrap` again; nothing was changed',
          });
        }
      }
      const total = (this.db.prepare('SELECT COUNT(*) AS n FROM vault_records').get() as { n: number }).n;
      if (total !== updates.length) {
        throw new TuskguardError('VAULT_DECRYPT_FAILED', 'records were added during the rewrap', {
          hint: 'run `tuskguard vault rewrap` again; nothing was changed',
        });
      }
      this.db.prepare('UPDATE vault_meta SET kek_id = ?, canary = ?, rewrapped_at = ? WHERE id = 1').run(kekId, canary, now);
    })();
  }
}
