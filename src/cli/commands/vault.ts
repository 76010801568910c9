import type { Command } from 'commander';
import { action, configOption, outputOption, printJson, type OutputMode } from '../output.js';
import { commandContext } from '../../keys/cli/context.js';
import { openKeysDb } from '../../keys/db.js';
import { loadLocalKek, NEW_MASTER_KEY_VARS, requireKek } from '../../keys/kms.js';
import { checkKek, Vault, vaultStatus } from '../../keys/vault.js';

/** `tuskguard vault …`: the encrypted store of key secrets and its master key. */

interface Common {
  config?: string;
  output: OutputMode;
}

async function statusAction(opts: Common): Promise<number> {
  const ctx = commandContext(opts);
  const db = openKeysDb(ctx.loaded.home);
  try {
    const status = vaultStatus(db);
    const kek = loadLocalKek(ctx.env);
    const masterKey = kek === null ? 'not-set' : await checkKek(db, kek);
    const report = { ...status, master_key: masterKey, master_key_id: kek?.id ?? null };
    if (opts.output === 'json') printJson(report);
    else {
      process.stdout.write(
        [
          `vault        ${status.initialized ? `sealed under ${status.kek_id}` : 'empty (sealed on the first import)'}`,
          `algorithm    ${status.alg} (AES-256-GCM data keys, wrapped by the master key)`,
          `records      ${status.records}${Object.keys(status.records_by_kek).length > 1 ? ` ${JSON.stringify(status.records_by_kek)}` : ''}`,
          `created      ${status.created_at ?? '-'}`,
          `re-wrapped   ${status.rewrapped_at ?? 'never'}`,
          `master key   ${masterKey}${kek ? ` (${kek.id})` : ' (set TUSKGUARD_MASTER_KEY or TUSKGUARD_MASTER_KEY_FILE)'}`,
        ].join('\n') + '\n',
      );
    }
    return masterKey === 'mismatch' ? 1 : 0;
  } finally {
    db.close();
  }
}

async function rewrapAction(opts: Common): Promise<number> {
  const ctx = commandContext(opts);
  const current = requireKek(ctx.env);
  const next = requireKek(ctx.env, NEW_MASTER_KEY_VARS);
  const db = openKeysDb(ctx.loaded.home);
  try {
    const vault = await Vault.open(db, current, ctx.logger);
    const result = await vault.rewrap(next);
    if (opts.output === 'json') printJson(result);
    else {
      process.stdout.write(
        `re-wrapped ${result.records} record(s) from ${result.from} to ${result.to}\n` +
          'now set TUSKGUARD_MASTER_KEY (or _FILE) to the new key, unset TUSKGUARD_NEW_MASTER_KEY, and destroy the old key once backups no longer need it\n',
      );
    }
    return 0;
  } finally {
    db.close();
  }
}

export function register(program: Command): void {
  const vault = program.command('vault').description('the encrypted vault of key secrets');
  vault
    .command('status')
    .description('show how the vault is sealed and whether the configured master key opens it (exit 1 if not)')
    .addOption(configOption())
    .addOption(outputOption())
    .action(action(statusAction));
  vault
    .command('rewrap')
    .description('rotate the master key: re-wrap every data key under TUSKGUARD_NEW_MASTER_KEY (or _FILE), all or nothing')
    .addOption(configOption())
    .addOption(outputOption())
    .addHelpText('after', '\nNeeds both keys: TUSKGUARD_MASTER_KEY[_FILE] (current) and TUSKGUARD_NEW_MASTER_KEY[_FILE] (new).\nGenerate a key with `openssl rand -hex 32`.')
    .action(action(rewrapAction));
}
