/**
 * Memory under sustained load (issue 2: "memory stays flat under sustained load; report RSS over
 * a 10-minute run"). Pushes generated nginx-json and Mastodon lines (half of the requests have
 * both, so the joiner works) as fast as the pipeline accepts them, through parse → join →
 * enrich → store, and samples RSS every `--sample-seconds`.
 *
 *   npx tsx bench/memory.ts                 (10 minutes: the README figure)
 *   npx tsx bench/memory.ts --minutes 1     (a quick look)
 *   ES_URL=http://127.0.0.1:9200 npx tsx bench/memory.ts --store elasticsearch
 *
 * Prints one line per store, `memory-rss-drift <MB> MB baseline=<start MB> ratio=<end/start>`:
 * the drift is the last sample minus the baseline, the first sample after a warm-up of
 * min(60 s, a third of the run). The warm-up fills what is bounded by design and is not a leak:
 * the in-flight window, the joiner's pending lines and its memory of released lines (10 × wait).
 * Dividing by the baseline makes the ratio comparable across machines.
 * Samples and throughput go to stderr.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { validateConfig } from '../src/config/load.js';
import { silentLogger } from '../src/core/logger.js';
import { Metrics } from '../src/core/metrics.js';
import { DeadLetter } from '../src/ingest/dead-letter.js';
import { createEnricher } from '../src/ingest/enrich/index.js';
import { RequestJoiner } from '../src/ingest/join.js';
import { getParser } from '../src/ingest/parsers/registry.js';
import { Pipeline } from '../src/ingest/pipeline.js';
import type { SourceBatch } from '../src/ingest/types.js';
import { createStore } from '../src/store/index.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    'sample-seconds': { type: 'string', default: '10' },
    store: { type: 'string', default: 'sqlite' },
  },
});
const minutes = Number(values.minutes);
const sampleMs = Number(values['sample-seconds']) * 1000;
const storeType = values.store === 'elasticsearch' ? 'elasticsearch' : 'sqlite';
if (storeType === 'elasticsearch' && !process.env.ES_URL) throw new Error('--store elasticsearch needs ES_URL');

const UAS = ['Tusky/25.2 Android/14', 'Ivory/2.0 (iPhone; iOS 18.1)', 'python-requests/2.31.0', 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0'];
const PATHS = ['/api/v1/timelines/home?limit=40', '/api/v1/notifications', '/api/v1/statuses/%id', '/api/v1/accounts/verify_credentials', '/api/v2/search?q=x'];

let seq = 0;
/** One request: its proxy line and, for every other request, its Mastodon line. */
function request(now: number): { proxy: string; mastodon: string | null } {
  const n = ++seq;
  const rid = n.toString(16).padStart(32, '0');
  const path = PATHS[n % PATHS.length]!.replace('%id', String(100_000 + (n % 5000)));
  const proxy = JSON.stringify({
    ts: new Date(now).toISOString().slice(0, 19) + '+00:00', msec: now / 1000, ip: `198.51.100.${n % 250}`, xff: '', rid,
    host: 'social.example', method: 'GET', uri: path, status: 200, bytes: 1000 + (n % 9000), rt: 0.05, ua: UAS[n % UAS.length], fp: (n % 64).toString(16).padStart(32, 'a'),
  });
  if (n % 2) return { proxy, mastodon: null };
  const at = new Date(now).toISOString().replace('Z', '000');
  return { proxy, mastodon: `I, [${at} #12]  INFO -- : [${rid}] method=GET path=${path.split('?')[0]} format=*/* controller=Api::V1::StatusesController action=show status=200 allocations=10 duration=40.00 view=5.00 db=9.00` };
}

function batches(size: number): { proxy: SourceBatch; mastodon: SourceBatch } {
  const proxy: string[] = [];
  const mastodon: string[] = [];
  const now = Date.now();
  for (let i = 0; i < size; i++) {
    const r = request(now);
    proxy.push(r.proxy);
    if (r.mastodon) mastodon.push(r.mastodon);
  }
  const batch = (format: 'nginx-json' | 'mastodon', lines: string[]): SourceBatch => ({ sourceId: 'bench', format, origin: `bench:${format}`, lines: lines.map((text) => ({ text })) });
  return { proxy: batch('nginx-json', proxy), mastodon: batch('mastodon', mastodon) };
}

const mb = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)}MB`;

/**
 * Where the RSS is: the V8 heap (used and committed), memory outside it that V8 knows of
 * (external, of which ArrayBuffers), the kernel's split of the RSS into anonymous and
 * file-backed pages (Linux), and SQLite's WAL and database files (on disk, not in the RSS
 * unless mapped).
 */
function breakdown(mem: NodeJS.MemoryUsage, home: string): string {
  const status = (() => {
    try {
      return readFileSync('/proc/self/status', 'utf8');
    } catch {
      return '';
    }
  })();
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  const size = (f: string) => (existsSync(join(home, f)) ? statSync(join(home, f)).size : 0);
  return [
    `heap=${mb(mem.heapUsed)}/${mb(mem.heapTotal)}`, `external=${mb(mem.external)}`, `arrayBuffers=${mb(mem.arrayBuffers)}`,
    `anon=${mb(kb('RssAnon'))}`, `file=${mb(kb('RssFile'))}`, `shmem=${mb(kb('RssShmem'))}`,
    ...(storeType === 'sqlite' ? [`db=${mb(size('events.db'))}`, `wal=${mb(size('events.db-wal'))}`] : []),
  ].join(' ');
}

async function main(): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'tg-bench-mem-'));
  const metrics = new Metrics();
  const config = validateConfig(storeType === 'sqlite' ? { home } : { home, store: { type: 'elasticsearch', elasticsearch: { url: process.env.ES_URL, index_prefix: `bench-mem-${Date.now()}`, replicas: 0 } } });
  const store = await createStore({ config, home, file: null }, { metrics, logger: silentLogger });
  const enricher = await createEnricher({});
  const pipeline = new Pipeline({
    store, metrics, logger: silentLogger, getParser, time: 'wall',
    deadLetter: new DeadLetter({ home, metrics }),
    joiner: new RequestJoiner({ waitMs: 5_000, maxPending: 100_000, metrics }),
    enrich: (e) => enricher.enrich(e),
    maxInFlightLines: 120_000, // as main.ts: 20,000 + join.max_pending
  });
  const samples: number[] = [];
  const started = Date.now();
  const end = started + minutes * 60_000;
  const timer = setInterval(() => {
    const mem = process.memoryUsage();
    const rss = mem.rss / 1_048_576;
    samples.push(rss);
    const lines = seq + Math.floor(seq / 2);
    process.stderr.write(`t=${Math.round((Date.now() - started) / 1000)}s rss=${rss.toFixed(1)}MB ${breakdown(mem, home)} lines=${lines} rate=${Math.round(lines / ((Date.now() - started) / 1000))}/s in_flight=${pipeline.status().inFlightLines}\n`);
  }, sampleMs);
  while (Date.now() < end) {
    const { proxy, mastodon } = batches(500);
    await pipeline.push(proxy);
    await pipeline.push(mastodon);
    // A real source waits on I/O between batches; without this the loop could run on
    // microtasks alone and starve the timers (sampling, the joiner's clock, flushes).
    await new Promise((r) => setImmediate(r));
  }
  clearInterval(timer);
  await pipeline.stop();
  await store.close();
  rmSync(home, { recursive: true, force: true });
  if (samples.length < 2) throw new Error(`run longer than two sampling intervals (${(2 * sampleMs) / 1000} s) to get a drift`);
  const warmupSamples = Math.floor(Math.min(60_000, (minutes * 60_000) / 3) / sampleMs);
  const baseline = samples[Math.min(warmupSamples, samples.length - 2)]!;
  const last = samples[samples.length - 1]!;
  const name = storeType === 'sqlite' ? 'memory-rss-drift' : 'memory-rss-drift-es';
  process.stdout.write(`${name} ${(last - baseline).toFixed(1)} MB baseline=${baseline.toFixed(1)} ratio=${(last / baseline).toFixed(3)}\n`);
}

await main();
