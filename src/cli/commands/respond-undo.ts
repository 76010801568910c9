import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { TuskguardError } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { openKeysDb } from '../../keys/db.js';
import { KeyInventory } from '../../keys/inventory.js';
import { requireKek } from '../../keys/kms.js';
import { Vault } from '../../keys/vault.js';
import { MastodonClient } from '../../mastodon/client.js';
import { AuditLog } from '../../respond/audit.js';
import { AUDIT_KEY_ENV } from '../../respond/responder.js';
import { UndoLog, undoAction, type Reversible } from '../../respond/undo.js';
import { EXIT, action, printJson, type OutputMode } from '../output.js';

/**
 * `tuskguard respond undo [ID]`: undo a reversible response action (an account suspension or
 * an IP block) with the admin key that made it; `--list` shows them. Part of `respond` (see
 * respond.ts); kept apart because it needs the vault and Mastodon, which the rest does not.
 */
interface UndoOptions {
  config?: string;
  output: OutputMode;
  list?: boolean;
  all?: boolean;
  by?: string;
}

function line(r: Reversible): string {
  const what = r.data.kind === 'suspend-account' ? `account ${r.data.account_id} (owner of ${r.data.key_id})` : `IP block ${r.data.ip} #${r.data.ip_block_id}`;
  const state = r.undoneAt !== null ? `undone by ${r.undoneBy}` : r.expiresAt !== null && r.expiresAt < Date.now() ? 'expired' : 'in force';
  return `${String(r.id).padStart(5)}  ${r.action.padEnd(15)} ${what} on ${r.instance}, ${new Date(r.createdAt).toISOString()}, ${state}`;
}

async function undo(id: string | undefined, opts: UndoOptions): Promise<number> {
  const { home } = loadConfig(opts.config);
  if (!existsSync(join(home, 'control.db'))) {
    throw new TuskguardError('USAGE', `no control database under ${home}`, { hint: 'check --config / TUSKGUARD_HOME; nothing has run here yet' });
  }
  const db = openKeysDb(home);
  try {
    const log = new UndoLog(db);
    if (opts.list || id === undefined) {
      const rows = log.list({ open: !opts.all, limit: 200 });
      if (opts.output === 'json') rows.forEach((r) => printJson(r));
      else if (rows.length === 0) process.stdout.write('no reversible actions to undo\n');
      else rows.forEach((r) => process.stdout.write(`${line(r)}\n`));
      return EXIT.OK;
    }
    const n = Number(id);
    if (!Number.isInteger(n) || n < 1) throw new TuskguardError('USAGE', 'ACTION_ID is a positive integer', { hint: 'see `tuskguard respond undo --list`' });
    const logger = createLogger({ level: process.env.TUSKGUARD_LOG_LEVEL ?? 'warn' });
    const vault = await Vault.open(db, requireKek(process.env), logger);
    const inventory = new KeyInventory(db, logger);
    const audit = new AuditLog(db, { file: join(home, 'audit.log'), anchorKey: process.env[AUDIT_KEY_ENV] ?? null, logger });
    const report = await undoAction(n, `cli:${opts.by ?? userInfo().username}`, {
      log,
      token: async (k) => (await vault.get(k, inventory.require(k).secret_version)).token,
      admin: new MastodonClient({ logger }),
      audit: (e) => audit.append(e),
    });
    if (opts.output === 'json') printJson(report);
    else process.stdout.write(`${report.message} (audited)\n`);
    return EXIT.OK;
  } finally {
    db.close();
  }
}

/** Adds `undo` under the `respond` command; `common` adds --config and --output. */
export function registerUndo(respond: Command, common: (c: Command) => Command): void {
  common(respond.command('undo').description('undo a reversible action (account suspension, IP block) with the admin key that made it (audited)'))
    .argument('[action-id]', 'id from `respond undo --list` (also in the action\'s audit record: details.result.undo_id)')
    .option('--list', 'list reversible actions not yet undone')
    .option('--all', 'with --list: include undone ones')
    .option('--by <name>', 'who decides (default: the OS user)')
    .addHelpText('after', '\nNeeds TUSKGUARD_MASTER_KEY (the admin key is read from the vault).\nExit codes: 0 undone or listed, 2 unknown or already undone id, 3 Mastodon unreachable.\n')
    .action(action(async (id: string | undefined, opts: UndoOptions) => undo(id, opts)));
}
