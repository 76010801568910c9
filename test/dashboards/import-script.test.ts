import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildNdjson } from '../../dashboards/build.js';

/**
 * scripts/dashboards-import.sh against a stand-in for Kibana's import endpoint (no Kibana can
 * run here): a local HTTP server that records the request and answers as Kibana 8.14 does.
 * What is asserted is what the script sends and how it reacts, not Kibana's behaviour.
 */

const SCRIPT = fileURLToPath(new URL('../../scripts/dashboards-import.sh', import.meta.url));
const API_KEY = 'VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==';
const PASSWORD = 'pa"ss\\word with spaces';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  file: { name: string; text: string; type: string } | null;
}

let server: Server;
let base = '';
let seen: Seen[] = [];
let answer: { status: number; body: unknown } = { status: 200, body: {} };

async function multipartFile(headers: IncomingHttpHeaders, body: Buffer): Promise<Seen['file']> {
  const form = await new Response(body, { headers: { 'content-type': String(headers['content-type']) } }).formData();
  const file = form.get('file');
  if (!file || typeof file === 'string') return null;
  return { name: file.name, text: await file.text(), type: file.type };
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void multipartFile(req.headers, Buffer.concat(chunks)).then((file) => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, file });
        res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
      });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  seen = [];
  answer = { status: 200, body: { successCount: 36, success: true, warnings: [], successResults: [] } };
});

async function run(env: Record<string, string>, args: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KIBANA_') && k !== 'TUSKGUARD_INDEX_PREFIX'));
  try {
    const { stdout, stderr } = await promisify(execFile)('bash', [SCRIPT, ...args], { env: { ...clean, ...env }, timeout: 20_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('scripts/dashboards-import.sh', () => {
  it('posts the file to the space\'s import API with kbn-xsrf and the API key, rewriting the index prefix', async () => {
    const r = await run({ KIBANA_URL: `${base}/`, KIBANA_SPACE: 'soc', KIBANA_API_KEY: API_KEY, TUSKGUARD_INDEX_PREFIX: 'acme' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('imported 36 saved objects');
    expect(seen).toHaveLength(1);
    const [req] = seen;
    expect(req!.method).toBe('POST');
    expect(req!.url).toBe('/s/soc/api/saved_objects/_import?overwrite=true');
    expect(req!.headers['kbn-xsrf']).toBe('true');
    expect(req!.headers.authorization).toBe(`ApiKey ${API_KEY}`);
    expect(req!.file?.name).toBe('tuskguard.ndjson');
    // The prefix change touches the data view titles and nothing else.
    expect(req!.file?.text).toBe(buildNdjson('acme'));
    expect(buildNdjson('acme')).not.toBe(buildNdjson());
  });

  it('sends basic auth with awkward characters intact, and the unchanged file for the default prefix', async () => {
    const r = await run({ KIBANA_URL: base, KIBANA_USERNAME: 'analyst', KIBANA_PASSWORD: PASSWORD, KIBANA_OVERWRITE: 'false' });
    expect(r.code, r.stderr).toBe(0);
    expect(seen[0]!.url).toBe('/api/saved_objects/_import?overwrite=false');
    expect(seen[0]!.headers.authorization).toBe(`Basic ${Buffer.from(`analyst:${PASSWORD}`).toString('base64')}`);
    expect(seen[0]!.file?.text).toBe(buildNdjson());
  });

  it('fails with Kibana\'s errors when the import is partial, and never prints the credentials', async () => {
    answer = { status: 200, body: { success: false, successCount: 35, errors: [{ id: 'tuskguard-dashboard-findings', type: 'dashboard', error: { type: 'conflict' } }] } };
    const r = await run({ KIBANA_URL: base, KIBANA_API_KEY: API_KEY, KIBANA_OVERWRITE: 'false' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/did not import everything.*conflict/s);
    expect(r.stderr).toContain('KIBANA_OVERWRITE=true');
    expect(r.stdout + r.stderr).not.toContain(API_KEY);
  });

  it('explains a refused login, without echoing the password', async () => {
    answer = { status: 401, body: { statusCode: 401, error: 'Unauthorized', message: '[security_exception] unable to authenticate user' } };
    const r = await run({ KIBANA_URL: `http://analyst:${encodeURIComponent(PASSWORD)}@127.0.0.1:${base.split(':')[2]}`, KIBANA_USERNAME: 'analyst', KIBANA_PASSWORD: PASSWORD });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/refused the credentials \(HTTP 401\)/);
    expect(r.stderr).toContain('KIBANA_API_KEY');
    expect(r.stdout + r.stderr).not.toContain(PASSWORD);
    expect(r.stdout + r.stderr).not.toContain(encodeURIComponent(PASSWORD));
  });

  it('says what to check when Kibana is unreachable', async () => {
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const r = await run({ KIBANA_URL: `http://127.0.0.1:${port}` });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`could not reach Kibana at http://127.0.0.1:${port}`);
  });

  it.each([
    [{ TUSKGUARD_INDEX_PREFIX: 'Bad/Prefix' }, /not a valid index prefix/],
    [{ TUSKGUARD_INDEX_PREFIX: 'x"/;s' }, /not a valid index prefix/],
    [{ KIBANA_SPACE: '../admin' }, /not a Kibana space id/],
    [{ KIBANA_OVERWRITE: 'yes' }, /KIBANA_OVERWRITE must be true or false/],
  ])('refuses bad settings before contacting Kibana: %o', async (env, message) => {
    const r = await run({ KIBANA_URL: base, ...env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(seen).toHaveLength(0);
  });

  it('refuses a file without the three data views, and prints the rewritten file with --print', async () => {
    const bad = await run({ KIBANA_URL: base }, ['--file', '/dev/null']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('expected 3 data views');
    const printed = await run({ TUSKGUARD_INDEX_PREFIX: 'prod_eu' }, ['--print']);
    expect(printed.code).toBe(0);
    expect(printed.stdout).toBe(buildNdjson('prod_eu'));
    expect(seen).toHaveLength(0);
    expect((await run({}, ['--help'])).stdout).toContain('TUSKGUARD_INDEX_PREFIX');
  });
});
