import { request } from 'undici';
import { z } from 'zod';
import { DeliveryError, type OutboxChannel } from '../../outbox-worker.js';
import { duration } from '../../policies.js';
import { defineAction, type ActionServices } from '../../types.js';
import { enqueueAlert, type AlertView } from '../alert.js';
import { DELIVERY_HEADER, SIGNATURE_HEADER, signWebhook, TIMESTAMP_HEADER } from './sign.js';

/**
 * webhook: the alert as HMAC-signed JSON POSTed to a receiver (SOAR, chat bridge, ticketing).
 * The signing secret comes from the environment variable the policy names (`secret_env`), the
 * URL from the policy or, when it embeds a credential, from `url_env`. Approval links are
 * bearer credentials, so they are sent only when `include_approval_links` is true.
 */
const envName = z.string().regex(/^[A-Z_][A-Z0-9_]{0,100}$/, 'an environment variable name such as TUSKGUARD_WEBHOOK_SECRET');

const config = z
  .object({
    type: z.literal('webhook'),
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/).describe('Names this receiver in the audit chain and idempotency keys.'),
    url: z.url({ protocol: /^https?$/ }).optional().describe('Receiver URL (use url_env instead if it embeds a credential).'),
    url_env: envName.optional().describe('Environment variable holding the receiver URL.'),
    secret_env: envName.describe('Environment variable holding the HMAC signing secret.'),
    include_approval_links: z.boolean().default(false),
    group_interval: duration.optional(),
  })
  .strict()
  .refine((c) => (c.url === undefined) !== (c.url_env === undefined), { message: 'give exactly one of url and url_env' });
type WebhookConfig = z.infer<typeof config>;

/** What the outbox holds: where to send and which secret to sign with, never the secret. */
interface WebhookJob {
  name: string;
  url?: string | undefined;
  url_env?: string | undefined;
  secret_env: string;
  body: string;
}

function resolve(job: WebhookJob, env: NodeJS.ProcessEnv): { url: string; secret: string } {
  const url = job.url ?? env[job.url_env ?? ''];
  const secret = env[job.secret_env];
  if (!url) throw new DeliveryError(`${job.url_env} is not set (webhook ${job.name})`, { permanent: true });
  if (!secret) throw new DeliveryError(`${job.secret_env} is not set (webhook ${job.name})`, { permanent: true });
  return { url, secret };
}

function statusError(name: string, status: number, retryAfter: unknown): DeliveryError {
  if (status === 429 || status === 408) {
    const s = Number(retryAfter);
    return new DeliveryError(`webhook ${name} answered HTTP ${status}`, { retryAfterMs: Number.isFinite(s) ? s * 1000 : undefined });
  }
  return new DeliveryError(`webhook ${name} answered HTTP ${status}`, { permanent: status >= 400 && status < 500 });
}

function channel(services: ActionServices): OutboxChannel {
  return {
    concurrency: 4,
    timeoutMs: 15_000,
    async deliver(outboxJob, signal) {
      const job = outboxJob.payload as WebhookJob;
      const { url, secret } = resolve(job, services.env);
      const ts = Math.floor(Date.now() / 1000);
      let res;
      try {
        res = await request(url, {
          method: 'POST',
          body: job.body,
          signal,
          headersTimeout: 10_000,
          bodyTimeout: 10_000,
          headers: {
            'content-type': 'application/json',
            [TIMESTAMP_HEADER]: String(ts),
            [SIGNATURE_HEADER]: signWebhook(secret, ts, job.body),
            [DELIVERY_HEADER]: outboxJob.key,
          },
        });
      } catch (e) {
        throw new DeliveryError(`webhook ${job.name} unreachable (${(e as { code?: string }).code ?? 'request error'})`);
      }
      await res.body.dump();
      if (res.statusCode >= 300) throw statusError(job.name, res.statusCode, res.headers['retry-after']);
      return { delivered: 'webhook', status: res.statusCode };
    },
  };
}

function body(view: AlertView, cfg: WebhookConfig, id: string, finding: unknown): string {
  const alert = cfg.include_approval_links ? view : { ...view, approval: view.approval ? { id: view.approval.id, expiresAt: view.approval.expiresAt } : null };
  return JSON.stringify({ id, version: 1, type: 'tuskguard.alert', alert, finding });
}

export const webhook = defineAction({
  id: 'webhook',
  description: 'POST the alert as HMAC-SHA256-signed JSON to a receiver.',
  impact: 'notify',
  config,
  target: (_finding, cfg) => `webhook:${cfg.name}`,
  async run(ctx) {
    const cfg = ctx.config;
    const missing = [cfg.secret_env, cfg.url_env].find((n) => n !== undefined && !ctx.services.env[n]);
    if (!ctx.dryRun && missing) return { status: 'failed', message: `${missing} is not set; webhook ${cfg.name} was not queued` };
    return enqueueAlert(ctx, 'webhook', (view): WebhookJob => ({
      name: cfg.name,
      url: cfg.url,
      url_env: cfg.url_env,
      secret_env: cfg.secret_env,
      body: body(view, cfg, ctx.idempotencyKey, view.kind === 'finding' ? ctx.finding : null),
    }), ctx.target);
  },
  channel,
});

export default webhook;
