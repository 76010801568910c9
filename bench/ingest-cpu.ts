/**
 * Node CPU per line of `tuskguard ingest`'s path into Elasticsearch, without Elasticsearch's
 * own cost or noise: the figure that bounds the end-to-end ratio wherever the ingest process and
 * the node share cores (bench/README.md, "Why shared stays near 0.75").
 *
 *   npx tsx bench/ingest-cpu.ts [--lines 300000] [--rounds 3]
 *
 * (a) baseline, the floor any ingester pays: each line of the same file read, `JSON.parse`d,
 *     `JSON.stringify`d and encoded to a Buffer;
 * (b) the file through createIngestCore's pipeline (replay → parse → enrich → batching → the
 *     ElasticsearchStore and its HTTP client) into a null node: a child process that answers
 *     `_bulk` with `errors: false` after reading the whole body, so only this process's CPU is
 *     counted.
 * Rounds alternate (a) and (b); figures are medians of process CPU time (user + system, GC
 * threads included) per line. Prints one line:
 *   `ingest-cpu <µs/line> us/line baseline=<floor µs/line> ratio=<(b)/(a)>`
 */
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { validateConfig } from '../src/config/load.js';
import { silentLogger } from '../src/core/logger.js';
import { getParser } from '../src/ingest/parsers/registry.js';
import { replayFiles } from '../src/ingest/sources/replay/index.js';
import { createIngestCore } from '../src/main.js';
import { median } from './es-bulk.js';
import { generateNginxJson } from './ingest-es.js';

const PEPPER = 'bench-ingest-cpu-pepper-not-a-secret';

const cpuMicros = (from: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(from);
  return d.user + d.system;
};

async function nullNode(): Promise<{ url: string; stop: () => void }> {
  const child = fork(new URL('./lib/null-es.mjs', import.meta.url), [], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  let out = '';
  for await (const chunk of child.stdout!) {
    out += String(chunk);
    const url = /NULL_ES_URL=(\S+)/.exec(out)?.[1];
    if (url) return { url, stop: () => void child.kill('SIGTERM') };
  }
  throw new Error('the null node exited before listening');
}

function floor(lines: readonly string[]): number {
  const c0 = process.cpuUsage();
  let bytes = 0;
  for (const line of lines) bytes += Buffer.from(JSON.stringify(JSON.parse(line))).length;
  if (bytes === 0) throw new Error('no bytes');
  return cpuMicros(c0) / lines.length;
}

async function pipelineRun(url: string, file: string, home: string): Promise<number> {
  const loaded = {
    home, file: null,
    config: validateConfig({ home, store: { type: 'elasticsearch', elasticsearch: { url, index_prefix: 'cpu', replicas: 0, bulk: { max_docs: 3_000, concurrency: 2 } } } }),
  };
  const core = await createIngestCore({ loaded, logger: silentLogger, env: { TUSKGUARD_PEPPER: PEPPER }, time: 'event', retry: { maxAttempts: 3 }, join: false });
  try {
    const c0 = process.cpuUsage();
    const { lines } = await replayFiles({ files: [{ path: file, format: 'nginx-json' }], getParser, sourceId: 'ingest' }, core.pipeline);
    await core.pipeline.drain();
    return cpuMicros(c0) / lines;
  } finally {
    await core.pipeline.stop().catch(() => undefined);
    await core.store.close();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { lines: { type: 'string', default: '300000' }, rounds: { type: 'string', default: '3' } } });
  const home = mkdtempSync(join(tmpdir(), 'tg-bench-ingest-cpu-'));
  const node = await nullNode();
  try {
    const file = join(home, 'access.log');
    await generateNginxJson(file, Number(values.lines));
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    await pipelineRun(node.url, file, home); // warm-up: JIT, route table, first connections
    const floors: number[] = [];
    const runs: number[] = [];
    for (let round = 0; round < Number(values.rounds); round++) {
      const f = floor(lines);
      const p = await pipelineRun(node.url, file, home);
      process.stderr.write(`round ${round + 1}: pipeline ${p.toFixed(1)} µs/line, floor ${f.toFixed(1)} µs/line\n`);
      floors.push(f);
      runs.push(p);
    }
    const p = median(runs);
    const f = median(floors);
    console.log(`ingest-cpu ${p.toFixed(1)} us/line baseline=${f.toFixed(1)} ratio=${(p / f).toFixed(2)}`);
  } finally {
    node.stop();
    rmSync(home, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
