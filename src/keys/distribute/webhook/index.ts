import { createHmac, randomUUID } from 'node:crypto';
import { request } from 'undici';
import { z } from 'zod';
import { timeoutMs } from '../timeout.js';
import { TuskguardError, errorMessage } from '../../../core/errors.js';
import type { Delivery, DistributionTarget } from '../types.js';

/**
 * `webhook`: POST the new key as JSON to a receiver that installs it (a deploy hook, a secrets
 * operator). The body is signed with HMAC-SHA256 under a shared secret, timestamped so a
 * captured request cannot be replayed later:
 *
 *   X-Tuskguard-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
 *
 * The receiver recomputes the HMAC over the raw body, compares in constant time and rejects
 * old timestamps. Plain http is refused except to loopback addresses (the body holds a token).
 */

export const webhookTargetSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
    type: z.literal('webhook'),
    url: z.url({ protocol: /^https?$/ }).describe('Receiver URL (https; http only to localhost).'),
    secret_env: z.string().default('TUSKGUARD_WEBHOOK_SECRET').describe('Environment variable holding the HMAC secret.'),
    include_token: z.boolean().default(true).describe('Send the token itself; false sends only the fingerprint (a "pull now" signal).'),
    timeout: z.string().regex(/^\d+(ms|s|m)$/).default('10s'),
  })
  .strict()
  .refine((t) => new URL(t.url).protocol === 'https:' || isLoopback(new URL(t.url).hostname), {
    message: 'webhook url must be https (plain http is accepted only for localhost)',
    path: ['url'],
  });
export type WebhookTargetConfig = z.infer<typeof webhookTargetSchema>;

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The signature header value for `body` at unix time `t`. */
export function signWebhook(secret: string, t: number, body: string): string {
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}

export class WebhookTarget implements DistributionTarget {
  readonly type = 'webhook';
  readonly id: string;

  constructor(
    private readonly config: WebhookTargetConfig,
    private readonly env: NodeJS.ProcessEnv = process.env,
    private readonly now: () => number = Date.now,
  ) {
    this.id = config.id;
  }

  private fail(message: string, delivery: Delivery, extra: Record<string, unknown> = {}): TuskguardError {
    return new TuskguardError('DISTRIBUTION_FAILED', `webhook ${this.id}: ${message}`, {
      hint: 'check that the receiver is up, verifies the signature with the same secret, and answers 2xx',
      details: { target: this.id, type: this.type, fingerprint: delivery.fingerprint, ...extra },
    });
  }

  async deliver(delivery: Delivery): Promise<Record<string, unknown>> {
    const secret = this.env[this.config.secret_env];
    if (!secret || secret.length < 16) throw this.fail(`${this.config.secret_env} is not set or shorter than 16 characters`, delivery);
    const id = randomUUID();
    const body = JSON.stringify({
      type: delivery.reason === 'rollback' ? 'tuskguard.key.restored' : 'tuskguard.key.rotated',
      delivery_id: id,
      key_id: delivery.keyId,
      instance: delivery.instance,
      fingerprint: delivery.fingerprint,
      scopes: delivery.scopes,
      rotated_at: delivery.rotatedAt,
      ...(this.config.include_token ? { token: delivery.secrets.token, client_id: delivery.secrets.client_id } : {}),
    });
    const t = Math.floor(this.now() / 1000);
    const ms = timeoutMs(this.config.timeout);
    let status: number;
    try {
      const res = await request(this.config.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-tuskguard-signature': signWebhook(secret, t, body), 'x-tuskguard-delivery': id },
        body,
        headersTimeout: ms,
        bodyTimeout: ms,
      });
      status = res.statusCode;
      await res.body.dump();
    } catch (e) {
      throw this.fail(`POST failed: ${errorMessage(e)}`, delivery, { reason: 'unreachable' });
    }
    if (status < 200 || status > 299) throw this.fail(`receiver answered ${status}`, delivery, { status });
    return { url: this.config.url, status, delivery_id: id };
  }
}
