import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { chmod, chown, copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'vitest';

/**
 * A real nginx for tests: a temp prefix, the shipped nginx/tuskguard-log.conf and
 * nginx/tuskguard.js included verbatim, a free loopback port, in front of a given upstream.
 *
 * Binary and module: NGINX_BIN (default `nginx` on PATH, else /usr/sbin/nginx) and
 * NGINX_NJS_MODULE (default /usr/lib/nginx/modules/ngx_http_js_module.so).
 */

const REPO_NGINX_DIR = fileURLToPath(new URL('../../nginx/', import.meta.url));
const DEFAULT_MODULE = '/usr/lib/nginx/modules/ngx_http_js_module.so';

export interface NginxSupport {
  ok: boolean;
  bin: string;
  module: string;
  /** Why nginx cannot run here, with what to install; set when `ok` is false. */
  reason?: string;
}

/** Whether a real nginx with the njs module is available (checked once per process). */
export function nginxSupport(): NginxSupport {
  cachedSupport ??= detectSupport();
  return cachedSupport;
}
let cachedSupport: NginxSupport | undefined;

function detectSupport(): NginxSupport {
  const module = process.env.NGINX_NJS_MODULE ?? DEFAULT_MODULE;
  const bin = process.env.NGINX_BIN ?? (which('nginx') ?? '/usr/sbin/nginx');
  const install = 'install it (Debian: apt-get install nginx libnginx-mod-http-js) or set NGINX_BIN / NGINX_NJS_MODULE';
  const version = spawnSync(bin, ['-v'], { encoding: 'utf8' });
  if (version.error || version.status !== 0) return { ok: false, bin, module, reason: `no nginx binary at ${bin}: ${install}` };
  try {
    accessSync(module, constants.R_OK);
  } catch {
    return { ok: false, bin, module, reason: `no njs module at ${module}: ${install}` };
  }
  return { ok: true, bin, module };
}

function which(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/**
 * `describe` that needs nginx: runs when it is available; in CI (env CI set) a missing nginx
 * or njs module is a failing test; locally the suite is skipped with a visible warning.
 */
export function describeWithNginx(name: string, body: () => void): void {
  const support = nginxSupport();
  if (support.ok) {
    describe(name, body);
  } else if (process.env.CI) {
    describe(name, () => {
      it('needs a real nginx with the njs module (required in CI)', () => {
        throw new Error(support.reason);
      });
    });
  } else {
    console.warn(`SKIPPED "${name}": ${support.reason}`);
    describe.skip(name, body);
  }
}

/** Where the njs module finds the pepper (nginx/README.md describes each route). */
export type PepperVia = 'preload' | 'file' | 'env';

export interface StartNginxOptions {
  /** Base URL nginx proxies to, e.g. `http://127.0.0.1:40123`. */
  upstream: string;
  /** The pepper; undefined starts nginx with none configured. */
  pepper?: string;
  /** Default `preload` (js_preload_object, the README's recommended route). */
  pepperVia?: PepperVia;
  /** Default `notice`: stricter than nginx's `error`, so the tests see more of what is logged. */
  errorLogLevel?: 'debug' | 'info' | 'notice' | 'warn' | 'error';
  /** Extra directives inside http { } (after the tuskguard include). */
  httpExtra?: string;
  /** Extra files written before start, by path relative to the conf directory (mode 0600). */
  files?: Record<string, string>;
  /** Extra environment for the nginx process (whitelisted with `env` in nginx.conf). */
  env?: Record<string, string>;
}

export interface RunningNginx {
  /** `http://127.0.0.1:PORT` */
  url: string;
  port: number;
  /** The temp prefix; removed by stop(). */
  prefix: string;
  accessLog: string;
  errorLog: string;
  /** Directories where nginx may write request data (client bodies, proxy buffers, …). */
  tempDir: string;
  /** The access log's lines, waiting (up to `timeoutMs`) until there are at least `count`. */
  accessLines(count?: number, timeoutMs?: number): Promise<string[]>;
  /** Graceful stop (SIGQUIT, then SIGKILL after 5 s); removes the prefix unless `keep`. */
  stop(options?: { keep?: boolean }): Promise<void>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** Start nginx; rejects with nginx's own error output when it does not come up. */
export async function startNginx(options: StartNginxOptions): Promise<RunningNginx> {
  const support = nginxSupport();
  if (!support.ok) throw new Error(support.reason);
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const prefix = await preparePrefix(options, support, await freePort());
    try {
      return await launch(prefix.dir, prefix.port, prefix.env, support);
    } catch (error) {
      await rm(prefix.dir, { recursive: true, force: true });
      lastError = error;
      // Another process took the port between the probe and nginx's bind: try another.
      if (!String(error).includes('Address already in use')) throw error;
    }
  }
  throw lastError;
}

interface Prefix {
  dir: string;
  port: number;
  env: Record<string, string>;
}

async function preparePrefix(options: StartNginxOptions, support: NginxSupport, port: number): Promise<Prefix> {
  const dir = await mkdtemp(join(tmpdir(), 'tuskguard-nginx-'));
  // Workers run as nobody when the master is root; they must traverse the prefix.
  await chmod(dir, 0o711);
  await mkdir(join(dir, 'conf', 'tuskguard'), { recursive: true });
  await mkdir(join(dir, 'logs'));
  await mkdir(join(dir, 'tmp'));
  for (const file of ['tuskguard.js', 'tuskguard-log.conf']) {
    await copyFile(join(REPO_NGINX_DIR, file), join(dir, 'conf', 'tuskguard', file));
  }
  for (const [name, text] of Object.entries(options.files ?? {})) {
    await writeFile(join(dir, 'conf', name), text, { mode: 0o600 });
  }
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...options.env };
  let pepperDirective = '';
  if (options.pepper !== undefined) {
    const via = options.pepperVia ?? 'preload';
    if (via === 'preload') {
      await writeSecret(join(dir, 'conf', 'tuskguard', 'pepper.json'), `${JSON.stringify(options.pepper)}\n`, 'master');
      pepperDirective = 'js_preload_object tuskguard_pepper from tuskguard/pepper.json;';
    } else if (via === 'file') {
      const file = join(dir, 'conf', 'tuskguard', 'pepper');
      await writeSecret(file, `${options.pepper}\n`, 'workers');
      env.TUSKGUARD_PEPPER_FILE = file;
    } else {
      env.TUSKGUARD_PEPPER = options.pepper;
    }
  }
  const conf = nginxConf({ ...options, module: support.module, port, dir, pepperDirective, env });
  await writeFile(join(dir, 'conf', 'nginx.conf'), conf);
  return { dir, port, env };
}

/** Pepper files as README.md says to install them: root-only, or root:<worker group> 0640. */
async function writeSecret(path: string, text: string, reader: 'master' | 'workers'): Promise<void> {
  await writeFile(path, text, { mode: 0o600 });
  if (reader === 'workers' && isRoot()) {
    await chown(path, 0, workerGroupId());
    await chmod(path, 0o640);
  }
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function workerGroup(): string {
  const groups = readFileSync('/etc/group', 'utf8');
  return /^nogroup:/m.test(groups) ? 'nogroup' : 'nobody';
}

function workerGroupId(): number {
  const line = readFileSync('/etc/group', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${workerGroup()}:`));
  return Number(line?.split(':')[2] ?? 65534);
}

interface ConfInput extends StartNginxOptions {
  module: string;
  port: number;
  dir: string;
  pepperDirective: string;
  env: Record<string, string>;
}

function nginxConf(c: ConfInput): string {
  const envLines = ['TUSKGUARD_PEPPER', 'TUSKGUARD_PEPPER_FILE', ...Object.keys(c.env).filter((k) => k !== 'PATH')];
  const tmp = (name: string) => join(c.dir, 'tmp', name);
  const proxy = `proxy_set_header Host $host;
      proxy_set_header X-Request-Id $request_id;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_http_version 1.1;
      proxy_pass ${c.upstream};`;
  return `load_module ${c.module};
${isRoot() ? `user nobody ${workerGroup()};` : ''}
daemon off;
master_process on;
worker_processes 1;
pid logs/nginx.pid;
error_log logs/error.log ${c.errorLogLevel ?? 'notice'};
${[...new Set(envLines)].map((k) => `env ${k};`).join('\n')}
events { worker_connections 256; }
http {
  include tuskguard/tuskguard-log.conf;
  ${c.pepperDirective}
  client_body_temp_path ${tmp('client_body')};
  proxy_temp_path ${tmp('proxy')};
  fastcgi_temp_path ${tmp('fastcgi')};
  uwsgi_temp_path ${tmp('uwsgi')};
  scgi_temp_path ${tmp('scgi')};
  map $http_upgrade $tg_connection_upgrade { default upgrade; '' close; }
  ${c.httpExtra ?? ''}
  server {
    listen 127.0.0.1:${c.port};
    server_name localhost;
    access_log logs/access.log tuskguard;
    # Like Mastodon's stock config: each proxy location sets its own headers (none inherited).
    location / {
      ${proxy}
    }
    location /api/v1/streaming {
      ${proxy}
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $tg_connection_upgrade;
      proxy_buffering off;
    }
  }
}
`;
}

async function launch(dir: string, port: number, env: Record<string, string>, support: NginxSupport): Promise<RunningNginx> {
  const errorLog = join(dir, 'logs', 'error.log');
  const child = spawn(support.bin, ['-p', `${dir}/`, '-c', 'conf/nginx.conf', '-e', errorLog], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  exited.then(() => live.delete(child));
  const ready = await waitUntilListening(port, exited);
  if (!ready) {
    child.kill('SIGKILL');
    const code = await exited;
    const log = await readFile(errorLog, 'utf8').catch(() => '');
    throw new Error(`nginx did not start (exit ${code}): ${output}${log}`.trim());
  }
  const accessLog = join(dir, 'logs', 'access.log');
  let stopped = false;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    prefix: dir,
    accessLog,
    errorLog,
    tempDir: join(dir, 'tmp'),
    accessLines: (count = 0, timeoutMs = 5000) => waitForLines(accessLog, count, timeoutMs),
    async stop({ keep = false } = {}) {
      if (!stopped) {
        stopped = true;
        child.kill('SIGQUIT');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      if (!keep) await rm(dir, { recursive: true, force: true });
    },
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** True once the port accepts connections; false if nginx exits first or 10 s pass. */
async function waitUntilListening(port: number, exited: Promise<unknown>): Promise<boolean> {
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + 10_000;
  while (!gone && Date.now() < deadline) {
    if (await canConnect(port)) return !gone;
    await sleep(25);
  }
  return false;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** nginx writes a line after the response is sent, so a reader may have to wait a moment. */
async function waitForLines(path: string, count: number, timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await readFile(path, 'utf8').catch(() => '');
    const lines = text.split('\n').filter((l) => l !== '');
    if (lines.length >= count) return lines;
    if (Date.now() > deadline) throw new Error(`access log has ${lines.length} lines, expected ${count}`);
    await sleep(20);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Files under `roots` (files or directories, recursively) that contain any of `secrets`, as
 * `path: label` — labels, never the secrets themselves, so a failure message cannot leak them.
 */
export async function findSecrets(roots: string[], secrets: Record<string, string>): Promise<string[]> {
  const hits: string[] = [];
  for (const file of await listFiles(roots)) {
    const bytes = await readFile(file);
    for (const [label, secret] of Object.entries(secrets)) {
      if (secret !== '' && bytes.includes(Buffer.from(secret, 'utf8'))) hits.push(`${file}: ${label}`);
    }
  }
  return hits;
}

async function listFiles(roots: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const root of roots) {
    const info = await stat(root).catch(() => undefined);
    if (!info) continue;
    if (!info.isDirectory()) {
      files.push(root);
      continue;
    }
    const entries = await readdir(root, { withFileTypes: true });
    files.push(...(await listFiles(entries.map((e) => join(root, e.name)))));
  }
  return files;
}
