import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { TuskguardError } from '../../core/errors.js';
import { ACTIONS } from '../../respond/actions/registry.js';
import { AuditLog } from '../../respond/audit.js';
import { openRespondDb } from '../../respond/db.js';
import { resetBreakerAudited } from '../../respond/dispatcher.js';
import { JOB_STATUSES, Outbox, type JobStatus } from '../../respond/outbox.js';
import { loadPolicies, type PolicyFile } from '../../respond/policies.js';
import { AUDIT_KEY_ENV, defaultPoliciesFile } from '../../respond/responder.js';
import { Safeguards } from '../../respond/safeguards.js';
import { EXIT, action, configOption, outputOption, printJson, type OutputMode } from '../output.js';
import { registerUndo } from './respond-undo.js';

/**
 * `tuskguard respond …`: the person's side of the responder. `status` (breaker, budget,
 * outbox, approvals), `reset-breaker` (audited), `outbox` (jobs, dead letters), `requeue`
 * (dead jobs back in the queue, audited), and `policies` (validate a policy file).
 */
interface Common {
  config?: string;
  output: OutputMode;
  policies?: string;
}

type Db = ReturnType<typeof openRespondDb>;

function open<T>(opts: Common, fn: (db: Db, home: string) => T): T {
  const { home } = loadConfig(opts.config);
  if (!existsSync(join(home, 'control.db'))) {
    throw new TuskguardError('USAGE', `no control database under ${home}`, { hint: 'check --config / TUSKGUARD_HOME; nothing has run here yet' });
  }
  const db = openRespondDb(home);
  try {
    return fn(db, home);
  } finally {
    db.close();
  }
}

function policies(opts: Common): PolicyFile {
  return loadPolicies(opts.policies ?? defaultPoliciesFile(), ACTIONS);
}

function auditLog(db: Db, home: string): AuditLog {
  return new AuditLog(db, { file: join(home, 'audit.log'), anchorKey: process.env[AUDIT_KEY_ENV] ?? null });
}

const actor = (by?: string) => `cli:${by ?? userInfo().username}`;

function status(opts: Common): number {
  const file = policies(opts);
  const report = open(opts, (db) => {
    const sg = new Safeguards(db, file.safeguards);
    const pending = db.prepare("SELECT COUNT(*) AS n FROM respond_approvals WHERE status = 'pending'").get() as { n: number };
    return {
      breaker: sg.breaker(),
      budget: { used: sg.budgetUsed(), max: file.safeguards.revocation_budget.max, window: file.safeguards.revocation_budget.window },
      outbox: new Outbox(db).counts(),
      approvals_pending: pending.n,
      dry_run: file.dry_run,
    };
  });
  if (opts.output === 'json') printJson(report);
  else {
    const b = report.breaker;
    process.stdout.write(`breaker: ${b.open ? `OPEN since ${new Date(b.openedAt ?? 0).toISOString()} (${b.reason})` : 'closed'}\n`);
    process.stdout.write(`revocation budget: ${report.budget.used} of ${report.budget.max} per ${report.budget.window}\n`);
    process.stdout.write(`outbox: ${JOB_STATUSES.map((s) => `${report.outbox[s]} ${s}`).join(', ')}\n`);
    process.stdout.write(`approvals waiting: ${report.approvals_pending}${report.dry_run ? '\npolicies: dry_run (simulation)' : ''}\n`);
  }
  return report.breaker.open || report.outbox.dead > 0 ? EXIT.FOUND : EXIT.OK;
}

function resetBreaker(opts: Common & { reason: string; by?: string }): number {
  const file = policies(opts);
  const before = open(opts, (db, home) => resetBreakerAudited(new Safeguards(db, file.safeguards), auditLog(db, home), actor(opts.by), opts.reason));
  if (opts.output === 'json') printJson({ was_open: before.open, closed: true });
  else process.stdout.write(before.open ? 'circuit breaker closed; automatic revocations resume\n' : 'circuit breaker was not open (budget window restarted)\n');
  return EXIT.OK;
}

function outbox(opts: Common & { status?: string; channel?: string; limit: string }): number {
  if (opts.status && !JOB_STATUSES.includes(opts.status as JobStatus)) {
    throw new TuskguardError('USAGE', `--status must be one of ${JOB_STATUSES.join(', ')}`);
  }
  const jobs = open(opts, (db) => new Outbox(db).list({ status: opts.status as JobStatus | undefined, channel: opts.channel, limit: Number(opts.limit) || 50 }));
  // Payloads are left out: an alert may carry approval links, which are bearer credentials.
  const rows = jobs.map(({ payload: _p, result: _r, ...j }) => j);
  if (opts.output === 'json') rows.forEach((r) => printJson(r));
  else for (const j of rows) process.stdout.write(`${String(j.id).padStart(6)} ${j.status.padEnd(7)} ${j.channel.padEnd(14)} attempts ${j.attempts}/${j.maxAttempts}  ${j.key}${j.lastError ? `  last error: ${j.lastError}` : ''}\n`);
  return EXIT.OK;
}

function requeue(ids: string[], opts: Common & { allDead?: boolean; channel?: string; by?: string }): number {
  if (!opts.allDead && ids.length === 0) throw new TuskguardError('USAGE', 'name job ids or pass --all-dead', { hint: 'see `tuskguard respond outbox --status dead`' });
  const numbers = ids.map(Number);
  if (numbers.some((n) => !Number.isInteger(n) || n < 1)) throw new TuskguardError('USAGE', 'job ids are positive integers');
  const n = open(opts, (db, home) => {
    const box = new Outbox(db);
    const count = opts.allDead ? box.requeue({ allDead: true, channel: opts.channel }) : box.requeue({ ids: numbers });
    auditLog(db, home).append({ actor: actor(opts.by), action: 'outbox.requeue', reason: 'dead jobs re-queued by a person', result: 'done', details: { count, ids: numbers, channel: opts.channel ?? null } });
    return count;
  });
  if (opts.output === 'json') printJson({ requeued: n });
  else process.stdout.write(`${n} job(s) re-queued; a running tuskguard delivers them\n`);
  return EXIT.OK;
}

function validatePolicyFile(file: string | undefined, opts: Common): number {
  const path = file ?? defaultPoliciesFile();
  const p = loadPolicies(path, ACTIONS);
  if (opts.output === 'json') printJson({ file: path, valid: true, policies: p.policies.map((x) => x.id), dry_run: p.dry_run });
  else process.stdout.write(`${path}: valid, ${p.policies.length} policies (${p.policies.map((x) => x.id).join(', ')})${p.dry_run ? ', dry_run' : ''}\n`);
  return EXIT.OK;
}

export function register(program: Command): void {
  const respond = program.command('respond').description('inspect and steer the responder (breaker, outbox, approvals, policies)');
  const common = (c: Command) => c.addOption(configOption()).addOption(outputOption()).option('--policies <file>', 'policy file (default $TUSKGUARD_POLICIES or rules/policies.yaml)');
  common(respond.command('status').description('breaker, revocation budget, outbox and approvals at a glance'))
    .addHelpText('after', '\nExit codes: 0 fine, 1 the breaker is open or dead jobs wait, 2 usage error.\n')
    .action(action(async (opts: Common) => status(opts)));
  common(respond.command('reset-breaker').description('close the revocation circuit breaker after checking why it opened (audited)'))
    .requiredOption('--reason <text>', 'why it is safe to resume (recorded in the audit chain)')
    .option('--by <name>', 'who decides (default: the OS user)')
    .action(action(async (opts: Common & { reason: string; by?: string }) => resetBreaker(opts)));
  common(respond.command('outbox').description('list outbox jobs (alerts, Mastodon calls), e.g. the dead letters'))
    .option('--status <status>', `one of ${JOB_STATUSES.join(', ')}`)
    .option('--channel <id>', 'only this channel (action id)')
    .option('-n, --limit <n>', 'how many', '50')
    .action(action(async (opts: Common & { status?: string; channel?: string; limit: string }) => outbox(opts)));
  common(respond.command('requeue').description('put dead outbox jobs back in the queue (audited)'))
    .argument('[ids...]', 'job ids')
    .option('--all-dead', 'every dead job (of --channel, if given)')
    .option('--channel <id>', 'with --all-dead: only this channel')
    .option('--by <name>', 'who decides (default: the OS user)')
    .action(action(async (ids: string[], opts: Common & { allDead?: boolean; channel?: string; by?: string }) => requeue(ids, opts)));
  common(respond.command('policies').description('validate a policy file; errors name the file and the key path'))
    .argument('[file]', 'policy file')
    .addHelpText('after', '\nExit codes: 0 valid, 2 invalid (every bad key is named).\n')
    .action(action(async (file: string | undefined, opts: Common) => validatePolicyFile(file, opts)));
  registerUndo(respond, (c) => c.addOption(configOption()).addOption(outputOption()));
}
