/**
 * Name of an app registered for a new key: `<prefix> <key id> <yyyy-mm-dd>`, at most 60
 * characters (Mastodon's limit on `client_name`), so the owner recognises it in Settings →
 * Authorized apps.
 */
export function newAppName(prefix: string, keyId: string, nowMs: number): string {
  const date = new Date(nowMs).toISOString().slice(0, 10);
  const room = 60 - prefix.length - date.length - 2;
  return `${prefix} ${keyId.slice(0, Math.max(1, room))} ${date}`.slice(0, 60);
}

export const OOB_REDIRECT = 'urn:ietf:wg:oauth:2.0:oob';
