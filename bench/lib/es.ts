import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function run(script: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('bash', [script], { cwd: ROOT, timeout: 900_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

/**
 * An Elasticsearch for a benchmark: `--es-url`/`ES_URL` when given, else the Maven-launched node
 * from `.ci/es/start`. `stop` stops the node only when this call launched it.
 */
export async function ensureElasticsearch(url?: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const given = url ?? process.env.ES_URL;
  if (given) return { url: given.replace(/\/+$/, ''), stop: async () => undefined };
  const start = await run(`${ROOT}.ci/es/start`);
  const found = /^ES_URL=(\S+)$/m.exec(start.stdout)?.[1];
  if (start.code !== 0 || !found) throw new Error(`no Elasticsearch: set ES_URL or fix .ci/es/start:\n${start.stderr}`);
  const launched = /starting Elasticsearch/.test(start.stderr);
  return { url: found, stop: async () => void (launched && (await run(`${ROOT}.ci/es/stop`))) };
}
