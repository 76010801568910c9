import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTraffic, type Traffic } from '../../bench/traffic/generate.js';
import { writeTraffic } from '../../bench/traffic/render.js';
import { type FindingLike, scoreFindings } from '../../bench/traffic/score.js';
import { runCli, type CliResult } from '../helpers/cli.js';

/**
 * `tuskguard replay` end to end on a generated instance (bench/traffic, small population):
 * the inventory goes in with `keys import`, the history and the labelled week are replayed.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ENTRY = join(ROOT, 'src/cli/index.ts');
const CONTRACT = ['rule', 'key', 'fingerprint', 'severity', 'at', 'summary'];
const SLOW = 240_000;

let dir: string;
let traffic: Traffic;
let config: string;
let home: string;
let env: NodeJS.ProcessEnv;
let logs: { history: string; week: string; half: string };
let tokens: string[];
let dryRun: CliResult;

const lines = (out: string) => out.split('\n').filter((l) => l.trim() !== '');
const findingsOf = (r: CliResult) => lines(r.stdout).map((l) => JSON.parse(l) as FindingLike & { id: string });
const ids = (fs: ReadonlyArray<{ id: string }>) => fs.map((f) => f.id).sort();

function replay(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return runCli(['replay', '--config', config, ...args], { env: { ...env, ...extraEnv }, timeoutMs: SLOW });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tg-cli-replay-'));
  home = join(dir, 'home');
  config = join(dir, 'tuskguard.yaml');
  writeFileSync(config, `home: ${JSON.stringify(home)}\n`);
  const pepper = `pepper-${randomBytes(16).toString('hex')}`;
  env = { TUSKGUARD_PEPPER: pepper, TUSKGUARD_MASTER_KEY: randomBytes(32).toString('hex'), TUSKGUARD_LOG_LEVEL: 'info' };
  traffic = generateTraffic({ seed: 1, pepper, size: 'small' });
  const paths = await writeTraffic(join(dir, 'week'), traffic);
  const starts = traffic.labels.attacks.map((a) => Date.parse(a.start)).sort((a, b) => a - b);
  const cut = (starts[4]! + starts[5]!) / 2;
  const week = gunzipSync(readFileSync(paths.week)).toString('utf8').trimEnd().split('\n');
  const half = join(dir, 'half.log');
  writeFileSync(half, `${week.filter((l) => (JSON.parse(l) as { msec: number }).msec * 1000 < cut).join('\n')}\n`);
  logs = { history: paths.history, week: paths.week, half };
  tokens = traffic.keys.flatMap((k) => [k.token, k.clientSecret]);
  const imported = await runCli(['keys', 'import', '--config', config, paths.keys], { env });
  expect(imported.code).toBe(0);
  for (const t of tokens) expect(imported.stdout.includes(t) || imported.stderr.includes(t)).toBe(false);
  dryRun = await replay(['--dry-run', '--output', 'json', logs.history, logs.week]);
}, SLOW);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('tuskguard replay --dry-run --output json', () => {
  it('prints every injected attack (rule, key, within 5 minutes) and nothing high or critical for the hard negatives or benign keys', () => {
    expect(dryRun.code).toBe(0);
    const score = scoreFindings(traffic.labels, findingsOf(dryRun));
    const missed = score.attacks.filter((a) => !a.detected).map((a) => `${a.attack.rule} on ${a.attack.key}`);
    expect(missed).toEqual([]);
    const alarming = score.falsePositives.filter((f) => f.finding.severity === 'high' || f.finding.severity === 'critical');
    expect(alarming.map((f) => `${f.finding.rule} on ${f.on}: ${f.finding.summary}`)).toEqual([]);
    const negatives = new Set(traffic.labels.negatives.map((n) => n.key));
    expect(findingsOf(dryRun).filter((f) => f.key !== null && negatives.has(f.key))).toEqual([]);
  });

  it('prints one JSON finding per line with the contract fields first, and a summary on stderr', () => {
    const found = lines(dryRun.stdout);
    expect(found.length).toBeGreaterThanOrEqual(traffic.labels.attacks.length);
    for (const l of found) expect(Object.keys(JSON.parse(l) as object).slice(0, CONTRACT.length)).toEqual(CONTRACT);
    const summary = (JSON.parse(lines(dryRun.stderr).find((l) => l.startsWith('{"summary"'))!) as { summary: Record<string, unknown> }).summary;
    expect(summary).toMatchObject({ mode: 'dry run', state: false, findings: found.length, lines: traffic.history.length + traffic.week.length, keys: 15 });
  });

  it('never prints a token or client secret, and a dry run writes nothing to the data dir', () => {
    for (const t of tokens) {
      expect(dryRun.stdout.includes(t)).toBe(false);
      expect(dryRun.stderr.includes(t)).toBe(false);
    }
    expect(existsSync(join(home, 'events.db'))).toBe(false);
    expect(existsSync(join(home, 'dead-letter'))).toBe(false);
    const db = new Database(join(home, 'control.db'), { readonly: true });
    try {
      expect(db.prepare("SELECT name FROM sqlite_master WHERE name LIKE 'detect_%'").all()).toEqual([]);
    } finally {
      db.close();
    }
  });
});

describe('tuskguard replay (stored, with the response)', () => {
  it('stores findings, runs the response policies, and after a stop half-way repeats none of them', async () => {
    // The shipped policies, as a simulation: decide and audit, act on no instance.
    const policies = join(dir, 'policies.yaml');
    writeFileSync(policies, readFileSync(join(ROOT, 'rules/policies.yaml'), 'utf8').replace(/^dry_run: false$/m, 'dry_run: true'));
    const args = ['--output', 'json', '--policies', policies, '--drain-timeout', '2s'];
    const first = await replay([...args, logs.history, logs.half]);
    expect(first.code).toBe(0);
    const second = await replay([...args, logs.history, logs.week]);
    expect(second.code).toBe(0);
    const a = findingsOf(first);
    const b = findingsOf(second);
    expect(a.length).toBeGreaterThan(0);
    expect(b.length).toBeGreaterThan(0);
    expect(ids(a).filter((id) => ids(b).includes(id))).toEqual([]);
    expect(ids([...a, ...b])).toEqual(ids(findingsOf(dryRun)));
    const db = new Database(join(home, 'events.db'), { readonly: true });
    try {
      const stored = db.prepare('SELECT id FROM findings ORDER BY id').all() as Array<{ id: string }>;
      expect(stored.map((r) => r.id)).toEqual(ids([...a, ...b]));
      expect((db.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n).toBe(0);
    } finally {
      db.close();
    }
    // Every finding went through the policies; high and critical ones matched one (simulated).
    for (const f of [...a, ...b] as Array<FindingLike & { response?: { policies: string[]; outcomes: Array<{ status: string }> } }>) {
      expect(f.response?.policies).toBeDefined();
      if (f.severity === 'high' || f.severity === 'critical') expect(f.response!.policies.length).toBeGreaterThan(0);
    }
    expect(existsSync(join(home, 'audit.log'))).toBe(true);
    const summary = JSON.parse(lines(second.stderr).find((l) => l.startsWith('{"summary"'))!) as { summary: { already_processed: number; mode: string } };
    expect(summary.summary.mode).toBe('stored and responded');
    expect(summary.summary.already_processed).toBeGreaterThan(traffic.history.length);
  }, SLOW);
});

describe('tuskguard replay, stopped by a signal', () => {
  it('exits 130 after saving its state, and the same command then finishes without repeating a finding', async () => {
    const state = join(dir, 'state');
    mkdirSync(state);
    const args = ['replay', '--config', config, '--dry-run', '--state', state, '--output', 'json', logs.history, logs.week];
    const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, ...args], { cwd: ROOT, env: { ...process.env, ...env, NODE_NO_WARNINGS: '1' } });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('\n') && child.signalCode === null && !child.killed) child.kill('SIGINT');
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(err).toContain('stopping after the lines already read');
    expect(code).toBe(130);
    const rest = await runCli(args, { env, timeoutMs: SLOW });
    expect(rest.code).toBe(0);
    const first = findingsOf({ code: 130, stdout: out, stderr: err });
    expect(ids([...first, ...findingsOf(rest)])).toEqual(ids(findingsOf(dryRun)));
  }, SLOW);
});

describe('tuskguard replay, human output and usage errors', () => {
  const stuffing = () => {
    const file = join(dir, 'stuffing.log');
    const t0 = Date.parse('2026-11-02T03:00:00Z');
    const line = (i: number) =>
      JSON.stringify({ ts: new Date(t0 + i * 3000).toISOString().slice(0, 19) + '+00:00', msec: (t0 + i * 3000) / 1000, ip: `198.51.100.${10 + (i % 2)}`, xff: '', rid: i.toString(16).padStart(32, '0'), host: 'social.example', method: 'GET', uri: '/api/v1/accounts/verify_credentials', status: 401, bytes: 90, rt: 0.01, ua: 'python-requests/2.32.3', fp: randomBytes(16).toString('hex') });
    writeFileSync(file, `${Array.from({ length: 20 }, (_, i) => line(i)).join('\n')}\nnot json\n`);
    return file;
  };

  it('explains each finding and summarises on stderr', async () => {
    const r = await replay(['--dry-run', stuffing()]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/HIGH {2}token-stuffing/);
    expect(r.stdout).toContain('why: ');
    expect(r.stderr).toMatch(/replay done \(dry run\): 21 lines from 1 file\(s\), 20 events/);
    expect(r.stderr).toMatch(/findings: 1 \(1 high\)/);
    expect(r.stderr).toMatch(/rejected lines: 1 invalid-json/);
  });

  it('documents itself', async () => {
    const r = await runCli(['replay', '--help']);
    for (const opt of ['--rules', '--dry-run', '--output', '--format', '--state', '--no-state', '--policies', 'Exit codes', '130']) expect(r.stdout).toContain(opt);
  });

  it.each([
    [['missing.log'], /cannot read missing\.log/],
    [['--rules', '/nonexistent/rules', 'x.log'], /no such rule directory/],
  ])('exits 2 with a hint for %j', async (args, message) => {
    const r = await replay(['--dry-run', ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/hint|→|pass/i);
  });

  it('refuses invalid rules, naming the file and key', async () => {
    const rules = join(dir, 'bad-rules');
    mkdirSync(rules, { recursive: true });
    writeFileSync(join(rules, 'oops.yaml'), 'id: oops\ndescription: x\ntype: threshold\nwindow: 5m\nthreshold: 3\nseverity: severe\n');
    const r = await replay(['--dry-run', '--rules', rules, stuffing()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/oops\.yaml: severity/);
  });
});
