import type { LiveStatus } from './text.js';

/**
 * `scan --verify`: ask the instance whether a found token still works. Injected, so tests and
 * the Mastodon client (src/mastodon/client.ts) can supply their own; the default asks
 * `GET /api/v1/apps/verify_credentials`, which accepts a valid token of any scope and answers
 * 401 for a dead one (FACTS.md §5), so a narrow token never looks dead.
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

export function httpVerifier(timeoutMs = 10_000): TokenVerifier {
  return async (token, instance) => {
    try {
      const res = await fetch(new URL('/api/v1/apps/verify_credentials', instance), {
        headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'error',
      });
      const body = (await res.json().catch(() => null)) as { error?: unknown } | null;
      const message = typeof body?.error === 'string' ? ` ${body.error.slice(0, 120)}` : '';
      if (res.status === 200) return { status: 'live', detail: '200 the instance accepts the token' };
      if (res.status === 401) return { status: 'dead', detail: `401${message}` };
      // 403 "Your login is currently disabled": the token is valid, its owner is suspended.
      if (res.status === 403) return { status: 'live', detail: `403${message}` };
      return { status: 'unknown', detail: `HTTP ${res.status}` };
    } catch (e) {
      return { status: 'unknown', detail: `unreachable (${(e as Error).name})` };
    }
  };
}
