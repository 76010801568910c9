/**
 * Coded errors. Every error tuskguard raises on purpose carries a stable `code` (for scripts,
 * metrics and docs) and a `hint` that tells the reader what to do next. Messages never contain
 * a raw token, client secret, pepper or master key — only fingerprints.
 */

export const ERROR_CODES = {
  CONFIG_INVALID: 'config file does not match the schema',
  CONFIG_NOT_FOUND: 'config file not found',
  SECRET_MISSING: 'a required secret is not configured',
  USAGE: 'command-line usage error',
  PARSE_FAILED: 'a log line could not be parsed',
  SOURCE_FAILED: 'a log source failed',
  STORE_UNAVAILABLE: 'the store cannot be reached',
  STORE_WRITE_FAILED: 'the store rejected a write',
  PIPELINE_SATURATED: 'the pipeline is saturated',
  VAULT_DECRYPT_FAILED: 'a vault record could not be decrypted',
  VAULT_MASTER_KEY_INVALID: 'the master key is malformed',
  KEY_NOT_FOUND: 'no managed key has that id',
  KEY_EXISTS: 'a managed key with that id already exists',
  KEY_FINGERPRINTS_STALE: 'stored key fingerprints were computed with a different pepper',
  MASTODON_UNREACHABLE: 'the Mastodon instance cannot be reached',
  MASTODON_UNAUTHORIZED: 'Mastodon rejected the token (401)',
  MASTODON_FORBIDDEN: 'Mastodon refused the request (403)',
  MASTODON_RATE_LIMITED: 'Mastodon rate limit hit (429)',
  MASTODON_ERROR: 'Mastodon answered with an error',
  MASTODON_UNEXPECTED_RESPONSE: 'Mastodon answered with a non-JSON body (possibly an IP block, or a proxy error page)',
  RULE_INVALID: 'a rule file does not match the schema',
  POLICY_INVALID: 'a policy file does not match the schema',
  ACTION_FAILED: 'a response action failed',
  AUDIT_CHAIN_BROKEN: 'the audit chain does not verify',
  REVOCATION_FAILED: 'a key could not be revoked',
  ROTATION_FAILED: 'a key rotation failed and was rolled back',
  ROTATION_BUSY: 'another rotation or revocation of the key is in progress',
  DISTRIBUTION_FAILED: 'a new key could not be delivered to a distribution target',
  CONSENT_INVALID: 'a consent link or OAuth callback is invalid or expired',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface TuskguardErrorOptions {
  /** What the reader should do next, e.g. "set TUSKGUARD_PEPPER or pepper_file". */
  hint?: string;
  cause?: unknown;
  /** Structured, secret-free details (file, path, fingerprint, status…). */
  details?: Record<string, unknown>;
}

export class TuskguardError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: TuskguardErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TuskguardError';
    this.code = code;
    this.hint = options.hint;
    this.details = options.details;
  }

  /** One line for a terminal: `error[CODE]: message (hint)`. */
  toDisplay(): string {
    return `error[${this.code}]: ${this.message}${this.hint ? `\n  hint: ${this.hint}` : ''}`;
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, hint: this.hint, details: this.details };
  }
}

export function isTuskguardError(e: unknown): e is TuskguardError {
  return e instanceof TuskguardError;
}

/** A printable message for any thrown value. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
