import type { Command } from 'commander';

/**
 * The command registry: one module per command under this folder, one line here.
 * test/cli/registry.test.ts checks that the folder and this list agree.
 */
export interface CommandModule {
  /** Adds the command (and its subcommands) to the program. */
  register(program: Command): void;
}

export const COMMANDS: ReadonlyArray<() => Promise<CommandModule>> = [
  () => import('./rules.js'),
  () => import('./parse.js'),
  () => import('./serve.js'),
  () => import('./ingest.js'),
  () => import('./keys.js'),
  () => import('./vault.js'),
  () => import('./scan.js'),
  () => import('./audit.js'),
  () => import('./respond.js'),
  () => import('./replay.js'),
];
