import { IncomingWebhook, type IncomingWebhookSendArguments } from '@slack/webhook';
import { z } from 'zod';
import { DeliveryError, type OutboxChannel } from '../../outbox-worker.js';
import { duration } from '../../policies.js';
import { defineAction, type ActionServices } from '../../types.js';
import { enqueueAlert } from '../alert.js';
import { slackMessage } from './blocks.js';

/**
 * notify-slack: a Block Kit alert through a Slack incoming webhook. The webhook URL is a
 * secret: it comes from TUSKGUARD_SLACK_WEBHOOK_URL at delivery time, never from a policy,
 * and never appears in a log, an error or the outbox.
 */
export const SLACK_URL_ENV = 'TUSKGUARD_SLACK_WEBHOOK_URL';

const config = z
  .object({
    type: z.literal('notify-slack'),
    group_interval: duration.optional().describe('Overrides safeguards.alert_group_interval for this alert.'),
  })
  .strict();

/** A delivery error that names the failure, never the URL (Slack errors carry the request config). */
function deliveryError(e: unknown): DeliveryError {
  const err = e as { code?: string; original?: { code?: string; response?: { status?: number; headers?: Record<string, string> } } };
  const status = err.original?.response?.status;
  if (status !== undefined) {
    const retryAfter = Number(err.original?.response?.headers?.['retry-after']);
    if (status === 429) return new DeliveryError('Slack answered 429 (rate limited)', { retryAfterMs: Number.isFinite(retryAfter) ? retryAfter * 1000 : undefined });
    return new DeliveryError(`Slack answered HTTP ${status}`, { permanent: status >= 400 && status < 500 });
  }
  return new DeliveryError(`Slack webhook unreachable (${err.original?.code ?? err.code ?? 'request error'})`);
}

function channel(services: ActionServices): OutboxChannel {
  return {
    concurrency: 1,
    timeoutMs: 15_000,
    async deliver(job) {
      const url = services.env[SLACK_URL_ENV];
      if (!url) throw new DeliveryError(`${SLACK_URL_ENV} is not set`, { permanent: true });
      try {
        await new IncomingWebhook(url, { timeout: 10_000 }).send(job.payload as IncomingWebhookSendArguments);
      } catch (e) {
        throw deliveryError(e);
      }
      return { delivered: 'slack' };
    },
  };
}

export const notifySlack = defineAction({
  id: 'notify-slack',
  description: 'Alert a Slack channel (Block Kit) through an incoming webhook.',
  impact: 'notify',
  config,
  target: () => 'slack',
  async run(ctx) {
    if (!ctx.dryRun && !ctx.services.env[SLACK_URL_ENV]) {
      return { status: 'skipped', message: `${SLACK_URL_ENV} is not set; no Slack alert was queued` };
    }
    return enqueueAlert(ctx, 'notify-slack', slackMessage);
  },
  channel,
  systemPayload: (view, services) => (services.env[SLACK_URL_ENV] ? slackMessage(view) : null),
});

export default notifySlack;
