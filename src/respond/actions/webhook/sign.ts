import { hmacHex, safeEqual } from '../../canonical.js';

/**
 * Webhook signatures, replay-window friendly: the sender signs `<timestamp>.<body>` with
 * HMAC-SHA256 and sends
 *   X-Tuskguard-Timestamp: <unix seconds>
 *   X-Tuskguard-Signature: v1=<hex>
 *   X-Tuskguard-Delivery:  <idempotency key, stable across retries>
 * A receiver recomputes the HMAC over the raw body, rejects timestamps outside its window
 * (default ±5 minutes) and de-duplicates by the delivery key. Retries are re-signed with a
 * fresh timestamp, so a retry hours later still fits the window.
 */
export const TIMESTAMP_HEADER = 'x-tuskguard-timestamp';
export const SIGNATURE_HEADER = 'x-tuskguard-signature';
export const DELIVERY_HEADER = 'x-tuskguard-delivery';

export function signWebhook(secret: string, timestampSeconds: number, body: string): string {
  return `v1=${hmacHex(secret, `${timestampSeconds}.${body}`)}`;
}

export type SignatureCheck = { ok: true } | { ok: false; reason: 'missing' | 'stale' | 'mismatch' };

/** What a receiver does with the three headers and the raw body. */
export function verifyWebhook(
  secret: string,
  input: { timestamp: string | undefined; signature: string | undefined; body: string },
  options: { nowSeconds?: number; toleranceSeconds?: number } = {},
): SignatureCheck {
  if (!input.timestamp || !input.signature || !/^\d{1,12}$/.test(input.timestamp)) return { ok: false, reason: 'missing' };
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - Number(input.timestamp)) > (options.toleranceSeconds ?? 300)) return { ok: false, reason: 'stale' };
  const expected = signWebhook(secret, Number(input.timestamp), input.body);
  return safeEqual(expected, input.signature) ? { ok: true } : { ok: false, reason: 'mismatch' };
}
