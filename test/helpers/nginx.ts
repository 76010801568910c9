import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { preparePrefix } from './nginx-conf.js';

/**
 * A real nginx for tests: a temp prefix, the shipped nginx/tuskguard-log.conf and
 * nginx/tuskguard.js included verbatim, a free loopback port, in front of a given upstream.
 *
 * Binary and module: NGINX_BIN (default `nginx` on PATH, else /usr/sbin/nginx) and
 * NGINX_NJS_MODULE (default /usr/lib/nginx/modules/ngx_http_js_module.so).
 */

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
  const candidates = process.env.NGINX_BIN ? [process.env.NGINX_BIN] : ['nginx', '/usr/sbin/nginx'];
  const bin = candidates.find((b) => spawnSync(b, ['-v']).status === 0);
  const install = 'install it (Debian: apt-get install nginx libnginx-mod-http-js) or set NGINX_BIN / NGINX_NJS_MODULE';
  if (!bin) return { ok: false, bin: candidates[0]!, module, reason: `no nginx binary (${candidates.join(', ')}): ${install}` };
  try {
    accessSync(module, constants.R_OK);
  } catch {
    return { ok: false, bin, module, reason: `no njs module at ${module}: ${install}` };
  }
  return { ok: true, bin, module };
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
  void exited.then(() => live.delete(child));
  const ready = await waitUntilListening(port, join(dir, 'logs', 'nginx.pid'), exited);
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

/**
 * True once nginx has written its pid file (it does so only after binding its sockets) and the
 * port accepts connections — the port alone could answer for another process. False if nginx
 * exits first or 10 s pass.
 */
async function waitUntilListening(port: number, pidFile: string, exited: Promise<unknown>): Promise<boolean> {
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + 10_000;
  while (!gone && Date.now() < deadline) {
    const pid = await stat(pidFile).catch(() => undefined);
    if (pid && (await canConnect(port))) return !gone;
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
