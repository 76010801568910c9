import { createHmac } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { TuskguardError } from './errors.js';

/**
 * The key fingerprint (formats/LOG-FORMAT.md): the first 32 hex characters of
 * HMAC-SHA256(key = pepper, message = token), both UTF-8. The njs module in nginx/ computes
 * the same value, so proxy logs name a key without ever holding it.
 */
export type Fingerprinter = (token: string) => string;

export function fingerprint(pepper: string, token: string): string {
  return createHmac('sha256', pepper).update(token, 'utf8').digest('hex').slice(0, 32);
}

export function createFingerprinter(pepper: string): Fingerprinter {
  // The HMAC key schedule is per call; Node has no reusable keyed context, so bind the pepper.
  return (token) => fingerprint(pepper, token);
}

export const FINGERPRINT_RE = /^[0-9a-f]{32}$/;

/**
 * The pepper from TUSKGUARD_PEPPER, or the file named by `pepper_file` / TUSKGUARD_PEPPER_FILE.
 * Returns null when none is configured; callers that need one raise SECRET_MISSING.
 */
export function loadPepper(pepperFile: string | undefined, env: NodeJS.ProcessEnv = process.env): string | null {
  const file = pepperFile ?? env.TUSKGUARD_PEPPER_FILE;
  if (file) {
    if (!existsSync(file)) {
      throw new TuskguardError('SECRET_MISSING', `pepper file not found: ${file}`, {
        hint: 'create it with e.g. `openssl rand -hex 32 > FILE` and share it with the nginx njs module',
      });
    }
    const value = readFileSync(file, 'utf8').trim();
    if (value.length < 16) {
      throw new TuskguardError('SECRET_MISSING', `pepper in ${file} is shorter than 16 characters`, {
        hint: 'use at least 32 random bytes, e.g. `openssl rand -hex 32`',
      });
    }
    return value;
  }
  const value = env.TUSKGUARD_PEPPER?.trim();
  return value ? value : null;
}

export function requirePepper(pepperFile: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const pepper = loadPepper(pepperFile, env);
  if (pepper === null) {
    throw new TuskguardError('SECRET_MISSING', 'no fingerprint pepper is configured', {
      hint: 'set TUSKGUARD_PEPPER, or pepper_file in tuskguard.yaml (the same secret the nginx njs module uses)',
    });
  }
  return pepper;
}
