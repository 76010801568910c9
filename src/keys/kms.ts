import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { TuskguardError } from '../core/errors.js';

/**
 * Key-encryption keys (KEKs): what wraps the vault's per-record data keys.
 *
 * The vault never sees the master key itself, only this interface, so an external KMS (AWS KMS
 * Encrypt/Decrypt with an encryption context, HashiCorp Vault transit with `context`, …) is a
 * second implementation and nothing else changes. Wrapping is async for that reason.
 *
 * The local implementation wraps with AES-256-GCM rather than AES-KW (RFC 3394/5649): GCM
 * authenticates additional data, so the record id and key version are bound into every
 * wrapped data key and a wrapped key copied onto another record fails to unwrap. AES-KW has no
 * AAD; binding would need a second MAC. The cost of GCM — a random 96-bit IV per wrap — is
 * irrelevant at vault scale (far below the 2^32 wraps per key NIST allows for random IVs).
 */
export interface KeyEncryptionKey {
  /**
   * Stable, secret-free identifier, stored next to each wrapped data key (`local:<16 hex>` for
   * the local key; a KMS key ARN or transit key name for external ones). Two different keys
   * must never share an id; the vault compares ids to detect a wrong master key early.
   */
  readonly id: string;
  /** Encrypt a data key, binding `aad`. The result is opaque to the vault. */
  wrap(dataKey: Buffer, aad: Buffer): Promise<Buffer>;
  /**
   * Reverse of `wrap` with the same `aad`. Throws VAULT_DECRYPT_FAILED when the key is wrong,
   * the wrapped bytes were altered or `aad` differs; never returns wrong bytes.
   */
  unwrap(wrapped: Buffer, aad: Buffer): Promise<Buffer>;
}

const IV_BYTES = 12;
const TAG_BYTES = 16;
export const MASTER_KEY_BYTES = 32;

/** Local master key: AES-256-GCM, wrapped layout `iv (12) | ciphertext | tag (16)`. */
export class LocalKeyEncryptionKey implements KeyEncryptionKey {
  readonly id: string;
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== MASTER_KEY_BYTES) {
      throw new TuskguardError('VAULT_MASTER_KEY_INVALID', `the master key must be 32 bytes, got ${key.length}`, {
        hint: 'generate one with `openssl rand -hex 32`',
      });
    }
    this.#key = Buffer.from(key);
    // A one-way, domain-separated derivation: names the key without revealing anything about it.
    this.id = `local:${createHmac('sha256', this.#key).update('tuskguard kek id v1').digest('hex').slice(0, 16)}`;
  }

  async wrap(dataKey: Buffer, aad: Buffer): Promise<Buffer> {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad);
    const ct = Buffer.concat([cipher.update(dataKey), cipher.final()]);
    return Buffer.concat([iv, ct, cipher.getAuthTag()]);
  }

  async unwrap(wrapped: Buffer, aad: Buffer): Promise<Buffer> {
    if (wrapped.length <= IV_BYTES + TAG_BYTES) throw unwrapFailed(this.id);
    const iv = wrapped.subarray(0, IV_BYTES);
    const tag = wrapped.subarray(wrapped.length - TAG_BYTES);
    const ct = wrapped.subarray(IV_BYTES, wrapped.length - TAG_BYTES);
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(aad);
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(ct), decipher.final()]);
    } catch (e) {
      throw unwrapFailed(this.id, e);
    }
  }

  /** Keep the key out of console.log / util.inspect / JSON. */
  toJSON(): Record<string, string> {
    return { id: this.id };
  }
}

function unwrapFailed(kekId: string, cause?: unknown): TuskguardError {
  return new TuskguardError('VAULT_DECRYPT_FAILED', `a data key did not unwrap under master key ${kekId}`, {
    hint: 'the master key is wrong or the vault record was altered; nothing was changed',
    cause,
    details: { kek_id: kekId },
  });
}

/**
 * Decode a master key: exactly 64 hex characters, or base64 / base64url of exactly 32 bytes.
 * `source` names where it came from (an env var or file), never the value.
 */
export function parseMasterKey(text: string, source: string): Buffer {
  const value = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(value)) return Buffer.from(value, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}={0,1}$/.test(value)) {
    const bytes = Buffer.from(value.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (bytes.length === MASTER_KEY_BYTES) return bytes;
  }
  throw new TuskguardError('VAULT_MASTER_KEY_INVALID', `${source} is not a 32-byte key (64 hex characters or base64)`, {
    hint: 'generate one with `openssl rand -hex 32` and keep it outside the data directory',
    details: { source },
  });
}

export interface MasterKeyVars {
  /** Env var holding the key itself. */
  readonly value: string;
  /** Env var naming a file that holds the key. */
  readonly file: string;
}

export const MASTER_KEY_VARS: MasterKeyVars = { value: 'TUSKGUARD_MASTER_KEY', file: 'TUSKGUARD_MASTER_KEY_FILE' };
export const NEW_MASTER_KEY_VARS: MasterKeyVars = {
  value: 'TUSKGUARD_NEW_MASTER_KEY',
  file: 'TUSKGUARD_NEW_MASTER_KEY_FILE',
};

/** The local KEK from the environment, or null when neither variable is set. */
export function loadLocalKek(env: NodeJS.ProcessEnv = process.env, vars = MASTER_KEY_VARS): LocalKeyEncryptionKey | null {
  const file = env[vars.file]?.trim();
  if (file) {
    if (!existsSync(file) || !statSync(file).isFile()) {
      throw new TuskguardError('SECRET_MISSING', `master key file not found: ${file} (from ${vars.file})`, {
        hint: 'create it with `openssl rand -hex 32 > FILE && chmod 600 FILE`',
      });
    }
    return new LocalKeyEncryptionKey(parseMasterKey(readFileSync(file, 'utf8'), `${vars.file} (${file})`));
  }
  const value = env[vars.value];
  if (value === undefined || value.trim() === '') return null;
  return new LocalKeyEncryptionKey(parseMasterKey(value, vars.value));
}

/** Like loadLocalKek but a missing key is an error that says how to provide one. */
export function requireKek(env: NodeJS.ProcessEnv = process.env, vars = MASTER_KEY_VARS): KeyEncryptionKey {
  const kek = loadLocalKek(env, vars);
  if (kek) return kek;
  throw new TuskguardError('SECRET_MISSING', `no master key: set ${vars.value} or ${vars.file}`, {
    hint: `generate one with \`openssl rand -hex 32\`; set ${vars.value}=<hex> or ${vars.file}=<path>`,
  });
}
