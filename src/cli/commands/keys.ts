import { Option, type Command } from 'commander';
import { action, configOption, outputOption, type OutputMode } from '../output.js';
import { commandContext } from '../../keys/cli/context.js';
import { addAction, exportAction, importAction, listAction, refingerprintAction, showAction, type AddFlags } from '../../keys/cli/inventory-commands.js';
import { reviewAction, type ReviewFlags } from '../../keys/cli/review-command.js';
import { registerRevokeCommand } from '../../keys/cli/revoke.js';
import { registerRotateCommands } from '../../keys/cli/rotate.js';
import { KEY_KINDS, ROTATION_STRATEGIES } from '../../keys/schema.js';

/**
 * `tuskguard keys …`: the key inventory. Secrets go in through `import` (a file) or `add`
 * (stdin or a hidden prompt) and never come out: every other subcommand prints metadata and
 * fingerprints only.
 */

interface Common {
  config?: string;
  output: OutputMode;
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function register(program: Command): void {
  const keys = program.command('keys').description('manage the keys tuskguard guards (inventory, review)');

  keys
    .command('import')
    .description('import or update keys from a YAML/JSON inventory file (formats/LOG-FORMAT.md §4); secrets are encrypted')
    .argument('<file>', 'inventory file with a top-level `keys:` list')
    .addOption(configOption())
    .addOption(outputOption())
    .addHelpText('after', '\nRe-importing is idempotent: unchanged keys stay as they are; changed metadata is updated in place.\nA key that is being rotated is left to its rotation and reported by name (exit 1); the other keys are imported.\nDelete the file afterwards; `tuskguard scan` finds it until you do.')
    .action(action(async (file: string, opts: Common) => importAction(commandContext(opts), file, opts.output)));

  keys
    .command('add')
    .description('add one key; the token and client secret are read from stdin (two lines) or a hidden prompt')
    .requiredOption('--id <id>', 'kebab-case key id')
    .requiredOption('--instance <url>', 'instance base URL, e.g. https://social.example')
    .addOption(new Option('--kind <kind>', 'token kind').choices([...KEY_KINDS]).makeOptionMandatory())
    .requiredOption('--scopes <scopes>', 'granted scopes, comma- or space-separated (repeatable)', collect, [])
    .requiredOption('--owner <owner>', 'who answers for the key')
    .requiredOption('--purpose <text>', 'what the key is for')
    .requiredOption('--client-id <id>', 'client_id of the issuing app (not secret)')
    .option('--label <name=value>', 'label (repeatable)', collect, [])
    .option('--max-age <duration>', 'rotation: rotate once this old, e.g. 90d')
    .addOption(new Option('--strategy <strategy>', 'rotation strategy').choices([...ROTATION_STRATEGIES]))
    .option('--grace <duration>', 'rotation: how long the old key may stay live')
    .addOption(configOption())
    .addOption(outputOption())
    .addHelpText('after', "\nSecrets never go on the command line:\n  printf '%s\\n%s\\n' \"$TOKEN\" \"$CLIENT_SECRET\" | tuskguard keys add --id bot --instance https://social.example \\\n    --kind app --scopes read:statuses --owner team --purpose 'posting bot' --client-id \"$CLIENT_ID\"")
    .action(action(async (opts: AddFlags & Common) => addAction(commandContext(opts), opts, opts.output)));

  keys
    .command('list')
    .description('list managed keys: id, fingerprint, status, owner, age, last seen (never a secret)')
    .option('--no-last-seen', 'do not read the event store')
    .addOption(configOption())
    .addOption(outputOption())
    .action(action(async (opts: Common & { lastSeen: boolean }) => listAction(commandContext(opts), opts, opts.output)));

  keys
    .command('show')
    .description('show one key: metadata, fingerprint, rotation policy, last seen, revocations (never a secret)')
    .argument('<id>', 'key id')
    .option('--no-last-seen', 'do not read the event store')
    .addOption(configOption())
    .addOption(outputOption())
    .action(action(async (id: string, opts: Common & { lastSeen: boolean }) => showAction(commandContext(opts), id, opts, opts.output)));

  keys
    .command('export')
    .description('print the inventory without secrets (YAML, or JSON with --format json / --output json)')
    .option('--redacted', 'required: leave out token, client_id and client_secret')
    .addOption(new Option('--format <format>', 'document format').choices(['yaml', 'json']).default('yaml'))
    .addOption(configOption())
    .addOption(outputOption())
    .action(action(async (opts: Common & { redacted?: boolean; format: string }) => exportAction(commandContext(opts), opts, opts.output)));

  keys
    .command('refingerprint')
    .description('recompute every stored fingerprint after a deliberate pepper change (needs the master key)')
    .addOption(configOption())
    .addOption(outputOption())
    .action(action(async (opts: Common) => refingerprintAction(commandContext(opts), opts.output)));

  keys
    .command('review')
    .description('least-privilege review: granted vs used scopes, the minimal granular set, unused keys')
    .option('--since <duration>', 'review window, e.g. 7d, 30d', '30d')
    .option('--unused-days <n>', 'flag active keys not seen for this many days', '30')
    .option('--key <id>', 'review one key only')
    .addOption(configOption())
    .addOption(outputOption())
    .action(action(async (opts: Common & ReviewFlags) => reviewAction(commandContext(opts), opts, opts.output)));

  registerRevokeCommand(keys);
  registerRotateCommands(keys);
}
