import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { TuskguardError } from '../../core/errors.js';
import type { Finding } from '../../core/finding.js';
import { createFingerprinter, loadPepper } from '../../core/fingerprint.js';
import { Metrics } from '../../core/metrics.js';
import { DetectionEngine } from '../../detect/engine.js';
import { INPUT_FORMATS, type InputFormat, type ReadStats, guessFormat, readEvents } from '../../detect/input.js';
import { type StaticKeyLookup, parseKeyInventory } from '../../detect/keys.js';
import { loadRuleFile, loadRules } from '../../detect/load.js';
import type { Rule } from '../../detect/types.js';
import { EXIT, action, outputOption, printJson, type OutputMode } from '../output.js';
import { printFinding, printIssues } from '../../detect/explain.js';

/**
 * `tuskguard rules validate [DIR]` — check rule files; exit 1 naming file and path of every
 * problem. `tuskguard rules test RULE --data FILE` — run one rule over a log file on event time
 * (a backtest, memory only) and print each finding with why it fired; `--output json` prints
 * one finding per line (`rule, key, fingerprint, severity, at, summary, evidence`, …).
 * `tuskguard rules list [DIR]` — the rules with type and severity.
 */
export const DEFAULT_RULES_DIR = 'rules/detections';

interface Common {
  output: OutputMode;
}

export function register(program: Command): void {
  const rules = program.command('rules').description('Check, list and try detection rules');
  rules
    .command('validate')
    .description('Validate rule files; exit 1 naming each file and key at fault')
    .argument('[dir]', 'rule directory or file', DEFAULT_RULES_DIR)
    .addOption(outputOption())
    .addHelpText('after', '\nExit codes: 0 all valid, 1 a rule is invalid, 2 usage error.\n')
    .action(action(async (dir: string, opts: Common) => validate(dir, opts)));
  rules
    .command('list')
    .description('List rules with their type, severity and state')
    .argument('[dir]', 'rule directory', DEFAULT_RULES_DIR)
    .addOption(outputOption())
    .addHelpText('after', '\nExit codes: 0 listed, 1 some rule files are invalid (listed on stderr).\n')
    .action(action(async (dir: string, opts: Common) => list(dir, opts)));
  rules
    .command('test')
    .description('Run one rule over a log file on event time and explain each finding')
    .argument('<rule>', `rule id (looked up in --rules) or path to a rule file`)
    .requiredOption('-d, --data <file>', 'log file (plain or gzip) to run the rule over')
    .addOption(new Option('-f, --format <format>', 'format of the data (default: events for .ndjson/.jsonl, else nginx-json)').choices(INPUT_FORMATS))
    .option('-r, --rules <dir>', 'rule directory', DEFAULT_RULES_DIR)
    .option('-k, --keys <file>', 'key inventory (JSON as `keys list --output json` prints it): key ids, status, scopes')
    .addOption(outputOption())
    .addHelpText(
      'after',
      '\nFindings go to stdout; a summary (events read, rejected lines, late events) to stderr.\n' +
        'The rule runs in memory: nothing is stored, no state is saved, nothing is acted on.\n' +
        'Exit codes: 0 ran (with or without findings), 2 usage error (unknown rule, missing file, invalid rule).\n',
    )
    .action(action(async (rule: string, opts: TestOptions) => testRule(rule, opts)));
}

async function validate(dir: string, opts: Common): Promise<number> {
  if (!existsSync(dir)) throw new TuskguardError('USAGE', `no such rule directory or file: ${dir}`, { hint: 'pass the folder holding the *.yaml rule files' });
  const r = loadRules(dir);
  if (opts.output === 'json') {
    printJson({ valid: r.issues.length === 0, files: r.files.length, rules: r.rules.map((x) => x.id), issues: r.issues, warnings: r.warnings });
  } else {
    printIssues(r.issues, r.warnings);
    const verdict = r.issues.length === 0 ? 'ok' : `${r.issues.length} problem(s)`;
    process.stdout.write(`${verdict}: ${r.rules.length} valid rule(s) in ${r.files.length} file(s)\n`);
  }
  return r.issues.length ? EXIT.FOUND : EXIT.OK;
}

async function list(dir: string, opts: Common): Promise<number> {
  const r = loadRules(dir);
  for (const x of r.rules) {
    const row = { id: x.id, type: x.type, severity: x.severity, enabled: x.enabled, group_by: x.group_by, labels: x.labels };
    if (opts.output === 'json') printJson(row);
    else process.stdout.write(`${x.id.padEnd(28)} ${x.type.padEnd(12)} ${x.severity.padEnd(9)} ${x.enabled ? '' : '(disabled)'}\n`);
  }
  printIssues(r.issues, [], true);
  return r.issues.length ? EXIT.FOUND : EXIT.OK;
}

interface TestOptions extends Common {
  data: string;
  format?: InputFormat;
  rules: string;
  keys?: string;
}

function resolveRule(ref: string, dir: string): Rule {
  const candidates = [ref, join(dir, `${ref}.yaml`), join(dir, `${ref}.yml`)];
  const file = candidates.find((c) => (c.endsWith('.yaml') || c.endsWith('.yml')) && existsSync(c));
  if (!file) {
    const known = existsSync(dir) ? loadRules(dir).rules.map((r) => r.id) : [];
    throw new TuskguardError('USAGE', `no rule "${ref}" in ${dir}`, {
      hint: known.length ? `known rules: ${known.join(', ')}` : 'pass a rule id with --rules DIR, or a path to a .yaml file',
    });
  }
  const r = loadRuleFile(file);
  if (!r.rules[0]) {
    const lines = r.issues.map((i) => `${i.file}: ${i.path}: ${i.message}`);
    throw new TuskguardError('RULE_INVALID', `invalid rule:\n  ${lines.join('\n  ')}`, { hint: `fix it; \`tuskguard rules validate ${file}\` rechecks` });
  }
  return r.rules[0];
}

function loadKeys(file: string | undefined): StaticKeyLookup | undefined {
  if (!file) return undefined;
  try {
    return parseKeyInventory(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new TuskguardError('USAGE', `cannot read the key inventory ${file}: ${(e as Error).message}`, {
      hint: 'pass the JSON that `tuskguard keys list --output json` prints',
    });
  }
}

async function testRule(ref: string, opts: TestOptions): Promise<number> {
  const rule = resolveRule(ref, opts.rules);
  if (!existsSync(opts.data) || !statSync(opts.data).isFile()) {
    throw new TuskguardError('USAGE', `no such data file: ${opts.data}`, { hint: 'pass a log file with --data' });
  }
  const keys = loadKeys(opts.keys);
  const pepper = loadPepper(undefined);
  const metrics = new Metrics();
  const engine = new DetectionEngine({ rules: [rule], keys, metrics });
  const stats: ReadStats = { lines: 0, events: 0, rejected: {} };
  const format = opts.format ?? guessFormat(opts.data);
  const findings: Finding[] = [];
  const fingerprint = pepper === null ? null : createFingerprinter(pepper);
  for await (const event of readEvents(opts.data, { format, keys, fingerprint }, stats)) {
    for (const f of engine.process(event)) {
      findings.push(f);
      if (opts.output === 'json') printJson(jsonFinding(f));
      else printFinding(f);
    }
  }
  findings.push(...engine.flush());
  const late = await metrics.value('tuskguard_detect_late_events_total');
  summarize({ rule: rule.id, format, ...stats, late, findings: findings.length }, opts.output);
  return EXIT.OK;
}

/** The JSON line of one finding: the contract fields first, then the rest. */
export function jsonFinding(f: Finding): Record<string, unknown> {
  const { rule, key, fingerprint, severity, at, summary, evidence, ...rest } = f;
  return { rule, key, fingerprint, severity, at, summary, evidence, ...rest };
}

function summarize(s: { rule: string; format: string; lines: number; events: number; rejected: Record<string, number>; late: number; findings: number }, mode: OutputMode): void {
  if (mode === 'json') {
    process.stderr.write(`${JSON.stringify(s)}\n`);
    return;
  }
  const rejected = Object.values(s.rejected).reduce((a, b) => a + b, 0);
  const reasons = rejected ? ` (${Object.entries(s.rejected).map(([k, v]) => `${k} ${v}`).join(', ')})` : '';
  process.stderr.write(
    `${s.rule}: ${s.findings} finding(s) from ${s.events} events (${s.format}); rejected ${rejected} line(s)${reasons}; ${s.late} late event(s) skipped\n`,
  );
}
