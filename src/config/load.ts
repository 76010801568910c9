import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { TuskguardError } from '../core/errors.js';
import { configSchema, type Config } from './schema.js';

export const DEFAULT_CONFIG_FILE = 'tuskguard.yaml';

/** A validated, frozen config plus where it came from. */
export interface LoadedConfig {
  readonly config: Readonly<Config>;
  /** Absolute data directory. */
  readonly home: string;
  /** The file it was read from, or null when defaults were used. */
  readonly file: string | null;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  }
  return value;
}

/** `store.elasticsearch.url: Invalid url` — one line per issue, with the path of the bad key. */
export function formatZodIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('\n  ');
}

/** Validate an already-parsed object (tests, `validate`). */
export function validateConfig(raw: unknown, file = '(inline)'): Config {
  const result = configSchema.safeParse(raw ?? {});
  if (!result.success) {
    throw new TuskguardError('CONFIG_INVALID', `${file}:\n  ${formatZodIssues(result.error)}`, {
      hint: 'fix the keys named above; `tuskguard config schema` prints every key with its default',
      details: { file },
    });
  }
  return result.data;
}

/**
 * Load once at start-up, fail fast, then freeze. With no `--config` and no ./tuskguard.yaml,
 * the defaults apply: embedded SQLite store under $TUSKGUARD_HOME (default ./.tuskguard).
 */
export function loadConfig(file?: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const explicit = file !== undefined;
  const path = resolve(file ?? DEFAULT_CONFIG_FILE);
  let raw: unknown = {};
  let source: string | null = null;
  if (existsSync(path)) {
    const text = readFileSync(path, 'utf8');
    try {
      raw = parseYaml(text, { prettyErrors: true }) ?? {};
    } catch (e) {
      throw new TuskguardError('CONFIG_INVALID', `${path}: not valid YAML: ${(e as Error).message}`, {
        hint: 'check indentation and quoting near the line shown',
        cause: e,
      });
    }
    source = path;
  } else if (explicit) {
    throw new TuskguardError('CONFIG_NOT_FOUND', `config file not found: ${path}`, {
      hint: 'pass an existing file with --config, or omit it to run on defaults',
    });
  }
  const config = validateConfig(raw, path);
  const home = resolve(config.home ?? env.TUSKGUARD_HOME ?? '.tuskguard');
  return deepFreeze({ config, home, file: source });
}
