import { Option, type Command } from 'commander';
import { TuskguardError } from '../../core/errors.js';
import { createFingerprinter } from '../../core/fingerprint.js';
import { commandContext, pepperOf } from '../../keys/cli/context.js';
import { loadManagedIndex } from '../../keys/lookup.js';
import { CONFIDENCES, type Confidence } from '../../keys/scan/context.js';
import { DEFAULT_MAX_BYTES, scan, type LeakFinding, type ScanReport } from '../../keys/scan/index.js';
import { clientVerifier } from '../../keys/scan/verify.js';
import { MastodonClient } from '../../mastodon/client.js';
import { action, configOption, EXIT, outputOption, printJson, type OutputMode } from '../output.js';

/**
 * `tuskguard scan PATH... [--git] [--env] [--verify]`: find leaked tokens. Managed tokens are
 * matched exactly by fingerprint; unmanaged ones are guessed from their context. Reports
 * location, fingerprint and key id — never the token, nor any part of it.
 * Exit 0 clean, 1 something found, 2 usage error.
 */

interface ScanFlags {
  config?: string;
  output: OutputMode;
  git?: boolean;
  env?: boolean;
  verify?: boolean;
  maxBytes: string;
  minConfidence: Confidence;
}

function where(f: LeakFinding): string {
  const loc = `${f.path}:${f.line}:${f.column}`;
  return f.source === 'git' ? `git ${(f.commit ?? f.blob ?? '').slice(0, 12)} ${loc}` : loc;
}

function formatFinding(f: LeakFinding): string {
  const who = f.managed ? `key ${f.key_id}` : 'unmanaged';
  const live = f.live ? `  [${f.live}: ${f.live_detail ?? ''}]` : '';
  return `${f.managed ? 'MANAGED  ' : 'UNMANAGED'} ${f.confidence.padEnd(6)} ${where(f)}  ${who}  fingerprint ${f.fingerprint}${live}\n            ${f.reasons.join('; ')}`;
}

function summary(report: ScanReport): string {
  const { scanned: s, skipped: k, findings } = report;
  const managed = findings.filter((f) => f.managed).length;
  const lines = [
    `scanned ${s.files} file(s) (${s.bytes} bytes), ${s.git_blobs} git blob(s), ${s.env_vars} env var(s); skipped ${k.binary} binary, ${k.too_large} too large, ${k.unreadable} unreadable; ${report.managed_keys} managed key(s) known`,
  ];
  if (findings.length === 0) lines.push('no tokens found');
  else {
    lines.push(`found ${findings.length} token occurrence(s): ${managed} of managed keys, ${findings.length - managed} likely unmanaged`);
    if (managed) lines.push('a managed token found here is compromised: revoke or rotate it, then remove it from the files (and the history)');
  }
  return lines.join('\n');
}

async function scanAction(paths: string[], flags: ScanFlags): Promise<number> {
  if (paths.length === 0 && !flags.env) {
    throw new TuskguardError('USAGE', 'nothing to scan: give at least one PATH, or --env', { hint: 'e.g. `tuskguard scan . --git`' });
  }
  const maxBytes = Number(flags.maxBytes);
  if (!Number.isInteger(maxBytes) || maxBytes < 1) {
    throw new TuskguardError('USAGE', `--max-bytes ${flags.maxBytes}: expected a positive whole number`, { hint: `default ${DEFAULT_MAX_BYTES}` });
  }
  const ctx = commandContext(flags);
  const pepper = pepperOf(ctx);
  const fingerprint = createFingerprinter(pepper);
  const verifier = clientVerifier(new MastodonClient({ fingerprint, logger: ctx.logger }));
  const report = await scan(
    { paths, git: flags.git ?? false, env: flags.env ?? false, verify: flags.verify ?? false, maxBytes, minConfidence: flags.minConfidence },
    { fingerprint, managed: loadManagedIndex(ctx.loaded.home, pepper), verifier },
  );
  if (flags.output === 'json') printJson(report);
  else process.stdout.write(`${[...report.findings.map(formatFinding), summary(report)].join('\n')}\n`);
  return report.findings.length > 0 ? EXIT.FOUND : EXIT.OK;
}

export function register(program: Command): void {
  program
    .command('scan')
    .description('find leaked Mastodon tokens in files, git history (--git) and the environment (--env); never prints them')
    .argument('[paths...]', 'files or directories to scan')
    .option('--git', 'also scan every blob reachable from any ref of each PATH’s repository')
    .option('--env', 'also scan this process’s environment variables')
    .option('--verify', 'ask each token’s instance whether it is still live (/oauth/token/info, apps/verify_credentials)')
    .option('--max-bytes <n>', 'skip files and blobs larger than this', String(DEFAULT_MAX_BYTES))
    .addOption(new Option('--min-confidence <level>', 'lowest confidence reported for unmanaged tokens').choices([...CONFIDENCES]).default('low'))
    .addOption(configOption())
    .addOption(outputOption())
    .addHelpText('after', '\nExit codes: 0 nothing found, 1 something found, 2 usage error.\nManaged tokens are matched exactly by fingerprint (needs TUSKGUARD_PEPPER or pepper_file).')
    .action(action(scanAction));
}
