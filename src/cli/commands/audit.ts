import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { TuskguardError } from '../../core/errors.js';
import { AuditLog, type AuditRecord } from '../../respond/audit.js';
import { verifyAudit, type VerifyReport } from '../../respond/audit-verify.js';
import { openRespondDb } from '../../respond/db.js';
import { AUDIT_KEY_ENV } from '../../respond/responder.js';
import { EXIT, action, configOption, outputOption, printJson, type OutputMode } from '../output.js';

/**
 * `tuskguard audit verify` proves the audit chain intact (control DB, <home>/audit.log, and
 * the anchor, HMAC-checked with TUSKGUARD_AUDIT_KEY when set): exit 0 when intact, 1 with the
 * first bad record. `audit list` prints records; `audit anchor` re-signs the anchor after the
 * key was first configured (only when the chain itself verifies).
 */
interface Common {
  config?: string;
  output: OutputMode;
}

function paths(opts: Common): { home: string; db: string; file: string } {
  const { home } = loadConfig(opts.config);
  return { home, db: join(home, 'control.db'), file: join(home, 'audit.log') };
}

/** Open the control DB only if it exists: verifying must not create an empty chain. */
function withDb<T>(opts: Common, fn: (db: ReturnType<typeof openRespondDb>, file: string) => Promise<T>, empty: () => T): Promise<T> {
  const p = paths(opts);
  if (!existsSync(p.db)) return Promise.resolve(empty());
  const db = openRespondDb(p.home);
  return fn(db, p.file).finally(() => db.close());
}

function printReport(report: VerifyReport, output: OutputMode): void {
  if (output === 'json') return printJson(report);
  const out = process.stdout;
  if (report.ok) {
    const anchor = report.anchor ? `anchor at seq ${report.anchor.seq} (${report.anchor.keyed ? 'HMAC-keyed' : 'unkeyed'})` : 'no anchor';
    out.write(`audit chain intact: ${report.records} records; file ${report.file_records ?? 'not used'}; ${anchor}\n`);
  } else {
    const b = report.first_bad!;
    out.write(`audit chain BROKEN at seq ${b.seq} (${b.source}): ${b.problem}\n`);
    for (const p of report.problems.slice(1)) out.write(`  also seq ${p.seq} (${p.source}): ${p.problem}\n`);
    out.write('  records before that seq are intact; compare with a backup or the store mirror (actions index)\n');
  }
  for (const w of report.warnings) out.write(`warning: ${w}\n`);
}

async function verify(opts: Common): Promise<number> {
  const key = process.env[AUDIT_KEY_ENV] || null;
  const report = await withDb(
    opts,
    (db, file) => verifyAudit(db, { file, anchorKey: key }),
    (): VerifyReport => {
      const fileExists = existsSync(paths(opts).file);
      const problems = fileExists ? [{ seq: 1, source: 'db' as const, problem: 'the control DB is missing but audit.log exists' }] : [];
      return { ok: !fileExists, records: 0, file_records: null, anchor: null, first_bad: problems[0] ?? null, problems, warnings: fileExists ? [] : ['no audit chain yet'] };
    },
  );
  printReport(report, opts.output);
  return report.ok ? EXIT.OK : EXIT.FOUND;
}

function printRecords(records: AuditRecord[], output: OutputMode): void {
  if (output === 'json') return records.forEach((r) => printJson(r));
  for (const r of records) {
    process.stdout.write(`${String(r.seq).padStart(6)}  ${r.at}  ${r.actor.padEnd(16)} ${r.action.padEnd(26)} ${(r.target ?? '-').padEnd(20)} ${r.result.padEnd(16)} ${r.reason}\n`);
  }
  if (records.length === 0) process.stderr.write('no audit records\n');
}

async function list(opts: Common & { limit: string; finding?: string; after?: string }): Promise<number> {
  const limit = Number(opts.limit);
  const after = opts.after === undefined ? 0 : Number(opts.after);
  if (!Number.isInteger(limit) || limit < 1 || !Number.isInteger(after) || after < 0) {
    throw new TuskguardError('USAGE', '--limit must be a positive integer and --after a non-negative integer', { hint: 'e.g. --limit 50 --after 1200' });
  }
  const records = await withDb(
    opts,
    async (db) => new AuditLog(db).list({ limit, afterSeq: after, findingId: opts.finding, order: opts.after === undefined ? 'desc' : 'asc' }),
    () => [],
  );
  printRecords(opts.after === undefined ? records.reverse() : records, opts.output);
  return EXIT.OK;
}

async function anchor(opts: Common & { by?: string }): Promise<number> {
  const key = process.env[AUDIT_KEY_ENV];
  if (!key) throw new TuskguardError('SECRET_MISSING', `${AUDIT_KEY_ENV} is not set`, { hint: `set ${AUDIT_KEY_ENV} to the key the anchor should be signed with` });
  return withDb(
    opts,
    async (db, file) => {
      const report = await verifyAudit(db, { file, anchorKey: null });
      const chainProblems = report.problems.filter((p) => p.source !== 'anchor');
      if (chainProblems.length > 0) {
        printReport({ ...report, ok: false, problems: chainProblems, first_bad: chainProblems[0]! }, opts.output);
        return EXIT.FOUND;
      }
      const by = `cli:${opts.by ?? userInfo().username}`;
      const r = new AuditLog(db, { file, anchorKey: key }).append({ actor: by, action: 'audit.anchor', reason: `anchor re-signed with ${AUDIT_KEY_ENV}`, result: 'done' });
      if (opts.output === 'json') printJson({ anchored: true, seq: r.seq });
      else process.stdout.write(`anchor re-signed at seq ${r.seq}\n`);
      return EXIT.OK;
    },
    () => {
      throw new TuskguardError('USAGE', 'there is no audit chain under this home yet', { hint: 'check --config / TUSKGUARD_HOME' });
    },
  );
}

export function register(program: Command): void {
  const audit = program.command('audit').description('verify and read the tamper-evident audit chain');
  audit
    .command('verify')
    .description('check that no audit record was edited, removed or reordered (control DB, audit.log, anchor)')
    .addOption(configOption())
    .addOption(outputOption())
    .addHelpText('after', `\nExit codes: 0 intact, 1 broken (the first bad record is named), 2 usage error.\nSet ${AUDIT_KEY_ENV} to check the anchor's HMAC (detects a cut tail).\n`)
    .action(action(async (opts: Common) => verify(opts)));
  audit
    .command('list')
    .description('print audit records (newest last)')
    .option('-n, --limit <n>', 'how many records', '50')
    .option('--finding <id>', 'only records about this finding')
    .option('--after <seq>', 'records after this seq, oldest first (for paging)')
    .addOption(configOption())
    .addOption(outputOption())
    .action(action(async (opts: Common & { limit: string; finding?: string; after?: string }) => list(opts)));
  audit
    .command('anchor')
    .description(`re-sign the chain's anchor with ${AUDIT_KEY_ENV} (after setting the key for the first time)`)
    .option('--by <name>', 'who does this (default: the OS user)')
    .addOption(configOption())
    .addOption(outputOption())
    .action(action(async (opts: Common & { by?: string }) => anchor(opts)));
}
