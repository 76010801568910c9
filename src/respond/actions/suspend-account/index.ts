import { z } from 'zod';
import { DeliveryError, type OutboxChannel } from '../../outbox-worker.js';
import { defineAction, type ActionServices } from '../../types.js';
import { adminCredentials, asDeliveryError, keyServices, missingKeysMessage, requireKeyServices, type ResponseKeyServices } from '../mastodon.js';

/**
 * suspend-account: suspend the Mastodon account that owns the finding's (user) key, through
 * the admin API with the admin key the policy names (`admin_key`, a key in the inventory with
 * `admin:write:accounts` and a role holding `manage_users`). A suspension blocks every API
 * call of the owner's tokens but revokes none (FACTS §7), so pair it with `revoke`.
 *
 * The account id comes from the key's `mastodon_account_id` label, else from the key itself
 * (`accounts/verify_credentials`, which needs a live token with a read scope: list
 * suspend-account before revoke, or label the key). Reversible: the account id and the admin
 * key are recorded, and `tuskguard respond undo ID` unsuspends.
 */
export const ACCOUNT_LABEL = 'mastodon_account_id';

const keyId = z.string().regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, 'a key id from the inventory');

const config = z
  .object({
    type: z.literal('suspend-account'),
    admin_key: keyId.describe('Inventory key used for the admin API call.'),
    text: z.string().max(500).optional().describe('Note recorded with the moderation action on Mastodon.'),
    notify: z.boolean().default(false).describe("Email the account owner (Mastodon's send_email_notification)."),
  })
  .strict();

interface SuspendJob {
  key_id: string;
  admin_key: string;
  account_id: string | null;
  text: string;
  notify: boolean;
}

async function accountOf(keys: ResponseKeyServices, p: SuspendJob, instance: string): Promise<string> {
  if (p.account_id) return p.account_id;
  let account: { id: string } | null = null;
  try {
    account = (await keys.admin.verifyKey({ instance, token: await keys.token(p.key_id) })).account;
  } catch (e) {
    throw asDeliveryError(e, `finding the account that owns ${p.key_id}`);
  }
  if (!account) {
    throw new DeliveryError(`cannot tell which account owns ${p.key_id} (its token is dead or lacks a read scope); add the label ${ACCOUNT_LABEL} to the key`, { permanent: true });
  }
  return account.id;
}

function channel(services: ActionServices): OutboxChannel {
  return {
    concurrency: 2,
    timeoutMs: 30_000,
    async deliver(job) {
      const keys = requireKeyServices(services);
      const p = job.payload as SuspendJob;
      const owner = keys.key(p.key_id);
      if (!owner) throw new DeliveryError(`${p.key_id} is not in the key inventory`, { permanent: true });
      const admin = await adminCredentials(keys, p.admin_key, owner.instance);
      const accountId = await accountOf(keys, p, admin.instance);
      try {
        await keys.admin.suspendAccount({ ...admin, accountId, text: p.text, notify: p.notify });
      } catch (e) {
        throw asDeliveryError(e, `suspending account ${accountId}`);
      }
      const undoId = keys.undo.record({
        action: 'suspend-account', target: p.key_id, instance: admin.instance, adminKey: p.admin_key,
        data: { kind: 'suspend-account', account_id: accountId, key_id: p.key_id }, findingId: job.findingId, outboxKey: job.key,
      });
      return { account_id: accountId, instance: admin.instance, undo_id: undoId, undo: `tuskguard respond undo ${undoId}` };
    },
  };
}

export const suspendAccount = defineAction({
  id: 'suspend-account',
  description: "Suspend the Mastodon account that owns the finding's key (reversible: respond undo).",
  impact: 'contain',
  config,
  target: (finding) => finding.key,
  async run(ctx) {
    if (ctx.key?.kind === 'app') return { status: 'skipped', message: `${ctx.target} is an app-only token: no account to suspend` };
    if (ctx.dryRun) return { status: 'dry-run', message: `would suspend the account owning ${ctx.target} with admin key ${ctx.config.admin_key}` };
    const keys = keyServices(ctx.services);
    if (!keys) return { status: 'failed', message: missingKeysMessage('suspend-account') };
    if (!keys.key(ctx.target)) return { status: 'failed', message: `${ctx.target} is not in the key inventory` };
    if (!keys.key(ctx.config.admin_key)) return { status: 'failed', message: `admin key ${ctx.config.admin_key} (policy admin_key) is not in the key inventory` };
    const payload: SuspendJob = {
      key_id: ctx.target,
      admin_key: ctx.config.admin_key,
      account_id: ctx.key?.labels[ACCOUNT_LABEL] ?? null,
      text: ctx.config.text ?? `tuskguard: ${ctx.finding.rule} (${ctx.finding.severity}) on key ${ctx.target}, finding ${ctx.finding.id}`,
      notify: ctx.config.notify,
    };
    const { job, created } = ctx.outbox.enqueue({ key: ctx.idempotencyKey, channel: 'suspend-account', payload, findingId: ctx.finding.id, target: ctx.target });
    return { status: 'queued', message: `suspension of the account owning ${ctx.target} queued`, details: { job: job.id, new: created } };
  },
  channel,
});

export default suspendAccount;
