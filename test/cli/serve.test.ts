import Database from 'better-sqlite3';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

const ENTRY = fileURLToPath(new URL('../../src/cli/index.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** tsx by absolute URL: a child started in a temp dir cannot resolve the bare name. */
const TSX = import.meta.resolve('tsx');
const PUSH_TOKEN = 'serve-test-push-token-4242';
const children: ChildProcessWithoutNullStreams[] = [];

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

interface Running {
  child: ChildProcessWithoutNullStreams;
  info: { url: string; store: string; home: string; sources: Array<{ id: string; type: string }> };
  stderr: () => string;
  exited: Promise<{ code: number | null; stdout: string }>;
}

/** Start `serve --output json` and resolve once it printed its listening line. */
function serve(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Running> {
  const child = spawn(process.execPath, ['--import', TSX, ENTRY, 'serve', '--output', 'json', ...args], {
    cwd,
    env: { ...process.env, NODE_NO_WARNINGS: '1', TUSKGUARD_PUSH_TOKEN: PUSH_TOKEN, TUSKGUARD_PEPPER: '', ...env },
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<{ code: number | null; stdout: string }>((r) => child.on('close', (code) => r({ code, stdout })));
  return new Promise((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      const first = stdout.split('\n')[0];
      if (stdout.includes('\n') && first) resolve({ child, info: JSON.parse(first), stderr: () => stderr, exited });
    });
    child.on('close', (code) => reject(new Error(`serve exited ${code} before listening:\n${stderr}`)));
  });
}

let rid = 0;
/** A real nginx-json line (formats/LOG-FORMAT.md) with a unique request id. */
function nginxLine(): string {
  const n = ++rid;
  return JSON.stringify({
    ts: '2026-11-02T14:03:05+00:00',
    msec: 1762092185 + n / 1000,
    ip: '203.0.113.7',
    xff: '',
    rid: n.toString(16).padStart(32, '0'),
    host: 'social.example',
    method: 'GET',
    uri: `/api/v1/statuses/${n}`,
    status: 200,
    bytes: 512,
    rt: 0.01,
    ua: 'Tusky/25.2 Android/14',
    fp: '9b1f3e0c2a7d4b6e8f0a1c3e5d7b9f21',
  });
}
const nginxLines = (k: number) => Array.from({ length: k }, () => `${nginxLine()}\n`).join('');

function countEvents(home: string): number {
  const db = new Database(join(home, 'events.db'), { readonly: true });
  try {
    return (db.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

async function until<T>(fn: () => Promise<T> | T, ok: (v: T) => boolean, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

function workspace(config: string) {
  const dir = mkdtempSync(join(tmpdir(), 'tg-serve-'));
  writeFileSync(join(dir, 'tuskguard.yaml'), config.replaceAll('$DIR', dir));
  return { dir, home: join(dir, 'home'), log: join(dir, 'access.log') };
}

describe('tuskguard serve', () => {
  it('with no sources serves /healthz and /metrics and logs how to add a source', async () => {
    const w = workspace('home: $DIR/home\napi: { port: 0 }\n');
    const s = await serve([], w.dir);
    expect(s.info).toMatchObject({ store: 'sqlite', home: w.home, sources: [] });
    const health = await fetch(`${s.info.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ ok: true, store: { kind: 'sqlite', reachable: true }, sources: [] });
    const metrics = await (await fetch(`${s.info.url}/metrics`)).text();
    expect(metrics).toContain('# TYPE tuskguard_lines_total counter');
    expect(s.stderr()).toMatch(/no sources configured.*Add a file-tail or http-push source under `sources:`/);
    s.child.kill('SIGTERM');
    const { code, stdout } = await s.exited;
    expect(code).toBe(0);
    expect(stdout.trim().split('\n').at(-1)).toBe('{"status":"stopped","signal":"SIGTERM"}');
  });

  it('with no config file at all runs on the defaults: SQLite under $TUSKGUARD_HOME, 127.0.0.1:8787', async () => {
    const free = await new Promise<boolean>((r) => {
      const probe = createServer().once('error', () => r(false));
      probe.listen(8787, '127.0.0.1', () => probe.close(() => r(true)));
    });
    if (!free) return void console.warn('port 8787 busy: default-port check skipped');
    const dir = mkdtempSync(join(tmpdir(), 'tg-serve-'));
    const s = await serve([], dir, { TUSKGUARD_HOME: join(dir, 'h') });
    expect(s.info).toMatchObject({ url: 'http://127.0.0.1:8787', store: 'sqlite', home: join(dir, 'h') });
    expect((await fetch('http://127.0.0.1:8787/healthz')).status).toBe(200);
    s.child.kill('SIGINT');
    expect((await s.exited).code).toBe(0);
    expect(readFileSync(join(dir, 'h', 'events.db')).length).toBeGreaterThan(0);
  });

  it('tails a file across a crash, a rename rotation and a clean stop: every line stored once', async () => {
    const w = workspace(
      [
        'home: $DIR/home',
        'api: { port: 0 }',
        'join: { wait: 200ms }',
        'sources:',
        '  - { type: file-tail, id: edge, format: nginx-json, paths: [$DIR/access.log], poll_interval: 50ms }',
      ].join('\n'),
    );
    writeFileSync(w.log, nginxLines(300));
    const a = await serve([], w.dir);
    appendFileSync(w.log, nginxLines(200));
    await until(() => countEvents(w.home), (n) => n >= 300);
    a.child.kill('SIGKILL'); // crash mid-stream
    await a.exited;
    appendFileSync(w.log, nginxLines(100));
    renameSync(w.log, `${w.log}.1`); // rotated while down
    writeFileSync(w.log, nginxLines(100));
    const b = await serve([], w.dir);
    appendFileSync(w.log, `${nginxLines(50)}{"broken json\n`);
    await until(() => countEvents(w.home), (n) => n >= 750);
    const health = await (await fetch(`${b.info.url}/healthz`)).json();
    expect(health).toMatchObject({ ok: true, sources: [{ id: 'edge', type: 'file-tail', running: true }] });
    b.child.kill('SIGTERM');
    expect((await b.exited).code).toBe(0);
    expect(countEvents(w.home)).toBe(750);
    const dead = readFileSync(join(w.home, 'dead-letter', `${new Date().toISOString().slice(0, 10)}.ndjson`), 'utf8');
    expect(dead.trim().split('\n').map((l) => JSON.parse(l).origin)).toEqual([`file:${w.log}`]);
  }, 60_000);

  it('accepts http-push batches on the API listener with the bearer token', async () => {
    const w = workspace(
      ['home: $DIR/home', 'api: { port: 0 }', 'join: { wait: 100ms }', 'sources:', '  - { type: http-push, id: shipper, format: nginx-json, path: /push }'].join('\n'),
    );
    const s = await serve([], w.dir);
    const body = nginxLines(20);
    const denied = await fetch(`${s.info.url}/push`, { method: 'POST', body, headers: { authorization: 'Bearer wrong' } });
    expect(denied.status).toBe(401);
    const ok = await fetch(`${s.info.url}/push`, { method: 'POST', body, headers: { authorization: `Bearer ${PUSH_TOKEN}`, 'content-type': 'application/x-ndjson' } });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ accepted: 20, rejected: 0 });
    s.child.kill('SIGTERM');
    expect((await s.exited).code).toBe(0);
    expect(countEvents(w.home)).toBe(20);
    expect(s.stderr()).not.toContain(PUSH_TOKEN);
  });

  it.each([
    ['an unknown format', 'sources:\n  - { type: file-tail, id: x, format: apache-xml, paths: [/tmp/x] }\n', /sources\.0\.format/],
    ['an unknown key', 'sourcez: []\n', /sourcez/],
    ['two sources with one id', 'sources:\n  - { type: file-tail, id: x, format: combined, paths: [/a] }\n  - { type: file-tail, id: x, format: combined, paths: [/b] }\n', /share the id x/],
  ])('refuses a config with %s (exit 2, names the key)', async (_name, config, pattern) => {
    const w = workspace(`home: $DIR/home\napi: { port: 0 }\n${config}`);
    const r = await runCli(['serve', '--config', join(w.dir, 'tuskguard.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/error\[CONFIG_INVALID\]/);
    expect(r.stderr).toMatch(pattern);
  });

  it('refuses an http-push source without a token, saying which variable to set', async () => {
    const w = workspace('home: $DIR/home\napi: { port: 0 }\nsources:\n  - { type: http-push, id: p, format: combined, token_env: NO_SUCH_TOKEN_VAR }\n');
    const r = await runCli(['serve', '--output', 'json', '--config', join(w.dir, 'tuskguard.yaml')], { env: { NO_SUCH_TOKEN_VAR: '' } });
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stderr.trim().split('\n').at(-1)!)).toMatchObject({ error: { code: 'SECRET_MISSING', hint: expect.stringContaining('NO_SUCH_TOKEN_VAR') } });
  });

  it('has --help', async () => {
    const r = await runCli(['serve', '--help'], { cwd: ROOT });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--config/);
    expect(r.stdout).toMatch(/--output/);
  });
});
