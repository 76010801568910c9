import { Option, type Command } from 'commander';
import { action, configOption, EXIT, outputOption, printJson, type OutputMode } from '../../cli/output.js';
import { TuskguardError } from '../../core/errors.js';
import { isEmptySelector, parseLabel, revokeMany, selectKeys, type KeySelector } from '../revocation/select.js';
import type { RevokeReport } from '../revocation/service.js';
import type { KeyRecord } from '../schema.js';
import { table } from '../view.js';
import { commandContext } from './context.js';
import { cliActor, withLifecycle } from './lifecycle.js';

/**
 * `tuskguard keys revoke ID --reason TEXT` and the panic button
 * `tuskguard keys revoke --owner X | --app CLIENT_ID | --instance URL | --label k=v --reason TEXT [--yes]`.
 * A bulk revocation first lists what it would revoke and does nothing without --yes.
 * Exit codes: 0 all revoked (or already revoked, or a dry run); 1 a revocation failed (the
 * token is still live); 3 Mastodon unreachable (revoke-pending: `serve` retries).
 */
interface RevokeFlags {
  reason?: string;
  owner?: string;
  app?: string;
  instance?: string;
  label: string[];
  yes?: boolean;
  actor?: string;
  config?: string;
  output: OutputMode;
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerRevokeCommand(keys: Command): void {
  keys
    .command('revoke')
    .description('revoke a key on its instance and confirm the 401; or every key of an owner, app, instance or label')
    .argument('[id]', 'key id (omit for a bulk revocation by --owner/--app/--instance/--label)')
    .addOption(new Option('--reason <text>', 'why (recorded with the revocation and in the audit chain)').makeOptionMandatory())
    .option('--owner <owner>', 'bulk: every key of this owner')
    .option('--app <client_id>', 'bulk: every key issued by this app')
    .option('--instance <url>', 'bulk: every key on this instance')
    .option('--label <name=value>', 'bulk: keys with this label (repeatable; all must match)', collect, [])
    .option('--yes', 'bulk: really revoke (without it the matching keys are only listed)')
    .option('--actor <name>', 'who asks (default cli:<login>)')
    .addOption(configOption())
    .addOption(outputOption())
    .addHelpText('after', '\nExit codes: 0 revoked / already revoked / dry run, 1 a revocation failed, 3 Mastodon unreachable (the key is revoke-pending and `tuskguard serve` retries).\nExamples:\n  tuskguard keys revoke posting-bot --reason "token in a public gist"\n  tuskguard keys revoke --label team=payments --reason "laptop stolen"          # lists\n  tuskguard keys revoke --label team=payments --reason "laptop stolen" --yes    # revokes')
    .action(action(async (id: string | undefined, flags: RevokeFlags) => revokeAction(id, flags)));
}

function selectorOf(flags: RevokeFlags): KeySelector {
  return { owner: flags.owner, app: flags.app, instance: flags.instance, labels: Object.fromEntries(flags.label.map(parseLabel)) };
}

async function revokeAction(id: string | undefined, flags: RevokeFlags): Promise<number> {
  const selector = selectorOf(flags);
  if (id !== undefined && !isEmptySelector(selector)) {
    throw new TuskguardError('USAGE', 'give either a key id or bulk criteria (--owner/--app/--instance/--label), not both', { hint: 'see `tuskguard keys revoke --help`' });
  }
  const ctx = commandContext(flags);
  const actor = cliActor(flags.actor);
  const reason = flags.reason!;
  return withLifecycle(ctx, async (lc) => {
    if (id !== undefined) return report([await lc.revocations.revokeKey({ keyId: id, reason, actor })], flags.output);
    const keys = await selectKeys(lc.revocations.inventory, lc.rotations.core.vault, selector);
    if (!flags.yes) return dryRun(keys, flags.output);
    return report(await revokeMany(lc.revocations, keys, reason, actor), flags.output);
  });
}

function dryRun(keys: readonly KeyRecord[], output: OutputMode): number {
  const rows = keys.map((k) => ({ id: k.id, fingerprint: k.fingerprint, status: k.status, owner: k.owner, instance: k.instance }));
  if (output === 'json') {
    printJson({ dry_run: true, keys: rows });
    return EXIT.OK;
  }
  if (rows.length === 0) {
    process.stdout.write('no managed key matches; nothing would be revoked\n');
    return EXIT.OK;
  }
  process.stdout.write(`${table(['ID', 'STATUS', 'OWNER', 'INSTANCE', 'FINGERPRINT'], rows.map((r) => [r.id, r.status, r.owner, r.instance, r.fingerprint]))}\n`);
  process.stdout.write(`dry run: ${rows.length} key(s) would be revoked; run again with --yes to revoke them\n`);
  return EXIT.OK;
}

function report(reports: readonly RevokeReport[], output: OutputMode): number {
  const code = reports.some((r) => r.outcome === 'failed') ? EXIT.FOUND : reports.some((r) => r.outcome === 'pending') ? EXIT.UNAVAILABLE : EXIT.OK;
  if (output === 'json') {
    printJson({ results: reports });
    return code;
  }
  process.stdout.write(`${table(['ID', 'OUTCOME', 'FINGERPRINT', 'VERIFIED'], reports.map((r) => [r.key_id, r.outcome, r.fingerprint, verified(r)]))}\n`);
  for (const r of reports) process.stdout.write(`${r.message}${r.error?.hint ? `\n  hint: ${r.error.hint}` : ''}\n`);
  return code;
}

function verified(r: RevokeReport): string {
  const tokens = r.verification?.tokens ?? [];
  if (tokens.length === 0) return '-';
  return tokens.every((t) => t.confirmed) ? `401 (${r.verification!.method})` : 'not yet';
}
