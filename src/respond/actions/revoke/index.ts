import { z } from 'zod';
import { REVOKE_RETRY_CHANNEL } from '../../../keys/revocation/retry.js';
import type { Outbox } from '../../outbox.js';
import { DeliveryError, type OutboxChannel } from '../../outbox-worker.js';
import { defineAction, type ActionResult, type ActionServices } from '../../types.js';
import { asDeliveryError, keyServices, missingKeysMessage, requireKeyServices } from '../mastodon.js';

/**
 * revoke: the finding's managed key is revoked through the key revocation service (vault →
 * RFC 7009 revocation with the issuing app's credentials → `/oauth/token/info` must answer
 * 401). The call rides the outbox: while Mastodon is unreachable or has not yet confirmed the
 * 401 the job stays pending and is retried with backoff (the key is `revoke-pending`), and a
 * restart resumes it. The job's result, the `revoke.delivered` record and the service's own
 * `key.revoke` record in the audit chain carry the verification (status 401, confirmed).
 *
 * Impact `revoke`: automatic revocations count against the revocation budget, protected keys
 * (admin:* scopes, the `protected` label) wait for a person's approval.
 *
 * One job per pending revocation: when a `keys-revoke-retry` job (queued by `keys revoke` or an
 * aborted rotation, src/keys/revocation/retry.ts) already holds the key's revocation, the action
 * queues none of its own and answers `skipped` (see heldByRetry).
 */
const config = z
  .object({
    type: z.literal('revoke'),
    reason: z.string().min(1).max(300).optional().describe('Recorded with the revocation (default: the rule and the finding).'),
  })
  .strict();

/** The outbox payload: ids and words only; the vault is read at delivery time. */
interface RevokeJob {
  key_id: string;
  reason: string;
  actor: string;
  finding_id: string;
}

/**
 * `skipped`, not `queued`, when a live `keys-revoke-retry` job of the key already holds its
 * pending revocation, else null. A second job would call Mastodon on each of its own retries
 * and announce a second time. `skipped` because this action queued nothing: the dispatcher then
 * starts no cooldown, so a later finding can still queue a job once that one is done or dead.
 */
function heldByRetry(outbox: Outbox, keyId: string, fingerprint: string): ActionResult | null {
  const live = outbox.liveJob(REVOKE_RETRY_CHANNEL, keyId);
  if (!live) return null;
  return {
    status: 'skipped',
    message: `revocation of ${keyId} (fingerprint ${fingerprint}) is already being retried by job ${live.id} (queued by \`keys revoke\` or a rotation) and will complete there; no second job queued`,
    details: { job: live.id, channel: REVOKE_RETRY_CHANNEL, job_status: live.status, queued: false, fingerprint },
  };
}

function channel(services: ActionServices): OutboxChannel {
  return {
    concurrency: 4,
    // Revocation + confirmation are two Mastodon calls of at most 10 s each, plus the vault.
    timeoutMs: 30_000,
    async deliver(job) {
      const keys = requireKeyServices(services);
      const p = job.payload as RevokeJob;
      let report;
      try {
        report = await keys.revokeKey({ keyId: p.key_id, reason: p.reason, actor: p.actor, findingId: p.finding_id });
      } catch (e) {
        throw asDeliveryError(e, `revoking ${p.key_id}`);
      }
      const result = { key_id: report.key_id, fingerprint: report.fingerprint, outcome: report.outcome, revocation_id: report.revocation_id, verification: report.verification };
      if (report.outcome === 'revoked' || report.outcome === 'already-revoked') return result;
      // The last attempt: the job dies now, so this is the only place people can hear of it.
      if (report.outcome === 'pending' && job.attempts >= job.maxAttempts) await keys.revocationGivenUp?.(report, job.attempts);
      // pending: Mastodon unreachable or the 401 not yet seen → retry; failed: the app's credentials were refused.
      throw new DeliveryError(report.message, { permanent: report.outcome === 'failed' });
    },
  };
}

export const revoke = defineAction({
  id: 'revoke',
  description: "Revoke the finding's managed key on Mastodon and confirm that it answers 401.",
  impact: 'revoke',
  config,
  target: (finding) => finding.key,
  async run(ctx) {
    const keys = keyServices(ctx.services);
    const record = keys?.key(ctx.target) ?? null;
    if (ctx.dryRun) return { status: 'dry-run', message: `would revoke ${ctx.target}${record ? ` (${record.status})` : ''} and confirm the 401` };
    if (!keys) return { status: 'failed', message: missingKeysMessage('revoke') };
    if (!record) return { status: 'failed', message: `${ctx.target} is not in the key inventory; nothing to revoke` };
    if (record.status === 'revoked') return { status: 'skipped', message: `${ctx.target} is already revoked (since ${record.status_changed_at})` };
    const held = heldByRetry(ctx.outbox, ctx.target, record.fingerprint);
    if (held) return held;
    const payload: RevokeJob = {
      key_id: ctx.target,
      reason: ctx.config.reason ?? `${ctx.finding.rule} (${ctx.finding.severity}): ${ctx.finding.summary}`.slice(0, 500),
      actor: ctx.actor === 'tuskguard' ? 'responder' : ctx.actor,
      finding_id: ctx.finding.id,
    };
    // A revocation outlasts an outage: it is retried as long as the config's revocation policy says.
    const { job, created } = ctx.outbox.enqueue({ key: ctx.idempotencyKey, channel: 'revoke', payload, findingId: ctx.finding.id, target: ctx.target, maxAttempts: keys.revokeAttempts });
    return {
      status: 'queued',
      message: `revocation of ${ctx.target} (fingerprint ${record.fingerprint}) queued; done once Mastodon answers 401 for its token`,
      details: { job: job.id, new: created, fingerprint: record.fingerprint },
    };
  },
  channel,
});

export default revoke;
