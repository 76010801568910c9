import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/respond/audit.js';
import { openRespondDb } from '../../src/respond/db.js';
import { runCli } from '../helpers/cli.js';

const KEY = 'cli-test-audit-key-000000000000000';

describe('tuskguard audit', { timeout: 120_000 }, () => {
  let home: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'tg-cli-audit-'));
    env = { TUSKGUARD_HOME: home, TUSKGUARD_AUDIT_KEY: KEY };
    const db = openRespondDb(home);
    const log = new AuditLog(db, { file: join(home, 'audit.log'), anchorKey: KEY });
    for (const [action, result] of [['revoke', 'approval-pending'], ['notify-slack', 'queued'], ['approval.approve', 'approved']]) {
      log.append({ actor: 'tuskguard', action: action!, reason: 'policy kill: admin-mass-action (critical)', finding_id: 'f-1', target: 'moderation-bot', result: result! });
    }
    db.close();
  });
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('verify exits 0 on an intact chain (human and json)', async () => {
    const human = await runCli(['audit', 'verify'], { env });
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('audit chain intact: 3 records; file 3; anchor at seq 3 (HMAC-keyed)');
    const json = await runCli(['audit', 'verify', '--output', 'json'], { env });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, records: 3, file_records: 3, anchor: { seq: 3, keyed: true, mac_checked: true } });
  });

  it('list prints the records in order', async () => {
    const res = await runCli(['audit', 'list', '--output', 'json'], { env });
    expect(res.code).toBe(0);
    const lines = res.stdout.trim().split('\n').map((l) => JSON.parse(l) as { seq: number; action: string });
    expect(lines.map((r) => [r.seq, r.action])).toEqual([[1, 'revoke'], [2, 'notify-slack'], [3, 'approval.approve']]);
  });

  it('verify exits 1 naming the record after ONE byte of audit.log is changed', async () => {
    const file = join(home, 'audit.log');
    const original = readFileSync(file);
    const second = original.indexOf('notify-slack');
    const copy = Buffer.from(original);
    copy[second] = 'N'.charCodeAt(0); // notify-slack → Notify-slack in record 2
    writeFileSync(file, copy);
    try {
      const human = await runCli(['audit', 'verify'], { env });
      expect(human.code).toBe(1);
      expect(human.stdout).toMatch(/audit chain BROKEN at seq 2 \(file\): .*edited/);
      const json = await runCli(['audit', 'verify', '--output', 'json'], { env });
      expect(json.code).toBe(1);
      expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, first_bad: { seq: 2, source: 'file' } });
    } finally {
      writeFileSync(file, original);
    }
    expect((await runCli(['audit', 'verify'], { env })).code).toBe(0);
  });

  it('verify on a home without a chain exits 0 and creates nothing', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'tg-cli-empty-'));
    const res = await runCli(['audit', 'verify'], { env: { TUSKGUARD_HOME: empty } });
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('0 records');
    expect(() => readFileSync(join(empty, 'control.db'))).toThrow();
    rmSync(empty, { recursive: true, force: true });
  });

  it('has --help', async () => {
    const res = await runCli(['audit', 'verify', '--help']);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('Exit codes: 0 intact, 1 broken');
  });
});
