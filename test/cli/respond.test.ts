import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/respond/audit.js';
import { openRespondDb } from '../../src/respond/db.js';
import { Outbox } from '../../src/respond/outbox.js';
import { safeguardsSchema } from '../../src/respond/policies.js';
import { Safeguards } from '../../src/respond/safeguards.js';
import { runCli } from '../helpers/cli.js';

describe('tuskguard respond', { timeout: 120_000 }, () => {
  let home: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'tg-cli-respond-'));
    env = { TUSKGUARD_HOME: home };
    const db = openRespondDb(home);
    const sg = new Safeguards(db, safeguardsSchema.parse({ revocation_budget: { max: 0, window: '1h' } }));
    expect(sg.consumeRevocation('revoke', 'bot-a', 'f-1')).toMatchObject({ ok: false, tripped: true });
    const box = new Outbox(db);
    const { job } = box.enqueue({ key: 'k-dead', channel: 'notify-slack', payload: { text: 'x' }, maxAttempts: 1 });
    box.lease('notify-slack', 'w', 1, 1000);
    box.fail(job.id, 'w', 'Slack answered HTTP 500', { retryAt: 0 });
    new AuditLog(db, { file: join(home, 'audit.log') });
    db.close();
  });
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('status reports the open breaker and the dead job (exit 1); reset-breaker and requeue fix both, audited', async () => {
    const before = await runCli(['respond', 'status', '--output', 'json'], { env });
    expect(before.code).toBe(1);
    expect(JSON.parse(before.stdout)).toMatchObject({ breaker: { open: true }, outbox: { dead: 1 } });

    const reset = await runCli(['respond', 'reset-breaker', '--reason', 'checked: deploy storm', '--by', 'alice'], { env });
    expect(reset.code).toBe(0);
    expect(reset.stdout).toContain('circuit breaker closed');
    const requeue = await runCli(['respond', 'requeue', '--all-dead', '--by', 'alice', '--output', 'json'], { env });
    expect(JSON.parse(requeue.stdout)).toEqual({ requeued: 1 });

    const after = await runCli(['respond', 'status', '--output', 'json'], { env });
    expect(after.code).toBe(0);
    expect(JSON.parse(after.stdout)).toMatchObject({ breaker: { open: false }, outbox: { dead: 0, pending: 1 } });
    const audit = await runCli(['audit', 'list', '--output', 'json'], { env });
    expect(audit.stdout).toContain('"action":"breaker.reset"');
    expect(audit.stdout).toContain('"actor":"cli:alice"');
    expect(audit.stdout).toContain('"action":"outbox.requeue"');
  });

  it('policies validates the shipped file and names file and path of a bad one (exit 2)', async () => {
    expect((await runCli(['respond', 'policies', 'rules/policies.yaml'])).code).toBe(0);
    const bad = join(home, 'bad.yaml');
    writeFileSync(bad, 'version: 1\npolicies:\n  - id: x\n    actions:\n      - type: notify-slack\n        url: https://hooks.slack.com/services/T/B/secret\n');
    const res = await runCli(['respond', 'policies', bad]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(bad);
    expect(res.stderr).toMatch(/policies\.0\.actions\.0.*url/);
    expect(res.stderr).not.toContain('/services/T/B/secret');
  });
});
