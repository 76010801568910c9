import { execFile } from 'node:child_process';
import { TuskguardError } from '../../../core/errors.js';
import { durationMs } from '../../../config/schema.js';
import type { KeySecrets } from '../../vault.js';
import type { ObtainResult, RotationStrategy, StrategyContext } from '../types.js';

/**
 * `command`: a site command mints the new token (for self-hosters with their own tooling, e.g.
 * a `tootctl`/Rails runner wrapper). It runs with execFile: no shell, a timeout, a small output
 * cap, and a minimal environment (PATH, HOME, LANG plus TUSKGUARD_KEY_ID, TUSKGUARD_INSTANCE,
 * TUSKGUARD_SCOPES, TUSKGUARD_CLIENT_ID). It prints on stdout either the token alone, or JSON
 * `{"access_token": …, "client_id": …, "client_secret": …}` when it registered a new app
 * (without client credentials the key's current app is assumed to have issued it).
 *
 * Neither stdout nor stderr is ever logged or put in an error: both may hold the token. A
 * failure reports the exit code or signal and the byte counts only.
 *
 * Mind Mastodon's reuse rule (FACTS §3): a command that asks the same app for the same user and
 * scopes gets the OLD token back. Verification catches that (same fingerprint) and the rotation
 * rolls back without revoking anything.
 */
const TOKEN_RE = /^[A-Za-z0-9._~+/=-]{16,512}$/;
const MAX_OUTPUT = 64 * 1024;

function fail(message: string, details: Record<string, unknown>): TuskguardError {
  return new TuskguardError('ROTATION_FAILED', `rotation command: ${message}`, {
    hint: 'run the command by hand (its output is never logged) and fix it; rotation.keys.<id>.command in tuskguard.yaml',
    details,
  });
}

/** Parse what the command printed. Errors never quote the output. */
export function parseCommandOutput(stdout: string, current: KeySecrets): KeySecrets {
  const text = stdout.trim();
  if (text.startsWith('{')) {
    let obj: Record<string, unknown>;
    try {
      obj = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw fail('stdout starts with { but is not JSON', { stdout_bytes: stdout.length });
    }
    const token = obj.access_token;
    if (typeof token !== 'string' || !TOKEN_RE.test(token)) throw fail('JSON output has no valid access_token', { fields: Object.keys(obj) });
    const id = typeof obj.client_id === 'string' ? obj.client_id : current.client_id;
    const secret = typeof obj.client_secret === 'string' ? obj.client_secret : current.client_secret;
    return { token, client_id: id, client_secret: secret };
  }
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length !== 1 || !TOKEN_RE.test(lines[0]!.trim())) {
    throw fail('stdout must be exactly one token line (or JSON)', { stdout_lines: lines.length, stdout_bytes: stdout.length });
  }
  return { token: lines[0]!.trim(), client_id: current.client_id, client_secret: current.client_secret };
}

function run(argv: readonly string[], options: { timeoutMs: number; env: NodeJS.ProcessEnv; cwd?: string | undefined }): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      argv[0]!, argv.slice(1),
      { shell: false, timeout: options.timeoutMs, killSignal: 'SIGTERM', maxBuffer: MAX_OUTPUT, env: options.env, cwd: options.cwd, windowsHide: true, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        const e = error as NodeJS.ErrnoException & { killed?: boolean; signal?: string | null; code?: unknown };
        const details = { program: argv[0], exit_code: typeof e.code === 'number' ? e.code : null, signal: e.signal ?? null, stdout_bytes: stdout.length, stderr_bytes: stderr.length };
        if (e.code === 'ENOENT') return reject(fail(`${argv[0]} not found`, details));
        if (e.killed || e.signal) return reject(fail(`killed (${e.signal ?? 'timeout'}) after ${options.timeoutMs} ms or too much output`, details));
        reject(fail(`exited with code ${String(e.code)}`, details));
      },
    );
  });
}

export const command: RotationStrategy = {
  id: 'command',
  kinds: ['app', 'user'],
  async obtain(ctx: StrategyContext): Promise<ObtainResult> {
    if (ctx.pending?.token) return { kind: 'minted', secrets: ctx.pending };
    const cmd = ctx.settings.command;
    if (!cmd) throw fail(`no command configured for ${ctx.key.id}`, { key_id: ctx.key.id });
    const env: NodeJS.ProcessEnv = {
      PATH: ctx.env.PATH ?? '/usr/bin:/bin', HOME: ctx.env.HOME, LANG: ctx.env.LANG ?? 'C.UTF-8',
      TUSKGUARD_KEY_ID: ctx.key.id, TUSKGUARD_INSTANCE: ctx.key.instance, TUSKGUARD_SCOPES: ctx.key.scopes.join(' '),
      TUSKGUARD_CLIENT_ID: ctx.old.client_id,
    };
    const started = ctx.clock.now();
    const stdout = await run(cmd.argv, { timeoutMs: durationMs(cmd.timeout), env, cwd: cmd.cwd });
    const secrets = parseCommandOutput(stdout, ctx.old);
    await ctx.store(secrets);
    ctx.logger.info({ key_id: ctx.key.id, rotation: ctx.rotation.id, program: cmd.argv[0], ms: ctx.clock.now() - started }, 'rotation: command produced a token');
    return { kind: 'minted', secrets };
  },
};
