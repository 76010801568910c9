import { Option, type Command } from 'commander';
import { isTuskguardError } from '../core/errors.js';

/**
 * Shared CLI conventions. Exit codes (documented in README):
 *   0 success · 1 the command ran and found a problem (a leak, a broken chain, a failed check)
 *   2 usage or configuration error · 3 a dependency (store, Mastodon) is unavailable
 */
export const EXIT = { OK: 0, FOUND: 1, USAGE: 2, UNAVAILABLE: 3 } as const;

export type OutputMode = 'human' | 'json';

export function outputOption(): Option {
  return new Option('-o, --output <mode>', 'output format').choices(['human', 'json']).default('human');
}

export function configOption(): Option {
  return new Option('-c, --config <file>', 'config file (default ./tuskguard.yaml if present)');
}

/** Print one JSON document per line on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/**
 * Wrap a command action: coded errors print their message and hint (or a JSON error object
 * with --output json) and exit 2/3; unexpected errors print a stack only with DEBUG set.
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void>) {
  return async (...args: A): Promise<void> => {
    const cmd = args[args.length - 1] as Command;
    const json = cmd?.opts?.().output === 'json';
    try {
      const code = await fn(...args);
      process.exitCode = code ?? EXIT.OK;
    } catch (e) {
      if (isTuskguardError(e)) {
        if (json) process.stderr.write(`${JSON.stringify({ error: e.toJSON() })}\n`);
        else process.stderr.write(`${e.toDisplay()}\n`);
        process.exitCode =
          e.code === 'STORE_UNAVAILABLE' || e.code === 'MASTODON_UNREACHABLE' ? EXIT.UNAVAILABLE : EXIT.USAGE;
        return;
      }
      const err = e as Error;
      process.stderr.write(`error: ${err?.message ?? String(e)}\n`);
      if (process.env.DEBUG) process.stderr.write(`${err?.stack ?? ''}\n`);
      process.exitCode = EXIT.UNAVAILABLE;
    }
  };
}
