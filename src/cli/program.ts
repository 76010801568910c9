import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { COMMANDS } from './commands/index.js';
import { EXIT } from './output.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/** The whole command tree, built from the registry (tests inspect it without running it). */
export async function buildProgram(): Promise<Command> {
  const program = new Command('tuskguard')
    .description('Guards Mastodon API keys: custody, rotation, revocation, and surveillance of their use.')
    .version(pkg.version)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride((err) => {
      // commander's own usage errors (unknown option, missing argument) exit 2, help/version 0.
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') {
        process.exit(EXIT.OK);
      }
      process.exit(EXIT.USAGE);
    });
  for (const load of COMMANDS) (await load()).register(program);
  return program;
}
