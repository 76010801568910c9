import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fingerprint } from '../../src/core/fingerprint.js';
import { runCli } from '../helpers/cli.js';

const FIX = 'test/rules';
const lines = (s: string) => s.trim().split('\n').filter(Boolean);

function tmp(files: Record<string, string>): string {
  const d = mkdtempSync(join(tmpdir(), 'tg-rules-cli-'));
  for (const [n, t] of Object.entries(files)) writeFileSync(join(d, n), t);
  return d;
}

describe('tuskguard rules validate', () => {
  it('accepts the shipped rule pack', async () => {
    const r = await runCli(['rules', 'validate']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('ok: 12 valid rule(s) in 12 file(s)');
  });

  it('exits 1 naming the file and the path of each bad key, in human and JSON form', async () => {
    const d = tmp({
      'good.yaml': 'id: good\ndescription: ok\ntype: threshold\nseverity: low\nwindow: 1m\nthreshold: 3\n',
      'bad.yaml': 'id: bad\ndescription: x\ntype: threshold\nseverity: low\nwindow: 1m\nthreshold: 3\nfilter:\n  http.response.status_code: { equals: "403" }\nwindoww: 2m\n',
    });
    const human = await runCli(['rules', 'validate', d]);
    expect(human.code).toBe(1);
    expect(human.stdout).toContain(`${join(d, 'bad.yaml')}: windoww: unknown key`);
    const json = await runCli(['rules', 'validate', d, '--output', 'json']);
    expect(json.code).toBe(1);
    const doc = JSON.parse(json.stdout) as { valid: boolean; rules: string[]; issues: Array<{ file: string; path: string; message: string }> };
    expect(doc.valid).toBe(false);
    expect(doc.rules).toEqual(['good']);
    expect(doc.issues.map((i) => i.path).sort()).toEqual(['filter["http.response.status_code"].equals', 'windoww'].sort());
    expect(doc.issues.every((i) => i.file.endsWith('bad.yaml'))).toBe(true);
  });

  it('exits 2 with a hint for a missing directory', async () => {
    const r = await runCli(['rules', 'validate', 'no/such/dir']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no such rule directory.*\n\s+hint:/);
  });
});

describe('tuskguard rules test', () => {
  const data = `${FIX}/revoked-key-use/input.log`;
  const keys = `${FIX}/revoked-key-use/keys.json`;

  it('prints one JSON finding per line with the contract fields, matching the fixture', async () => {
    const r = await runCli(['rules', 'test', 'revoked-key-use', '--data', data, '--keys', keys, '--output', 'json']);
    expect(r.code).toBe(0);
    const out = lines(r.stdout).map((l) => JSON.parse(l) as Record<string, unknown>);
    const expected = JSON.parse(readFileSync(`${FIX}/revoked-key-use/expect.json`, 'utf8')) as { findings: unknown[] };
    expect(out.map((f) => ({ rule: f.rule, key: f.key, fingerprint: f.fingerprint, severity: f.severity, at: f.at }))).toEqual(expected.findings);
    expect(Object.keys(out[0]!).slice(0, 7)).toEqual(['rule', 'key', 'fingerprint', 'severity', 'at', 'summary', 'evidence']);
    expect(out[0]!.evidence).toMatchObject({ count: 1, threshold: 1, why: expect.stringContaining('reached the threshold') });
    expect(JSON.parse(lines(r.stderr).at(-1)!)).toMatchObject({ rule: 'revoked-key-use', events: 734, findings: 3, late: 0 });
  });

  it('explains each finding in human form', async () => {
    const r = await runCli(['rules', 'test', 'rules/detections/write-spam.yaml', '--data', `${FIX}/write-spam/input.log.gz`, '--keys', `${FIX}/write-spam/keys.json`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('2026-10-29T14:04:40.000Z  MEDIUM  write-spam  poster-bot');
    expect(r.stdout).toMatch(/why: 30 events within 10m against [\d.]+ expected/);
    expect(r.stdout).toContain('rule: A key suddenly wrote far more than usual');
    expect(r.stderr).toMatch(/write-spam: 1 finding\(s\) from 3222 events \(nginx-json\)/);
  });

  it('reads event NDJSON (.ndjson) as well as logs', async () => {
    const events = Array.from({ length: 3 }, (_, i) => JSON.stringify({
      '@timestamp': `2026-11-02T10:00:0${i}.000Z`, 'event.id': `e${i}`, 'event.dataset': 'nginx-json',
      'tuskguard.fingerprint': 'a'.repeat(32), 'tuskguard.key_id': 'k1', 'http.response.status_code': 401,
    }));
    const d = tmp({ 'events.ndjson': `${events.join('\n')}\nnot json\n` });
    const r = await runCli(['rules', 'test', 'revoked-key-use', '--data', join(d, 'events.ndjson'), '--output', 'json']);
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toHaveLength(1);
    expect(JSON.parse(lines(r.stderr).at(-1)!)).toMatchObject({ format: 'events', events: 3, rejected: { 'invalid-json': 1 } });
  });

  it('never prints a raw token: findings carry only fingerprints', async () => {
    const pepper = 'rules-cli-test-pepper-0123456789';
    const tokens = Array.from({ length: 12 }, (_, i) => `StuffedTokenNumber${String(i).padStart(2, '0')}xxxxxxxxxxxxxxxxxxxxxxxx`);
    const log = tokens
      .map((tok, i) => `198.51.100.10 - - [02/Nov/2026:14:03:${String(i).padStart(2, '0')} +0000] "GET /api/v1/streaming/user?access_token=${tok} HTTP/1.1" 401 5 "-" "python-requests/2.31"`)
      .join('\n');
    const d = tmp({ 'stuff.log': `${log}\n` });
    const r = await runCli(['rules', 'test', 'token-stuffing', '--data', join(d, 'stuff.log'), '--format', 'combined', '--output', 'json'], {
      env: { TUSKGUARD_PEPPER: pepper },
    });
    expect(r.code).toBe(0);
    const [finding] = lines(r.stdout).map((l) => JSON.parse(l) as { group: Record<string, string>; evidence: { values: string[] } });
    expect(finding!.group).toEqual({ 'source.network': '198.51.100.0/24' });
    expect(finding!.evidence.values).toContain(fingerprint(pepper, tokens[9]!));
    for (const tok of tokens) {
      expect(r.stdout).not.toContain(tok);
      expect(r.stderr).not.toContain(tok);
    }
  });

  it.each([
    [['rules', 'test', 'no-such-rule', '--data', 'x.log'], /no rule "no-such-rule".*\n\s+hint: known rules: admin-enumeration/],
    [['rules', 'test', 'write-spam', '--data', 'missing.log'], /no such data file: missing\.log/],
    [['rules', 'test', 'write-spam'], /required option '-d, --data <file>'/],
  ])('exits 2 on a usage error: %j', async (args, message) => {
    const r = await runCli(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('has help', async () => {
    const r = await runCli(['rules', 'test', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--output <mode>');
  });
});

describe('tuskguard rules test on malformed event JSON', () => {
  it('rejects records with wrongly typed fields, counts them by reason and keeps going', async () => {
    const good = (i: number) => JSON.stringify({ '@timestamp': `2026-11-02T10:00:0${i}.000Z`, 'event.id': `g${i}`, 'tuskguard.fingerprint': 'a'.repeat(32), 'tuskguard.key_id': 'k1', 'http.response.status_code': 401 });
    const bad = [
      JSON.stringify({ '@timestamp': '2026-11-02T10:00:00Z', 'event.id': 'b1', 'http.response.status_code': '401' }),
      JSON.stringify({ '@timestamp': '2026-11-02T10:00:00Z', 'event.id': 'b2', 'mastodon.required_scopes': 'read' }),
      JSON.stringify({ 'event.id': 'b3' }),
      '[1,2,3]',
    ];
    const d = tmp({ 'mixed.ndjson': [good(0), ...bad, good(1)].join('\n') });
    const r = await runCli(['rules', 'test', 'revoked-key-use', '--data', join(d, 'mixed.ndjson'), '--output', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(lines(r.stderr).at(-1)!)).toMatchObject({ events: 2, rejected: { 'wrong-type': 2, 'missing-field': 1, 'invalid-json': 1 } });
    expect(lines(r.stdout)).toHaveLength(1);
  });
});
