import nodemailer, { type Transporter } from 'nodemailer';
import { z } from 'zod';
import { DeliveryError, type OutboxChannel } from '../../outbox-worker.js';
import { duration } from '../../policies.js';
import { defineAction, type ActionServices } from '../../types.js';
import { enqueueAlert } from '../alert.js';
import { renderEmail, type EmailContent } from './render.js';

/**
 * notify-email: an alert email (HTML and plain text) through SMTP with nodemailer. The
 * connection URL (TUSKGUARD_SMTP_URL, e.g. smtp://user:pass@host:587) is a secret read at
 * delivery time; sender and recipients come from TUSKGUARD_ALERT_EMAIL_FROM / _TO (comma list).
 */
export const SMTP_URL_ENV = 'TUSKGUARD_SMTP_URL';
export const EMAIL_FROM_ENV = 'TUSKGUARD_ALERT_EMAIL_FROM';
export const EMAIL_TO_ENV = 'TUSKGUARD_ALERT_EMAIL_TO';

const config = z
  .object({
    type: z.literal('notify-email'),
    group_interval: duration.optional().describe('Overrides safeguards.alert_group_interval for this alert.'),
  })
  .strict();

function missingEnv(env: NodeJS.ProcessEnv): string | null {
  return [SMTP_URL_ENV, EMAIL_FROM_ENV, EMAIL_TO_ENV].find((name) => !env[name]) ?? null;
}

/** Remove the connection URL and its password from a message before it is stored or logged. */
function scrub(message: string, url: string): string {
  let out = message.split(url).join('[SMTP URL]');
  try {
    const password = decodeURIComponent(new URL(url).password);
    if (password) out = out.split(password).join('[REDACTED]');
  } catch {
    // Not a parseable URL: nothing more to remove.
  }
  return out;
}

function deliveryError(e: unknown, url: string): DeliveryError {
  const err = e as { code?: string; responseCode?: number; message?: string };
  const reason = scrub(`${err.code ?? 'error'}${err.responseCode ? ` ${err.responseCode}` : ''}: ${err.message ?? String(e)}`, url);
  // 5xx replies are permanent for that message (bad recipient, rejected content); 4xx and
  // connection failures are worth retrying. A failed login waits for a person to fix it.
  const permanent = (err.responseCode !== undefined && err.responseCode >= 500) || err.code === 'EAUTH';
  return new DeliveryError(`SMTP delivery failed (${reason})`, { permanent });
}

function channel(services: ActionServices): OutboxChannel {
  const transports = new Map<string, Transporter>();
  const transport = (url: string): Transporter => {
    let t = transports.get(url);
    if (!t) {
      t = nodemailer.createTransport({ url, connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 20_000 } as never);
      transports.set(url, t);
    }
    return t;
  };
  return {
    concurrency: 2,
    timeoutMs: 45_000,
    async deliver(job) {
      const missing = missingEnv(services.env);
      if (missing) throw new DeliveryError(`${missing} is not set`, { permanent: true });
      const url = services.env[SMTP_URL_ENV]!;
      const mail = job.payload as EmailContent;
      try {
        const info = await transport(url).sendMail({
          from: services.env[EMAIL_FROM_ENV],
          to: services.env[EMAIL_TO_ENV],
          subject: mail.subject,
          text: mail.text,
          html: mail.html,
          headers: { 'X-Tuskguard-Delivery': job.key },
        });
        return { delivered: 'email', accepted: (info.accepted ?? []).length };
      } catch (e) {
        throw deliveryError(e, url);
      }
    },
  };
}

export const notifyEmail = defineAction({
  id: 'notify-email',
  description: 'Alert by email (HTML and plain text) through SMTP.',
  impact: 'notify',
  config,
  target: () => 'email',
  async run(ctx) {
    const missing = missingEnv(ctx.services.env);
    if (!ctx.dryRun && missing) return { status: 'skipped', message: `${missing} is not set; no email alert was queued` };
    return enqueueAlert(ctx, 'notify-email', renderEmail);
  },
  channel,
  systemPayload: (view, services) => (missingEnv(services.env) ? null : renderEmail(view)),
});

export default notifyEmail;
