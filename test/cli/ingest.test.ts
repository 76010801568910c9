import Database from 'better-sqlite3';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

// The repo's copy of ../shared/corpora (CI clones the repo elsewhere; shared/ need not be beside it).
const CORPUS = join(import.meta.dirname, '../fixtures/logs/apache-combined-10k.log');
const TOKEN = 'ingestTestTokenAbCdEf0123456789';

function workspace() {
  const dir = mkdtempSync(join(tmpdir(), 'tg-ingest-'));
  const config = join(dir, 'tuskguard.yaml');
  writeFileSync(config, `home: ${join(dir, 'home')}\njoin: { wait: 1s }\n`);
  return { dir, config, home: join(dir, 'home') };
}

function events(home: string): Array<Record<string, unknown>> {
  const db = new Database(join(home, 'events.db'), { readonly: true });
  try {
    return (db.prepare('SELECT doc FROM events ORDER BY ts, id').all() as Array<{ doc: string }>).map((r) => JSON.parse(r.doc));
  } finally {
    db.close();
  }
}

const rid = (n: number) => n.toString(16).padStart(32, '0');
const proxy = (n: number, sec: number) =>
  JSON.stringify({ ts: `2026-11-02T14:00:${String(sec).padStart(2, '0')}+00:00`, msec: Date.parse('2026-11-02T14:00:00Z') / 1000 + sec, ip: '203.0.113.7', xff: '', rid: rid(n), host: 'social.example', method: 'GET', uri: '/api/v1/timelines/home', status: 200, bytes: 10, rt: 0.01, ua: 'Tusky/25.2', fp: '' });
const mastodon = (n: number, sec: number) =>
  `I, [2026-11-02T14:00:${String(sec).padStart(2, '0')}.000000 #12]  INFO -- : [${rid(n)}] method=GET path=/api/v1/timelines/home format=*/* controller=Api::V1::Timelines::HomeController action=show status=200 allocations=1 duration=8.00 view=1.00 db=2.00`;

describe('tuskguard ingest', () => {
  it('backfills the 10k-line combined corpus with nothing rejected', async () => {
    const w = workspace();
    const r = await runCli(['ingest', '--config', w.config, '--format', 'combined', CORPUS], { timeoutMs: 120_000 });
    expect(r.stderr).toMatch(/ingest: 100%/);
    expect(r.stdout.trim()).toBe('ingested 10000, rejected 0');
    expect(r.code).toBe(0);
    expect(events(w.home)).toHaveLength(10_000);
  }, 120_000);

  it('joins proxy and Mastodon files on event time, reads gzip, dead-letters bad lines with reasons, and reports JSON', async () => {
    const w = workspace();
    const proxyFile = join(w.dir, 'access.json');
    const mastodonFile = join(w.dir, 'production.log.1.gz');
    const bad = [
      'not json at all',
      proxy(5, 30).replace('"status":200', '"status":"two hundred"'), // JSON with a wrong type
      '{"ts":"2026-11-02T14:00:31+00:00"}', // JSON missing its fields
      `{"pad":"${'x'.repeat(1024 * 1024)}"}`,
      `GET /api/v1/streaming?access_token=${TOKEN}`,
    ];
    writeFileSync(proxyFile, `${[proxy(1, 1), proxy(2, 2), ...bad, proxy(3, 40)].join('\n')}\n`);
    writeFileSync(mastodonFile, gzipSync(`${[mastodon(1, 1), mastodon(3, 40)].join('\n')}\n`));
    const bytes = Buffer.concat([Buffer.from(`${proxy(4, 41)}\n`), Buffer.from([0x7b, 0xc3, 0x28, 0x7d, 0x0a])]);
    const extra = join(w.dir, 'more.json');
    writeFileSync(extra, bytes);
    const r = await runCli(['ingest', '--config', w.config, '--output', 'json', proxyFile, mastodonFile, extra]);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout.trim());
    expect(summary).toMatchObject({
      ingested: 6,
      rejected: 6,
      dead_letter: expect.stringMatching(/home\/dead-letter\/\d{4}-\d\d-\d\d\.ndjson$/),
      files: [
        { path: proxyFile, format: 'nginx-json' },
        { path: mastodonFile, format: 'mastodon' },
        { path: extra, format: 'nginx-json' },
      ],
    });
    const stored = events(w.home);
    expect(stored.map((e) => [e['http.request.id'], e['event.dataset']])).toEqual([
      [rid(1), 'joined'],
      [rid(2), 'nginx-json'],
      [rid(3), 'joined'],
      [rid(4), 'nginx-json'],
    ]);
    expect(stored[0]!['mastodon.controller']).toBe('Api::V1::Timelines::HomeController');
    const dead = readFileSync(summary.dead_letter, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(dead.map((d) => [d.origin.split('/').at(-1), d.position, d.reason])).toEqual([
      ['access.json', 3, 'invalid-json'],
      ['access.json', 4, 'wrong-type'],
      ['access.json', 5, 'missing-field'],
      ['access.json', 6, 'line-too-long'],
      ['access.json', 7, 'invalid-json'],
      ['more.json', 2, 'invalid-utf8'],
    ]);
    expect(Buffer.from(dead[5].line_b64, 'base64')).toEqual(Buffer.from([0x7b, 0xc3, 0x28, 0x7d]));
    expect(readFileSync(summary.dead_letter, 'utf8')).not.toContain(TOKEN);
    expect(r.stderr).not.toContain(TOKEN);
  }, 60_000);

  it('says where rejected lines went in the human summary', async () => {
    const w = workspace();
    const f = join(w.dir, 'a.log');
    writeFileSync(f, `${proxy(9, 9)}\n{broken\n`);
    const r = await runCli(['ingest', '--config', w.config, f]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^ingested 1, rejected 1 \(dead-lettered to .+\/home\/dead-letter\/\d{4}-\d\d-\d\d\.ndjson\)$/);
  });

  it.each([
    ['a missing file', ['/nonexistent/access.log'], /cannot read \/nonexistent\/access\.log/],
    ['an unknown --format', ['--format', 'apache-xml', '/etc/hostname'], /apache-xml/],
    ['no file at all', [], /missing required argument/],
  ])('exits 2 on %s', async (_name, args, pattern) => {
    const w = workspace();
    const r = await runCli(['ingest', '--config', w.config, ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(pattern);
  });

  it('has --help naming --format and --output', async () => {
    const r = await runCli(['ingest', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--format/);
    expect(r.stdout).toMatch(/--output/);
  });
});
