import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../../helpers/cli.js';
import { HttpReceiver } from '../../helpers/slack-receiver.js';
import { SmtpTestServer } from '../../helpers/smtp.js';
import { startMastodonSim, type MastodonSim } from '../../mastodon-sim/index.js';
import { buildScenario, createKeys, type Scenario } from './scenario.js';

/**
 * Issue 5 "Done means", through the real CLI with the shipped rules and policies: replaying an
 * attack log with response enabled against the Mastodon simulator revokes the abused keys
 * (401 confirmed), alerts Slack and email with the evidence, leaves the protected admin key
 * waiting for approval, stops at the revocation budget (3 per hour in rules/policies.yaml;
 * five keys are abused), and `audit verify` passes — then fails after one byte of the audit
 * log is changed. Keys go in with `tuskguard keys import` (pepper and master key from the env).
 */
const SLOW = 120_000;
const BUDGET = 3;

let dir: string;
let sim: MastodonSim;
let slack: HttpReceiver;
let smtp: SmtpTestServer;
let scenario: Scenario;
let env: NodeJS.ProcessEnv;
let replay: CliResult;
const transcript: string[] = [];

const tokenOf = (id: string) => scenario.keys.find((k) => k.id === id)!.token;
const state = (id: string) => (sim.state.findToken(tokenOf(id))?.revokedAt ? 'revoked' : 'live');
const bots = (n: number) => Array.from({ length: n }, (_, i) => `bot-${i + 1}`);

async function cli(args: string[]): Promise<CliResult> {
  const r = await runCli(args, { env, timeoutMs: SLOW });
  transcript.push(r.stdout, r.stderr);
  return r;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tg-done-means-'));
  [sim, slack, smtp] = await Promise.all([startMastodonSim(), HttpReceiver.start(), SmtpTestServer.start()]);
  const pepper = `pepper-${randomBytes(16).toString('hex')}`;
  env = {
    TUSKGUARD_HOME: join(dir, 'home'),
    TUSKGUARD_PEPPER: pepper,
    TUSKGUARD_MASTER_KEY: randomBytes(32).toString('hex'),
    TUSKGUARD_AUDIT_KEY: randomBytes(24).toString('hex'),
    TUSKGUARD_APPROVAL_SECRET: randomBytes(24).toString('hex'),
    TUSKGUARD_PUBLIC_URL: 'https://tuskguard.example.org',
    TUSKGUARD_SLACK_WEBHOOK_URL: slack.url(),
    TUSKGUARD_SMTP_URL: smtp.url(),
    TUSKGUARD_ALERT_EMAIL_FROM: 'tuskguard@example.org',
    TUSKGUARD_ALERT_EMAIL_TO: 'oncall@example.org',
    TUSKGUARD_POLICIES: '',
    TUSKGUARD_LOG_LEVEL: 'info',
  };
  scenario = buildScenario(sim, await createKeys(sim, 5), pepper);
  writeFileSync(join(dir, 'inventory.json'), JSON.stringify(scenario.inventory));
  writeFileSync(join(dir, 'attack.log'), `${scenario.lines.join('\n')}\n`);
  const imported = await cli(['keys', 'import', join(dir, 'inventory.json')]);
  expect(imported.code, imported.stderr).toBe(0);
  replay = await cli(['replay', join(dir, 'attack.log'), '--output', 'json', '--drain-timeout', '30s']);
}, SLOW);

afterAll(async () => {
  await Promise.all([sim?.close(), slack?.close(), smtp?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

describe('Done means (issue 5)', () => {
  it('replays the attack: six findings, each with what the responder did, and the outbox drained', () => {
    expect(replay.code, replay.stderr).toBe(0);
    const findings = replay.stdout.trim().split('\n').map((l) => JSON.parse(l) as { rule: string; key: string; response: { outcomes: Array<{ action: string; status: string }> } });
    expect(findings.map((f) => `${f.rule}:${f.key}`)).toEqual(['admin-mass-action:instance-admin', ...bots(5).map((b) => `scope-probing:${b}`)]);
    const revoke = (key: string) => findings.find((f) => f.key === key)!.response.outcomes.find((o) => o.action === 'revoke')!.status;
    expect(['instance-admin', ...bots(5)].map(revoke)).toEqual(['approval-pending', 'queued', 'queued', 'queued', 'blocked', 'blocked']);
    expect(replay.stderr).not.toMatch(/still pending|dead-lettered/);
  });

  it('revoked the abused keys on Mastodon, and the 401 is confirmed (independently, too)', async () => {
    expect(bots(BUDGET).map(state)).toEqual(['revoked', 'revoked', 'revoked']);
    for (const id of bots(BUDGET)) {
      const res = await fetch(`${sim.url}/oauth/token/info`, { headers: { authorization: `Bearer ${tokenOf(id)}` } });
      expect(res.status).toBe(401);
    }
    const audit = await cli(['audit', 'list', '--limit', '500', '--output', 'json']);
    const records = audit.stdout.trim().split('\n').map((l) => JSON.parse(l) as { action: string; target: string; result: string; details: Record<string, any> });
    const revoked = records.filter((r) => r.action === 'key.revoke' && r.result === 'done');
    expect(revoked.map((r) => r.target).sort()).toEqual(bots(BUDGET));
    for (const r of revoked) expect(r.details.verification.tokens).toEqual([expect.objectContaining({ status: 401, confirmed: true })]);
    const keys = JSON.parse((await cli(['keys', 'list', '--output', 'json'])).stdout) as Array<{ id: string; status: string }> | { keys: Array<{ id: string; status: string }> };
    const list = Array.isArray(keys) ? keys : keys.keys;
    expect(Object.fromEntries(list.map((k) => [k.id, k.status]))).toMatchObject(Object.fromEntries(bots(BUDGET).map((b) => [b, 'revoked'])));
  });

  it('left the protected admin key live, waiting for a person, with approve/deny links in Slack and email', async () => {
    expect(state('instance-admin')).toBe('live');
    const status = await cli(['respond', 'status', '--output', 'json']);
    expect(JSON.parse(status.stdout)).toMatchObject({ approvals_pending: 1 });
    const alert = slack.requests.map((r) => r.raw).find((b) => b.includes('admin-mass-action') && b.includes('instance-admin'))!;
    expect(alert).toMatch(/https:\/\/tuskguard\.example\.org\/approvals\/v1\.[^"]+approve/);
    const mail = smtp.messages.find((m) => m.parsed.subject?.includes('admin-mass-action'))!;
    expect(mail.parsed.text).toMatch(/https:\/\/tuskguard\.example\.org\/approvals\/v1\./);
  });

  it('stopped at the budget: breaker open, a loud alert on both channels, the remaining keys untouched', async () => {
    expect(bots(5).slice(BUDGET).map(state)).toEqual(['live', 'live']);
    const status = await cli(['respond', 'status', '--output', 'json']);
    expect(status.code).toBe(1);
    expect(JSON.parse(status.stdout)).toMatchObject({ breaker: { open: true }, budget: { used: BUDGET, max: BUDGET } });
    expect(slack.requests.some((r) => r.raw.includes('circuit breaker OPEN') && r.raw.includes('CRITICAL'))).toBe(true);
    expect(smtp.messages.some((m) => (m.parsed.subject ?? '').includes('circuit breaker OPEN'))).toBe(true);
  });

  it('alerted Slack and email about each abused key with the evidence', () => {
    for (const id of bots(5)) {
      const body = slack.requests.map((r) => r.raw).find((b) => b.includes('scope-probing') && b.includes(id));
      expect(body, `Slack alert for ${id}`).toBeDefined();
      expect(body).toContain('Evidence');
      expect(body).toContain(JSON.parse(replay.stdout.trim().split('\n').find((l) => l.includes(`"key":"${id}"`))!).fingerprint);
      const mail = smtp.messages.find((m) => (m.parsed.subject ?? '').includes('scope-probing') && (m.parsed.text ?? '').includes(id));
      expect(mail, `email for ${id}`).toBeDefined();
      expect(mail!.parsed.text).toMatch(/refused on \d+ different scoped endpoints/);
      expect(mail!.parsed.html).toBeTruthy();
    }
  });

  it('never shows a token or client secret: not in alerts, mails, CLI output, logs or the audit log', () => {
    const secrets = scenario.keys.flatMap((k) => [k.token, k.clientSecret]);
    const seen = [...transcript, ...slack.requests.map((r) => r.raw), ...smtp.messages.map((m) => m.raw), readFileSync(join(dir, 'home', 'audit.log'), 'utf8')].join('\n');
    expect(secrets.filter((s) => seen.includes(s))).toEqual([]);
  });

  it('audit verify passes, then fails naming the record after one byte of audit.log is changed', async () => {
    const ok = await cli(['audit', 'verify']);
    expect(ok.code, ok.stdout).toBe(0);
    expect(ok.stdout).toMatch(/audit chain intact: \d+ records/);
    const file = join(dir, 'home', 'audit.log');
    const text = readFileSync(file, 'utf8');
    // The record of the first revocation: one byte of its target changes (bot-1 → bot-9).
    const target = text.split('\n').find((l) => l.includes('"action":"key.revoke"'))!;
    const seq = (JSON.parse(target) as { seq: number }).seq;
    const at = Buffer.byteLength(text.slice(0, text.indexOf(target))) + Buffer.byteLength(target.slice(0, target.indexOf('"target":"bot-') + '"target":"bot-'.length));
    const bytes = readFileSync(file);
    bytes[at] = '9'.charCodeAt(0);
    writeFileSync(file, bytes);
    expect(bytes.length).toBe(Buffer.byteLength(text));
    const bad = await cli(['audit', 'verify', '--output', 'json']);
    expect(bad.code).toBe(1);
    const report = JSON.parse(bad.stdout) as { ok: boolean; first_bad: { seq: number; source: string } };
    expect(report.ok).toBe(false);
    expect(report.first_bad).toMatchObject({ seq, source: 'file' });
  });
});
