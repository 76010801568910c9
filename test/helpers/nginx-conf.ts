import { readFileSync } from 'node:fs';
import { chmod, chown, copyFile, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NginxSupport, StartNginxOptions } from './nginx.js';

/**
 * The temp prefix for test/helpers/nginx.ts: conf/nginx.conf around the shipped snippet and
 * module (copied verbatim from nginx/), the pepper where the chosen route expects it, logs/
 * and tmp/ (every nginx temp path, so a test can scan them).
 */

const REPO_NGINX_DIR = fileURLToPath(new URL('../../nginx/', import.meta.url));

export interface Prefix {
  dir: string;
  port: number;
  env: Record<string, string>;
}

export async function preparePrefix(options: StartNginxOptions, support: NginxSupport, port: number): Promise<Prefix> {
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
  const pepperDirective = await placePepper(options, dir, env);
  const conf = nginxConf({ ...options, module: support.module, port, dir, pepperDirective, env });
  await writeFile(join(dir, 'conf', 'nginx.conf'), conf);
  return { dir, port, env };
}

/** Put the pepper where the chosen route reads it; returns the http-level directive, if any. */
async function placePepper(options: StartNginxOptions, dir: string, env: Record<string, string>): Promise<string> {
  if (options.pepper === undefined) return '';
  const via = options.pepperVia ?? 'preload';
  if (via === 'preload') {
    await writeSecret(join(dir, 'conf', 'tuskguard', 'pepper.json'), `${JSON.stringify(options.pepper)}\n`, 'master');
    return 'js_preload_object tuskguard_pepper from tuskguard/pepper.json;';
  }
  if (via === 'file') {
    const file = join(dir, 'conf', 'tuskguard', 'pepper');
    await writeSecret(file, `${options.pepper}\n`, 'workers');
    env.TUSKGUARD_PEPPER_FILE = file;
  } else {
    env.TUSKGUARD_PEPPER = options.pepper;
  }
  return '';
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
