import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { TuskguardError } from '../../../core/errors.js';
import type { RotationConfig } from '../config.js';

/**
 * Signed, expiring consent links and the OAuth values derived from one server secret.
 *
 * - The link `<public_url>/oauth/consent?r=<rotation id>&exp=<unix s>&sig=<HMAC>` proves that
 *   tuskguard issued it for that rotation and until when; it carries nothing secret itself.
 * - The OAuth `state` and the PKCE `code_verifier` are HMACs of the rotation id and a random
 *   nonce stored with the rotation, so nothing secret is stored and a restarted tuskguard can
 *   still finish a consent that started before the restart. Only SHA-256(state) is stored, to
 *   find the rotation when the callback arrives. The verifier never leaves tuskguard except in
 *   the code exchange; the authorize URL carries its S256 challenge.
 */
export const CALLBACK_PATH = '/oauth/callback';
export const CONSENT_PATH = '/oauth/consent';

const b64url = (buf: Buffer): string => buf.toString('base64url');

export class ConsentLinks {
  readonly #secret: string;
  readonly publicUrl: string;

  constructor(secret: string, publicUrl: string) {
    if (secret.length < 32) {
      throw new TuskguardError('SECRET_MISSING', 'the consent link secret is shorter than 32 characters', {
        hint: 'generate one with `openssl rand -hex 32`',
      });
    }
    this.#secret = secret;
    this.publicUrl = publicUrl.replace(/\/+$/, '');
  }

  /** From `rotation.public_url` and the variable named by `rotation.link_secret_env`; null if either is missing. */
  static fromConfig(config: RotationConfig, env: NodeJS.ProcessEnv): ConsentLinks | null {
    const secret = env[config.link_secret_env];
    if (!config.public_url || !secret) return null;
    return new ConsentLinks(secret, config.public_url);
  }

  private mac(...parts: string[]): Buffer {
    return createHmac('sha256', this.#secret).update(JSON.stringify(['tuskguard-consent', 1, ...parts])).digest();
  }

  get callbackUrl(): string {
    return `${this.publicUrl}${CALLBACK_PATH}`;
  }

  link(rotationId: string, expiresAtMs: number): string {
    const exp = String(Math.floor(expiresAtMs / 1000));
    const q = new URLSearchParams({ r: rotationId, exp, sig: b64url(this.mac('link', rotationId, exp)) });
    return `${this.publicUrl}${CONSENT_PATH}?${q.toString()}`;
  }

  /** The rotation id of a valid, unexpired link; CONSENT_INVALID otherwise (never says which part failed). */
  verifyLink(q: { r?: unknown; exp?: unknown; sig?: unknown }, nowMs: number): string {
    const invalid = (why: string) =>
      new TuskguardError('CONSENT_INVALID', `this consent link is ${why}`, { hint: 'ask for a new one: `tuskguard keys rotate ID` sends a fresh link' });
    if (typeof q.r !== 'string' || typeof q.exp !== 'string' || typeof q.sig !== 'string' || !/^\d{1,12}$/.test(q.exp)) throw invalid('malformed');
    const want = this.mac('link', q.r, q.exp);
    const got = Buffer.from(q.sig, 'base64url');
    if (got.length !== want.length || !timingSafeEqual(got, want)) throw invalid('not valid');
    if (Number(q.exp) * 1000 <= nowMs) throw invalid('expired');
    return q.r;
  }

  state(rotationId: string, nonce: string): string {
    return b64url(this.mac('state', rotationId, nonce));
  }

  /** RFC 7636 verifier: 43 base64url characters (256 bits). */
  verifier(rotationId: string, nonce: string): string {
    return b64url(this.mac('pkce', rotationId, nonce));
  }

  static challenge(verifier: string): string {
    return b64url(createHash('sha256').update(verifier, 'ascii').digest());
  }

  static hashState(state: string): string {
    return createHash('sha256').update(state, 'utf8').digest('hex');
  }
}
