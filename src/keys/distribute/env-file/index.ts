import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import { TuskguardError, errorMessage } from '../../../core/errors.js';
import type { Delivery, DistributionTarget } from '../types.js';

/**
 * `env-file`: set `VARIABLE=<token>` in a dotenv-style file that the consumer reads at start.
 * The file is rewritten atomically: a temporary file in the same directory, created with mode
 * 0600 (`wx`, so a pre-placed file or symlink is never followed), fsynced, then renamed over
 * the old one and the directory fsynced. A reader sees either the old file or the new one,
 * never a half-written token. Other lines are kept as they are.
 */

const VARIABLE_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const envFileTargetSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/).describe('Target id, referenced from rotation.keys.<key>.targets.'),
    type: z.literal('env-file'),
    path: z.string().min(1).describe('The env file to update (created if missing; always left with mode 0600).'),
    variable: z.string().regex(VARIABLE_RE).default('MASTODON_ACCESS_TOKEN').describe('Variable that receives the token.'),
    client_id_variable: z.string().regex(VARIABLE_RE).optional().describe('Also write the issuing app\'s client_id here.'),
    client_secret_variable: z
      .string()
      .regex(VARIABLE_RE)
      .optional()
      .describe('Also write the client secret here (only for consumers that revoke or mint tokens themselves).'),
  })
  .strict();
export type EnvFileTargetConfig = z.infer<typeof envFileTargetSchema>;

/** Replace (or append) `name=value` lines, keeping every other line and an `export ` prefix. */
export function setEnvVariables(text: string, values: ReadonlyMap<string, string>): string {
  const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
  const seen = new Set<string>();
  const out = lines.map((line) => {
    const m = /^(?<prefix>\s*(?:export\s+)?)(?<name>[A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(line);
    const name = m?.groups?.name;
    if (name === undefined || !values.has(name)) return line;
    seen.add(name);
    return `${m!.groups!.prefix}${name}=${values.get(name)!}`;
  });
  for (const [name, value] of values) if (!seen.has(name)) out.push(`${name}=${value}`);
  return `${out.join('\n')}\n`;
}

/** Write `content` to `path` atomically with mode 0600 (temp file + fsync + rename + dir fsync). */
export function writeFileAtomic0600(path: string, content: string): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.tuskguard-${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  const dfd = openSync(dir, 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}

export class EnvFileTarget implements DistributionTarget {
  readonly type = 'env-file';
  readonly id: string;

  constructor(private readonly config: EnvFileTargetConfig) {
    this.id = config.id;
  }

  async deliver(delivery: Delivery): Promise<Record<string, unknown>> {
    const { path, variable, client_id_variable, client_secret_variable } = this.config;
    const values = new Map<string, string>([[variable, delivery.secrets.token]]);
    if (client_id_variable) values.set(client_id_variable, delivery.secrets.client_id);
    if (client_secret_variable) values.set(client_secret_variable, delivery.secrets.client_secret);
    try {
      const before = existsSync(path) ? readFileSync(path, 'utf8') : '';
      writeFileAtomic0600(path, setEnvVariables(before, values));
    } catch (e) {
      // fs errors name the path and the syscall, never the content.
      throw new TuskguardError('DISTRIBUTION_FAILED', `env-file ${this.id}: could not write ${path}: ${errorMessage(e)}`, {
        hint: 'check that the directory exists and tuskguard may create files in it',
        details: { target: this.id, type: this.type, path, fingerprint: delivery.fingerprint },
      });
    }
    return { path, variables: [...values.keys()] };
  }
}
