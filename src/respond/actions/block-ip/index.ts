import { isIP } from 'node:net';
import { z } from 'zod';
import { durationMs } from '../../../config/schema.js';
import type { Finding } from '../../../core/finding.js';
import type { OutboxChannel } from '../../outbox-worker.js';
import { duration } from '../../policies.js';
import { defineAction, type ActionServices } from '../../types.js';
import { adminCredentials, asDeliveryError, keyServices, missingKeysMessage, requireKeyServices } from '../mastodon.js';

/**
 * block-ip: a Mastodon IP block (admin API, `admin_key` from the inventory with
 * `admin:write:ip_blocks` and a role holding `manage_blocks`) for the finding's source address
 * or network, with an expiry (Mastodon purges expired blocks itself). `no_access` refuses every
 * Rails request from the range (FACTS §7; the streaming server does not check blocks).
 *
 * Reversible: the block id is recorded and `tuskguard respond undo ID` deletes it. Ranges wider
 * than /16 (IPv4) or /32 (IPv6) and loopback addresses are refused: one finding must not cut
 * off a whole provider, and a loopback source means the proxy's address is being logged.
 */
const FIELDS = ['source.ip', 'source.network'] as const;
const MIN_PREFIX = { 4: 16, 6: 32 } as const;

const config = z
  .object({
    type: z.literal('block-ip'),
    admin_key: z.string().regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, 'a key id from the inventory').describe('Inventory key used for the admin API call.'),
    field: z.enum(FIELDS).optional().describe("Group field naming what to block (default: source.ip, else source.network)."),
    severity: z.enum(['no_access', 'sign_up_block', 'sign_up_requires_approval']).default('no_access'),
    expires_in: duration.default('1d').describe('The block lapses after this.'),
    comment: z.string().max(300).optional(),
  })
  .strict();
type BlockConfig = z.infer<typeof config>;

interface BlockJob {
  cidr: string;
  admin_key: string;
  severity: BlockConfig['severity'];
  expires_in_s: number;
  comment: string;
}

/** `a.b.c.d` → `a.b.c.d/32`; a CIDR is checked; null for anything else or a refused range. */
export function blockRange(value: string): { cidr: string } | { refused: string } | null {
  const [addr = '', prefixText, extra] = value.trim().split('/');
  const version = isIP(addr);
  if (extra !== undefined || (version !== 4 && version !== 6)) return null;
  const max = version === 4 ? 32 : 128;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return null;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (prefix > max) return null;
  if (prefix < MIN_PREFIX[version]) return { refused: `${value} is wider than /${MIN_PREFIX[version]}` };
  if ((version === 4 && addr.startsWith('127.')) || addr === '::1') return { refused: `${value} is a loopback address (is the proxy's own address being logged?)` };
  return { cidr: `${addr}/${prefix}` };
}

function targetOf(finding: Finding, cfg: BlockConfig): string | null {
  const fields = cfg.field ? [cfg.field] : FIELDS;
  for (const f of fields) {
    const v = finding.group[f];
    if (v !== undefined && v !== '') return v;
  }
  return null;
}

function channel(services: ActionServices): OutboxChannel {
  return {
    concurrency: 2,
    timeoutMs: 30_000,
    async deliver(job) {
      const keys = requireKeyServices(services);
      const p = job.payload as BlockJob;
      const admin = await adminCredentials(keys, p.admin_key, null);
      let block;
      try {
        block = await keys.admin.createIpBlock({ ...admin, ip: p.cidr, severity: p.severity, comment: p.comment, expiresInSeconds: p.expires_in_s });
      } catch (e) {
        // A retry after a lost answer finds its own block: Mastodon refuses a second one for the range (422).
        const existing = (e as { details?: { status?: number } }).details?.status === 422
          ? (await keys.admin.listIpBlocks({ ...admin, limit: 200 }).catch(() => [])).find((b) => b.ip === p.cidr)
          : undefined;
        if (!existing) throw asDeliveryError(e, `blocking ${p.cidr}`);
        block = existing;
      }
      const undoId = keys.undo.record({
        action: 'block-ip', target: p.cidr, instance: admin.instance, adminKey: p.admin_key, findingId: job.findingId, outboxKey: job.key,
        data: { kind: 'block-ip', ip_block_id: block.id, ip: block.ip, severity: block.severity },
        expiresAt: block.expiresAt ? Date.parse(block.expiresAt) : null,
      });
      return { ip_block_id: block.id, ip: block.ip, severity: block.severity, expires_at: block.expiresAt, instance: admin.instance, undo_id: undoId, undo: `tuskguard respond undo ${undoId}` };
    },
  };
}

export const blockIp = defineAction({
  id: 'block-ip',
  description: "Block the finding's source address or network on Mastodon, with an expiry (reversible: respond undo).",
  impact: 'contain',
  config,
  target: targetOf,
  async run(ctx) {
    const range = blockRange(ctx.target);
    if (range === null) return { status: 'skipped', message: `${ctx.target} is not an IP address or CIDR range` };
    if ('refused' in range) return { status: 'skipped', message: `not blocked: ${range.refused}` };
    const what = `${range.cidr} (${ctx.config.severity}, expires in ${ctx.config.expires_in})`;
    if (ctx.dryRun) return { status: 'dry-run', message: `would block ${what} with admin key ${ctx.config.admin_key}` };
    const keys = keyServices(ctx.services);
    if (!keys) return { status: 'failed', message: missingKeysMessage('block-ip') };
    if (!keys.key(ctx.config.admin_key)) return { status: 'failed', message: `admin key ${ctx.config.admin_key} (policy admin_key) is not in the key inventory` };
    const payload: BlockJob = {
      cidr: range.cidr,
      admin_key: ctx.config.admin_key,
      severity: ctx.config.severity,
      expires_in_s: Math.round(durationMs(ctx.config.expires_in) / 1000),
      comment: ctx.config.comment ?? `tuskguard: ${ctx.finding.rule} (${ctx.finding.severity}), finding ${ctx.finding.id}`,
    };
    const { job, created } = ctx.outbox.enqueue({ key: ctx.idempotencyKey, channel: 'block-ip', payload, findingId: ctx.finding.id, target: ctx.target });
    return { status: 'queued', message: `IP block of ${what} queued`, details: { job: job.id, new: created } };
  },
  channel,
});

export default blockIp;
