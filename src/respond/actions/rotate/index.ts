import { z } from 'zod';
import type { OutboxChannel } from '../../outbox-worker.js';
import { defineAction, type ActionServices } from '../../types.js';
import { asDeliveryError, keyServices, missingKeysMessage, requireKeyServices } from '../mastodon.js';

/**
 * rotate: start an event-triggered rotation of the finding's key (src/keys/rotation,
 * `rotateKey({trigger: 'event'})`): a new token is minted or consent is requested, verified and
 * distributed, and the old key is revoked once its fingerprint goes quiet or the grace period
 * ends (at once with `immediate: true`). A key already rotating joins its running rotation.
 *
 * The outbox job is done once the rotation has started and advanced as far as it can now; the
 * rotation itself is durable and resumed by `serve` (a reauthorize rotation waits for the
 * owner's consent). Impact `revoke`: the old key stops working, so rotations count against
 * the revocation budget and protected keys wait for approval.
 */
const config = z
  .object({
    type: z.literal('rotate'),
    immediate: z.boolean().default(false).describe('Revoke the old key as soon as the new one is out (no wait for silence).'),
    reason: z.string().min(1).max(300).optional(),
  })
  .strict();

interface RotateJob {
  key_id: string;
  reason: string;
  actor: string;
  immediate: boolean;
}

function channel(services: ActionServices): OutboxChannel {
  return {
    concurrency: 2,
    // Minting, verification and distribution targets (webhooks, Vault KV) in one go.
    timeoutMs: 120_000,
    async deliver(job) {
      const keys = requireKeyServices(services);
      const p = job.payload as RotateJob;
      try {
        const { created, rotation } = await keys.rotateKey({ keyId: p.key_id, reason: p.reason, trigger: 'event', actor: p.actor, immediate: p.immediate });
        return { rotation: rotation.id, created, state: rotation.state, strategy: rotation.strategy, new_fingerprint: rotation.new_fingerprint };
      } catch (e) {
        throw asDeliveryError(e, `rotating ${p.key_id}`);
      }
    },
  };
}

export const rotate = defineAction({
  id: 'rotate',
  description: "Rotate the finding's managed key (new token out, old one revoked after the cut-over).",
  impact: 'revoke',
  config,
  target: (finding) => finding.key,
  async run(ctx) {
    const keys = keyServices(ctx.services);
    const record = keys?.key(ctx.target) ?? null;
    if (ctx.dryRun) return { status: 'dry-run', message: `would rotate ${ctx.target}${ctx.config.immediate ? ' and revoke the old token at once' : ''}` };
    if (!keys) return { status: 'failed', message: missingKeysMessage('rotate') };
    if (!record) return { status: 'failed', message: `${ctx.target} is not in the key inventory; nothing to rotate` };
    if (record.status === 'revoked' || record.status === 'revoke-pending') {
      return { status: 'skipped', message: `${ctx.target} is ${record.status}; a revoked key cannot be rotated` };
    }
    const payload: RotateJob = {
      key_id: ctx.target,
      reason: ctx.config.reason ?? `${ctx.finding.rule} (${ctx.finding.severity}): ${ctx.finding.summary}`.slice(0, 500),
      actor: ctx.actor === 'tuskguard' ? 'responder' : ctx.actor,
      immediate: ctx.config.immediate,
    };
    const { job, created } = ctx.outbox.enqueue({ key: ctx.idempotencyKey, channel: 'rotate', payload, findingId: ctx.finding.id, target: ctx.target });
    return { status: 'queued', message: `rotation of ${ctx.target} queued (${record.rotation?.strategy ?? 'default strategy'})`, details: { job: job.id, new: created } };
  },
  channel,
});

export default rotate;
