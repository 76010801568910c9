import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The global setup's decisions, checked by running vitest itself on a scratch project that
 * uses the real global-setup.ts. No Elasticsearch is reachable there: ES_URL points at a closed
 * port, and `.ci/es/start` is aimed (ES_PORT) at a plain HTTP server, which it refuses at once.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SETUP = fileURLToPath(new URL('./global-setup.ts', import.meta.url));
const HELPER = fileURLToPath(new URL('./elasticsearch.ts', import.meta.url));

let dir: string;
let notEs: Server;
let notEsPort: number;

function vitest(files: string[], env: Record<string, string | undefined>): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', '--config', join(dir, 'vitest.config.ts'), ...files], {
      cwd: dir,
      env: { ...process.env, CI: undefined, ES_URL: 'http://127.0.0.1:9', ES_PORT: String(notEsPort), ES_BASE: join(dir, 'es'), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

describe('global setup: finding Elasticsearch for a test run', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tuskguard-gs-'));
    mkdirSync(join(dir, 'test'));
    writeFileSync(
      join(dir, 'vitest.config.ts'),
      `export default { test: { include: ['test/**/*.test.ts'], globalSetup: [${JSON.stringify(SETUP)}], pool: 'forks' } };\n`,
    );
    writeFileSync(
      join(dir, 'test/needs-es.test.ts'),
      `import { it } from 'vitest';\nimport { esUrl } from ${JSON.stringify(HELPER.replace(/\.ts$/, '.js'))};\n` +
        `it.skipIf(!esUrl())('talks to Elasticsearch', () => {});\n`,
    );
    writeFileSync(join(dir, 'test/plain.test.ts'), `import { it, expect } from 'vitest';\nit('adds', () => expect(1 + 1).toBe(2));\n`);
    notEs = createServer((_, res) => res.end('not elasticsearch'));
    await new Promise<void>((r) => notEs.listen(0, '127.0.0.1', r));
    notEsPort = (notEs.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((r) => notEs?.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('fails the run loudly under CI when no Elasticsearch can be found', async () => {
    const { code, out } = await vitest(['test/needs-es.test.ts'], { CI: 'true' });
    expect(code).not.toBe(0);
    expect(out).toContain('CI requires a real Elasticsearch');
    expect(out).toContain('does not answer as a healthy Elasticsearch');
    expect(out).toMatch(/\.ci\/es\/start failed/);
  }, 120_000);

  it('skips Elasticsearch suites locally with a visible banner', async () => {
    const { code, out } = await vitest(['test/needs-es.test.ts'], {});
    expect(code).toBe(0);
    expect(out).toContain('Elasticsearch tests SKIPPED');
    expect(out).toMatch(/1 skipped/);
  }, 120_000);

  it('looks for nothing when the run has no Elasticsearch test file', async () => {
    const { code, out } = await vitest(['test/plain.test.ts'], { CI: 'true' });
    expect(code).toBe(0);
    expect(out).not.toContain('Elasticsearch');
    expect(out).toMatch(/1 passed/);
  }, 120_000);
});
