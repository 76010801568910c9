import type { Command } from 'commander';
import { action, configOption, EXIT, outputOption, printJson, type OutputMode } from '../../cli/output.js';
import type { RotationView } from '../rotation/view.js';
import { table } from '../view.js';
import { commandContext } from './context.js';
import { cliActor, withLifecycle } from './lifecycle.js';

/**
 * `tuskguard keys rotate ID [--now]` and `tuskguard keys rotation status [ID]`.
 * `rotate` starts a rotation (or continues the key's running one) and drives it as far as it
 * goes now: usually until the cut-over wait, which `tuskguard serve` finishes (or run `rotate`
 * again later). Exit codes: 0 in progress or completed; 1 rolled back or failed.
 */
interface Flags {
  config?: string;
  output: OutputMode;
}

const FAILED = new Set(['rolled-back', 'failed', 'aborted', 'rolling-back']);

export function registerRotateCommands(keys: Command): void {
  keys
    .command('rotate')
    .description('rotate a key with its strategy: new token, verify, distribute, revoke the old one once unused')
    .argument('<id>', 'key id')
    .option('--now', 'revoke the old key as soon as the new one is out (skip the wait for its fingerprint to go quiet)')
    .option('--reason <text>', 'why (recorded)', 'manual rotation')
    .option('--actor <name>', 'who asks (default cli:<login>)')
    .addOption(configOption())
    .addOption(outputOption())
    .addHelpText('after', '\nStrategies (rotation.strategy in the inventory): client_credentials (app tokens, automatic),\nreauthorize (the owner gets a consent link), command (rotation.keys.<id>.command in tuskguard.yaml).\nExit codes: 0 in progress or completed, 1 rolled back or failed (the current key stays active), 2 usage.')
    .action(action(async (id: string, flags: Flags & { now?: boolean; reason: string; actor?: string }) => {
      const ctx = commandContext(flags);
      const { created, rotation } = await withLifecycle(
        ctx,
        (lc) => lc.rotations.rotateKey({ keyId: id, reason: flags.reason, trigger: 'manual', actor: cliActor(flags.actor), immediate: flags.now === true }),
        { events: true },
      );
      if (flags.output === 'json') printJson({ created, rotation });
      else process.stdout.write(`${created ? 'started' : 'continued'} rotation ${rotation.id} of ${rotation.key_id}\n${describe(rotation)}\n`);
      return FAILED.has(rotation.state) ? EXIT.FOUND : EXIT.OK;
    }));

  keys
    .command('rotation')
    .description('key rotations')
    .command('status')
    .description('rotations (newest first): state, fingerprints, targets done, cut-over deadline')
    .argument('[id]', 'only this key')
    .addOption(configOption())
    .addOption(outputOption())
    .action(action(async (id: string | undefined, flags: Flags) => {
      const rotations = await withLifecycle(commandContext(flags), async (lc) => lc.rotations.status(id));
      if (flags.output === 'json') printJson({ rotations });
      else if (rotations.length === 0) process.stdout.write('no rotations yet (start one with `tuskguard keys rotate ID`)\n');
      else process.stdout.write(`${statusTable(rotations)}\n`);
      return EXIT.OK;
    }));
}

function statusTable(rows: readonly RotationView[]): string {
  return table(
    ['KEY', 'STATE', 'STRATEGY', 'TRIGGER', 'OLD', 'NEW', 'TARGETS', 'DEADLINE', 'STARTED'],
    rows.map((r) => [r.key_id, r.state, r.strategy, r.trigger, r.old_fingerprint, r.new_fingerprint ?? '-', r.targets_done.join(',') || '-', r.deadline ?? '-', r.created_at]),
  );
}

/** One or two sentences on where the rotation stands and what happens next. */
function describe(r: RotationView): string {
  switch (r.state) {
    case 'completed':
      return `completed: new key ${r.new_fingerprint} in place, old key ${r.old_fingerprint} revoked (401 confirmed)`;
    case 'distributed':
      return `new key ${r.new_fingerprint} delivered to ${r.targets_done.join(', ') || 'no targets'}; the old key ${r.old_fingerprint} is revoked once unused for ${Math.round(r.quiet_period_ms / 60_000)} min or at ${r.deadline} (\`tuskguard serve\` does it, or run this again)`;
    case 'awaiting-consent':
      return `waiting for the owner's consent until ${r.consent_expires_at}; the link was sent to them (see the log)`;
    default:
      return `${r.state}${r.error ? `: ${r.error}` : ''}`;
  }
}
