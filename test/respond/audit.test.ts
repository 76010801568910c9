import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { AuditLog, GENESIS_HASH, hashRecord, recordLine, type AuditEntry } from '../../src/respond/audit.js';
import { verifyAudit } from '../../src/respond/audit-verify.js';
import { canonicalJson } from '../../src/respond/canonical.js';
import { openRespondDb } from '../../src/respond/db.js';
import type { ControlDb } from '../../src/store/control.js';
import type { ActionRecord } from '../../src/store/types.js';

const KEY = 'audit-test-key-0123456789abcdef';

function entry(i: number): AuditEntry {
  return {
    actor: 'tuskguard',
    action: i % 2 ? 'notify-slack' : 'revoke',
    reason: `policy p${i} matched rule r${i}`,
    finding_id: `f-${i}`,
    evidence_ref: `sha256:${String(i).repeat(64).slice(0, 64)}`,
    target: `key-${i}`,
    result: 'queued',
    details: { policy: `p${i}`, count: i, nested: { z: 1, a: [i, 'é'] } },
  };
}

describe('audit chain', () => {
  let home: string;
  let db: ControlDb;
  let file: string;
  const clock = new ManualClock(Date.parse('2025-03-01T12:00:00Z'));

  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'tg-audit-'));
    db = openRespondDb(home);
    file = join(home, 'audit.log');
  });
  afterEach(() => {
    db.close();
    rmSync(home, { recursive: true, force: true });
  });

  function fill(n: number, key: string | null = KEY): AuditLog {
    const log = new AuditLog(db, { file, anchorKey: key, clock });
    for (let i = 1; i <= n; i++) {
      clock.advance(1_000);
      log.append(entry(i));
    }
    return log;
  }

  it('canonicalJson sorts keys at every depth and refuses non-finite numbers', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { y: 1, x: 0 }], c: null } })).toBe('{"a":{"c":null,"d":[2,{"x":0,"y":1}]},"b":1}');
    expect(() => canonicalJson({ a: Number.NaN })).toThrow(/non-finite/);
  });

  it('chains records: seq from 1, prev_hash links, hash over the canonical form', () => {
    const log = fill(3);
    const records = log.list();
    expect(records.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(records[0]!.prev_hash).toBe(GENESIS_HASH);
    expect(records[1]!.prev_hash).toBe(records[0]!.hash);
    for (const r of records) expect(hashRecord(r)).toBe(r.hash);
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    expect(lines).toEqual(records.map((r) => recordLine(r).trimEnd()));
  });

  it('verifies an intact chain (DB, file and keyed anchor)', async () => {
    fill(5);
    const report = await verifyAudit(db, { file, anchorKey: KEY });
    expect(report).toMatchObject({ ok: true, records: 5, file_records: 5, first_bad: null });
    expect(report.anchor).toEqual({ seq: 5, keyed: true, mac_checked: true });
  });

  it('detects an edited DB record and names its seq', async () => {
    fill(5);
    db.prepare("UPDATE audit_records SET reason = 'nothing to see' WHERE seq = 3").run();
    const report = await verifyAudit(db, { file, anchorKey: KEY });
    expect(report.ok).toBe(false);
    expect(report.first_bad).toMatchObject({ seq: 3, source: 'db' });
    expect(report.first_bad!.problem).toMatch(/edited/);
  });

  it('detects a removed DB record', async () => {
    fill(5);
    db.prepare('DELETE FROM audit_records WHERE seq = 2').run();
    const report = await verifyAudit(db, { file, anchorKey: KEY });
    expect(report.first_bad).toMatchObject({ seq: 2, source: 'db' });
    expect(report.first_bad!.problem).toMatch(/removed/);
  });

  it('detects two records swapped in the file', async () => {
    fill(4);
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    [lines[1], lines[2]] = [lines[2]!, lines[1]!];
    writeFileSync(file, `${lines.join('\n')}\n`);
    const report = await verifyAudit(db, { file, anchorKey: KEY });
    expect(report.first_bad).toMatchObject({ seq: 2, source: 'file' });
    expect(report.first_bad!.problem).toMatch(/reordered|removed/);
  });

  it('detects a field added to a file line (the hash alone would not change)', async () => {
    fill(2);
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    const r = JSON.parse(lines[0]!) as Record<string, unknown>;
    lines[0] = canonicalJson({ ...r, approved_by: 'nobody' });
    writeFileSync(file, `${lines.join('\n')}\n`);
    const report = await verifyAudit(db, { file, anchorKey: KEY });
    expect(report.first_bad).toMatchObject({ seq: 1, source: 'file' });
  });

  it('fails when any single byte of the audit log file is changed', async () => {
    fill(3);
    const original = readFileSync(file);
    expect((await verifyAudit(db, { file, anchorKey: KEY })).ok).toBe(true);
    // Every byte position, each changed by flipping its lowest bit.
    for (let i = 0; i < original.length; i++) {
      const copy = Buffer.from(original);
      copy[i] = copy[i]! ^ 0x01;
      writeFileSync(file, copy);
      const report = await verifyAudit(db, { file, anchorKey: KEY });
      if (report.ok) throw new Error(`byte ${i} changed and verify still passed`);
      expect(report.first_bad!.source).toBe('file');
    }
    writeFileSync(file, original);
    expect((await verifyAudit(db, { file, anchorKey: KEY })).ok).toBe(true);
  });

  it('detects the tail cut from both the DB and the file through the keyed anchor', async () => {
    fill(4);
    db.prepare('DELETE FROM audit_records WHERE seq = 4').run();
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean).slice(0, 3);
    writeFileSync(file, `${lines.join('\n')}\n`);
    const report = await verifyAudit(db, { file, anchorKey: KEY });
    expect(report.ok).toBe(false);
    expect(report.first_bad).toMatchObject({ source: 'anchor', seq: 4 });
  });

  it('detects a forged anchor without the key', async () => {
    fill(4);
    db.prepare('DELETE FROM audit_records WHERE seq = 4').run();
    const head = db.prepare('SELECT hash FROM audit_records WHERE seq = 3').get() as { hash: string };
    // The attacker rewrites the anchor but cannot compute the HMAC: they try a plain SHA-256.
    db.prepare("UPDATE audit_anchor SET seq = 3, hash = ?, keyed = 0, mac = 'x' WHERE id = 1").run(head.hash);
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean).slice(0, 3);
    writeFileSync(file, `${lines.join('\n')}\n`);
    const report = await verifyAudit(db, { file, anchorKey: KEY });
    expect(report.first_bad?.source).toBe('anchor');
  });

  it('detects the tail cut from the file only, and a deleted file', async () => {
    fill(3);
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean).slice(0, 2);
    writeFileSync(file, `${lines.join('\n')}\n`);
    expect((await verifyAudit(db, { file, anchorKey: KEY })).first_bad).toMatchObject({ seq: 3, source: 'file' });
    rmSync(file);
    expect((await verifyAudit(db, { file, anchorKey: KEY })).first_bad!.problem).toMatch(/missing/);
  });

  it('warns (and still passes) when the anchor is keyed but no key is given', async () => {
    fill(2);
    const report = await verifyAudit(db, { file });
    expect(report.ok).toBe(true);
    expect(report.warnings.join(' ')).toMatch(/not checked/);
  });

  it('backfills a file mirror enabled later and rolls forward a record the DB missed', async () => {
    const plain = new AuditLog(db, { clock, anchorKey: KEY });
    plain.append(entry(1));
    plain.append(entry(2));
    const mirrored = new AuditLog(db, { file, clock, anchorKey: KEY });
    expect(readFileSync(file, 'utf8').split('\n').filter(Boolean)).toHaveLength(2);
    const r3 = mirrored.append(entry(3));
    // Simulate a crash after the file write but before the DB commit.
    db.prepare('DELETE FROM audit_records WHERE seq = 3').run();
    new AuditLog(db, { file, clock, anchorKey: KEY });
    expect(db.prepare('SELECT hash FROM audit_records WHERE seq = 3').get()).toEqual({ hash: r3.hash });
    expect((await verifyAudit(db, { file, anchorKey: KEY })).ok).toBe(true);
  });

  it('mirrors records to the store as ActionRecords and catches up after a failure', async () => {
    const received: ActionRecord[] = [];
    let down = true;
    const mirror = async (records: readonly ActionRecord[]) => {
      if (down) throw new Error('store down');
      received.push(...records);
    };
    const log = new AuditLog(db, { clock, mirror });
    log.append({ ...entry(1), details: { policy: 'p1', key: 'key-1', rule: 'r1', dry_run: true } });
    await log.flushMirror();
    expect(received).toHaveLength(0);
    down = false;
    log.append(entry(2));
    await log.flushMirror();
    expect(received.map((r) => r.id)).toEqual(['audit-1', 'audit-2']);
    expect(received[0]).toMatchObject({ action: 'notify-slack', key: 'key-1', policy: 'p1', rule: 'r1', dry_run: true, finding: 'f-1', status: 'queued' });
    expect(received[0]!['@timestamp']).toMatch(/^2025-03-01T/);
  });
});
