import { createReadStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { ControlDb } from '../store/control.js';
import { canonicalJson, safeEqual } from './canonical.js';
import { anchorMac, GENESIS_HASH, hashRecord, parseRecord, rowToRecord, type AuditRecord } from './audit.js';
import { ensureRespondSchema } from './db.js';

/**
 * `audit verify`: proves the chain intact in the control DB, in the NDJSON file, between the
 * two, and against the anchor. Every problem is collected; `first_bad` is the one with the
 * lowest seq (anchor problems sort last).
 */
export interface AuditProblem {
  /** The record where the chain first breaks (the anchor's seq for anchor problems). */
  seq: number;
  /** Which copy is wrong. */
  source: 'db' | 'file' | 'anchor';
  /** What is wrong, for people. */
  problem: string;
}

export interface VerifyReport {
  ok: boolean;
  /** Records in the control DB. */
  records: number;
  /** Records (lines) in the file, or null when no file mirror is in use. */
  file_records: number | null;
  anchor: { seq: number; keyed: boolean; mac_checked: boolean } | null;
  first_bad: AuditProblem | null;
  /** Up to 20 problems, lowest seq first. */
  problems: AuditProblem[];
  warnings: string[];
}

const FIELDS = ['seq', 'at', 'actor', 'action', 'reason', 'finding_id', 'evidence_ref', 'target', 'result', 'details', 'prev_hash', 'hash'] as const;

/** The record's fields and nothing else, so an added field cannot hide from the hash. */
function pick(v: AuditRecord): AuditRecord {
  const out: Record<string, unknown> = {};
  for (const f of FIELDS) out[f] = v[f];
  return out as unknown as AuditRecord;
}

/** What is wrong with `r` as the successor of `prev` at position `expectedSeq`, or null. */
function chainProblem(r: AuditRecord, expectedSeq: number, prevHash: string): string | null {
  if (r.seq !== expectedSeq) {
    return r.seq > expectedSeq
      ? `expected seq ${expectedSeq}, found ${r.seq}: record(s) removed`
      : `expected seq ${expectedSeq}, found ${r.seq}: records reordered or duplicated`;
  }
  if (r.prev_hash !== prevHash) return 'prev_hash does not match the previous record: a record was removed, inserted or reordered';
  if (hashRecord(r) !== r.hash) return 'hash does not match the record: the record was edited';
  return null;
}

function verifyDb(db: ControlDb, problems: AuditProblem[]): Map<number, string> {
  const hashes = new Map<number, string>();
  let prev = GENESIS_HASH;
  let expected = 1;
  for (const row of db.prepare('SELECT * FROM audit_records ORDER BY seq').iterate()) {
    const r = rowToRecord(row as Parameters<typeof rowToRecord>[0]);
    const problem = chainProblem(r, expected, prev);
    if (problem) problems.push({ seq: expected, source: 'db', problem });
    hashes.set(r.seq, r.hash);
    prev = r.hash;
    expected = r.seq + 1;
  }
  return hashes;
}

async function verifyFile(file: string, dbHashes: Map<number, string>, problems: AuditProblem[]): Promise<number> {
  let prev = GENESIS_HASH;
  let expected = 1;
  let lineNo = 0;
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  for await (const line of lines) {
    lineNo += 1;
    const parsed = parseRecord(line);
    if (!parsed) {
      problems.push({ seq: expected, source: 'file', problem: `line ${lineNo} is not a JSON audit record` });
      prev = '';
      expected += 1;
      continue;
    }
    const r = pick(parsed);
    const problem =
      canonicalJson(r) !== line
        ? `line ${lineNo} is not the canonical form of its record: it was edited`
        : chainProblem(r, expected, prev);
    if (problem) problems.push({ seq: expected, source: 'file', problem });
    else if (dbHashes.has(r.seq) && dbHashes.get(r.seq) !== r.hash) {
      problems.push({ seq: r.seq, source: 'file', problem: 'the file and the control DB disagree on this record' });
    }
    prev = r.hash;
    expected = Number.isInteger(r.seq) ? r.seq + 1 : expected + 1;
  }
  return lineNo;
}

function verifyAnchor(db: ControlDb, last: { seq: number; hash: string } | null, key: string | null, report: VerifyReport): void {
  const a = db.prepare('SELECT seq, hash, keyed, mac FROM audit_anchor WHERE id = 1').get() as
    | { seq: number; hash: string; keyed: number; mac: string }
    | undefined;
  const problems = report.problems;
  if (!a) {
    if (last) problems.push({ seq: last.seq, source: 'anchor', problem: 'the anchor is missing although records exist' });
    return;
  }
  const keyed = a.keyed === 1;
  report.anchor = { seq: a.seq, keyed, mac_checked: keyed ? key !== null : true };
  if (!last || a.seq !== last.seq || a.hash !== last.hash) {
    problems.push({ seq: a.seq, source: 'anchor', problem: `the anchor names seq ${a.seq} but the chain ends at ${last?.seq ?? 0}: the tail was cut or the anchor rewritten` });
    return;
  }
  if (keyed && !key) {
    report.warnings.push('the anchor is HMAC-keyed but TUSKGUARD_AUDIT_KEY is not set: its MAC was not checked');
  } else if (!keyed && key) {
    problems.push({ seq: a.seq, source: 'anchor', problem: 'the anchor is not keyed although TUSKGUARD_AUDIT_KEY is set (run `tuskguard audit anchor` once after first setting the key)' });
  } else if (!safeEqual(a.mac, anchorMac(keyed ? key : null, a.seq, a.hash))) {
    problems.push({ seq: a.seq, source: 'anchor', problem: 'the anchor MAC does not verify: wrong TUSKGUARD_AUDIT_KEY, or the anchor was rewritten' });
  }
  if (!keyed && !key) report.warnings.push('no TUSKGUARD_AUDIT_KEY: the anchor is unkeyed and detects only careless truncation');
}

/** Verify the chain in `db` and, when given (or recorded as in use), the file mirror. */
export async function verifyAudit(db: ControlDb, options: { file?: string | null; anchorKey?: string | null } = {}): Promise<VerifyReport> {
  ensureRespondSchema(db);
  const problems: AuditProblem[] = [];
  const report: VerifyReport = { ok: false, records: 0, file_records: null, anchor: null, first_bad: null, problems, warnings: [] };
  const hashes = verifyDb(db, problems);
  report.records = hashes.size;
  const lastRow = db.prepare('SELECT seq, hash FROM audit_records ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: string } | undefined;
  const meta = db.prepare('SELECT file_mirror FROM audit_meta WHERE id = 1').get() as { file_mirror: number };
  const file = options.file ?? null;
  if (file && existsSync(file)) {
    report.file_records = await verifyFile(file, hashes, problems);
    if (report.file_records < report.records) {
      problems.push({ seq: report.file_records + 1, source: 'file', problem: `the file ends at seq ${report.file_records} but the control DB has ${report.records}: the tail of the file was removed` });
    } else if (report.file_records > report.records) {
      problems.push({ seq: report.records + 1, source: 'db', problem: `the control DB ends at seq ${report.records} but the file has ${report.file_records}: records were removed from the DB` });
    }
  } else if (meta.file_mirror === 1 && report.records > 0) {
    problems.push({ seq: 1, source: 'file', problem: `the audit file ${file ?? '(none given)'} is missing although records were mirrored to it` });
  }
  verifyAnchor(db, lastRow ?? null, options.anchorKey ?? null, report);
  const rank = (p: AuditProblem) => (p.source === 'anchor' ? Number.MAX_SAFE_INTEGER : p.seq);
  problems.sort((a, b) => rank(a) - rank(b));
  problems.splice(20);
  report.first_bad = problems[0] ?? null;
  report.ok = problems.length === 0;
  return report;
}
