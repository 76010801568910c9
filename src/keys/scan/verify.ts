import type { LiveStatus } from './text.js';

/**
 * `scan --verify`: ask the instance whether a found token still works. Injected, so tests and
 * the CLI use the Mastodon client (`clientVerifier`), whose checks accept a valid token of any
 * scope and answer 401 for a dead one (FACTS.md §5), so a narrow token never looks dead.
 */
export interface VerifyResult {
  status: LiveStatus;
  /** Secret-free explanation (`401 The access token was revoked`, `unreachable`, …). */
  detail: string;
}

export type TokenVerifier = (token: string, instance: string) => Promise<VerifyResult>;

/**
 * Where an unmanaged token may be sent: https only (plain http only to loopback, for local
 * test instances). A managed key's instance comes from the inventory and is trusted.
 */
export function verifiableInstance(instance: string | null, managed: boolean): string | null {
  if (instance === null) return null;
  let url: URL;
  try {
    url = new URL(instance);
  } catch {
    return null;
  }
  if (managed || url.protocol === 'https:') return url.origin;
  return url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname) ? url.origin : null;
}

/** The subset of MastodonClient (src/mastodon/client.ts) a verifier needs. */
export interface KeyVerifierClient {
  verifyKey(input: { instance: string; token: string }): Promise<{ live: boolean; status: string; scopes: readonly string[] }>;
}

/**
 * A verifier on the Mastodon client: `/oauth/token/info`, then `apps/verify_credentials`
 * (FACTS.md §5). Errors (unreachable, throttled, a proxy page) become `unknown` with the error
 * code — never a guess in either direction.
 */
export function clientVerifier(client: KeyVerifierClient): TokenVerifier {
  return async (token, instance) => {
    try {
      const v = await client.verifyKey({ instance, token });
      if (!v.live) return { status: 'dead', detail: v.status };
      const scopes = v.scopes.length ? ` (scopes ${v.scopes.join(' ')})` : '';
      return { status: 'live', detail: v.status === 'live' ? `live${scopes}` : `live token, owner ${v.status}` };
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      return { status: 'unknown', detail: typeof code === 'string' ? code : 'verification failed' };
    }
  };
}
