import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import './elasticsearch.js';

/**
 * Finds or starts Elasticsearch once per vitest run, in this order:
 *   1. `ES_URL` from the environment;
 *   2. testcontainers, when a container runtime answers (probed quickly and quietly);
 *   3. the Maven-launched node: `bash .ci/es/start` (stopped again only if this run started it).
 * The URL reaches tests through `inject('esUrl')` and `process.env.ES_URL` (forked workers).
 * Nothing found: with `CI` set the run fails loudly; locally the Elasticsearch suites skip and
 * a banner says why. Runs that contain no Elasticsearch test file start nothing.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** A test file is an Elasticsearch test file when it imports the helper module. */
const ES_MARKER = /helpers\/elasticsearch(\.js)?['"]/;

interface Found {
  url: string;
  via: string;
  stop?: () => Promise<void>;
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  project.provide('esSkipReason', '');
  if (!(await runNeedsElasticsearch(project))) {
    project.provide('esUrl', process.env.ES_URL ?? null);
    return undefined;
  }
  const tried: string[] = [];
  const found = (await fromEnv(tried)) ?? (await fromContainer(tried)) ?? (await fromMaven(tried));
  if (!found) {
    const reason = `no Elasticsearch: ${tried.join('; ')}`;
    if (inCi()) {
      throw new Error(`${reason}\nCI requires a real Elasticsearch: set ES_URL, provide a container runtime, or fix .ci/es/start`);
    }
    banner(`Elasticsearch tests SKIPPED — ${reason}`);
    project.provide('esUrl', null);
    project.provide('esSkipReason', reason);
    return undefined;
  }
  process.env.ES_URL = found.url;
  project.provide('esUrl', found.url);
  console.error(`global-setup: Elasticsearch at ${found.url} (${found.via})`);
  return found.stop;
}

/** `CI` set to anything but empty, `0` or `false`. */
function inCi(): boolean {
  const ci = (process.env.CI ?? '').trim().toLowerCase();
  return ci !== '' && ci !== '0' && ci !== 'false';
}

/** True when any selected test file imports helpers/elasticsearch (or when that cannot be told). */
async function runNeedsElasticsearch(project: TestProject): Promise<boolean> {
  try {
    const filters = (project.vitest as unknown as { filenamePattern?: string[] }).filenamePattern;
    const { testFiles } = await project.globTestFiles(filters);
    return testFiles.some((file) => ES_MARKER.test(readFileSync(file, 'utf8')));
  } catch {
    return true;
  }
}

function banner(text: string): void {
  const line = '='.repeat(Math.min(100, text.length + 4));
  console.warn(`\n${line}\n  ${text}\n${line}\n`);
}

/** Yellow or green health within a few seconds. */
async function healthy(url: string, waitSeconds = 5): Promise<boolean> {
  try {
    const res = await fetch(`${url}/_cluster/health?wait_for_status=yellow&timeout=${waitSeconds}s`, {
      signal: AbortSignal.timeout((waitSeconds + 5) * 1_000),
    });
    return res.ok && res.headers.get('x-elastic-product') === 'Elasticsearch';
  } catch {
    return false;
  }
}

async function fromEnv(tried: string[]): Promise<Found | null> {
  const url = process.env.ES_URL?.replace(/\/+$/, '');
  if (!url) {
    tried.push('ES_URL not set');
    return null;
  }
  if (await healthy(url, 30)) return { url, via: 'ES_URL' };
  tried.push(`ES_URL=${url} does not answer as a healthy Elasticsearch`);
  return null;
}

/** Cheap signs of a container runtime; only with one of them is testcontainers even loaded. */
function runtimeHints(): string[] {
  const hints: string[] = [];
  if (process.env.DOCKER_HOST) hints.push('DOCKER_HOST');
  const sockets = ['/var/run/docker.sock', join(homedir(), '.docker/run/docker.sock'), join(homedir(), '.testcontainers.properties')];
  if (process.env.XDG_RUNTIME_DIR) sockets.push(join(process.env.XDG_RUNTIME_DIR, 'podman/podman.sock'));
  for (const s of sockets) if (existsSync(s)) hints.push(s);
  return hints;
}

async function fromContainer(tried: string[]): Promise<Found | null> {
  if (runtimeHints().length === 0) {
    tried.push('no container runtime (no DOCKER_HOST or socket)');
    return null;
  }
  try {
    const tc = await import('testcontainers');
    await Promise.race([
      tc.getContainerRuntimeClient(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('runtime did not answer in 10 s')), 10_000).unref()),
    ]);
    const image = process.env.TUSKGUARD_ES_IMAGE ?? 'docker.elastic.co/elasticsearch/elasticsearch:8.14.3';
    const container = await new tc.GenericContainer(image)
      .withEnvironment({ 'discovery.type': 'single-node', 'xpack.security.enabled': 'false', ES_JAVA_OPTS: '-Xms1g -Xmx1g' })
      .withExposedPorts(9200)
      .withWaitStrategy(tc.Wait.forHttp('/_cluster/health?wait_for_status=yellow&timeout=5s', 9200).forStatusCode(200))
      .withStartupTimeout(240_000)
      .start();
    const url = `http://${container.getHost()}:${container.getMappedPort(9200)}`;
    return { url, via: `testcontainers ${image}`, stop: async () => void (await container.stop()) };
  } catch (e) {
    tried.push(`testcontainers: ${(e as Error).message.split('\n')[0]}`);
    return null;
  }
}

function run(script: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('bash', [script], { cwd: ROOT, timeout: 900_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function fromMaven(tried: string[]): Promise<Found | null> {
  const start = join(ROOT, '.ci/es/start');
  if (!existsSync(start)) {
    tried.push('.ci/es/start missing');
    return null;
  }
  const result = await run(start);
  const url = /^ES_URL=(\S+)$/m.exec(result.stdout)?.[1];
  if (result.code !== 0 || !url) {
    const tail = result.stderr.trim().split('\n').slice(-15).join('\n    ');
    tried.push(`.ci/es/start failed (exit ${result.code}):\n    ${tail}`);
    return null;
  }
  // start is idempotent: it says "starting Elasticsearch" only when it launched the node itself.
  const launched = /starting Elasticsearch/.test(result.stderr);
  const stop = launched ? async () => void (await run(join(ROOT, '.ci/es/stop'))) : undefined;
  return { url, via: launched ? 'Maven node started by this run' : 'Maven node already running', ...(stop ? { stop } : {}) };
}
