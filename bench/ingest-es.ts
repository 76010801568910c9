/**
 * End-to-end ingest into Elasticsearch against the raw `_bulk` ceiling (issue 2: "at least 80%
 * of the raw `_bulk` ceiling, measured in the same run by indexing pre-built documents of the
 * same shape on the same node").
 *
 *   npx tsx bench/ingest-es.ts [--lines 300000] [--rounds 3] [--es-url URL] [--file F.log] [--cores shared|dedicated|both]
 *
 * One process, one node, one generated nginx-json file (many keys, IPs, statuses, and the
 * routes of data/mastodon/endpoint-scopes.json):
 * (a) ceiling: the lines parsed and enriched once, before any clock starts, into the very
 *     documents the pipeline makes, serialised to NDJSON and held off the JS heap (see
 *     lib/prebuilt.ts: as objects they made the end-to-end run's GC trace 280 MB that real
 *     ingest never holds); then indexed with the raw client at the best batch size and
 *     concurrency of es-bulk's grid;
 * (b) end-to-end: the same file through `tuskguard ingest`'s path — replay source → pipeline
 *     (decode check, parse, enrich, batching, acks) → ElasticsearchStore — into a fresh
 *     prefix, timed until the pipeline has acknowledged every line.
 * Rounds pair (a) and (b) back to back with alternating order (the machine is shared); the
 * figures are medians, the ratio the median of per-round ratios. After every (b) the index
 * must hold exactly one document per line (nothing lost, nothing duplicated) or the run fails.
 * Two settings of the machine, each with its own grid probe and rounds (`--cores`):
 * - shared: Elasticsearch and this process on all cores, as when both run on one small host;
 *   every microsecond of Node CPU per line is then taken from the node's own share;
 * - dedicated: the node pinned to half the cores and this process to the other half (taskset;
 *   the node must run on this machine), as when the node has a host of its own: the ratio
 *   then says how well the pipeline keeps the node busy.
 * Prints one line per setting:
 *   `ingest-es-e2e-shared <lines/s> lines/s baseline=<raw docs/s> ratio=<r>`
 *   `ingest-es-e2e-dedicated <lines/s> lines/s baseline=<raw docs/s> ratio=<r>`
 */
import type { Client } from '@elastic/elasticsearch';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { validateConfig } from '../src/config/load.js';
import { elasticsearchStoreSchema } from '../src/config/schema.js';
import type { Event } from '../src/core/event.js';
import { createFingerprinter } from '../src/core/fingerprint.js';
import { silentLogger } from '../src/core/logger.js';
import { Metrics } from '../src/core/metrics.js';
import { DeadLetter } from '../src/ingest/dead-letter.js';
import { createEnricher } from '../src/ingest/enrich/index.js';
import { getParser } from '../src/ingest/parsers/registry.js';
import { Pipeline } from '../src/ingest/pipeline.js';
import { replayFiles } from '../src/ingest/sources/replay/index.js';
import { createIngestCore } from '../src/main.js';
import { ReloadingKeys } from '../src/detect/replay-keys.js';
import { createClient } from '../src/store/elasticsearch/connection.js';
import { dropPrefix, median, prepare, probeGrid, rawRun } from './es-bulk.js';
import { ensureElasticsearch } from './lib/es.js';
import { PrebuiltBulk } from './lib/prebuilt.js';
import { listenerPid, pin, splitCores } from './lib/affinity.js';
import { rng } from './traffic/random.js';

/** A simulation's pepper, never a real one: the fingerprinter is on, as in production. */
const PEPPER = 'bench-ingest-es-pepper-not-a-secret';
const DAY = '2026-11-24';

/** Concrete request paths for the API routes of endpoint-scopes.json (`:id` → a number). */
function apiRoutes(): { method: string; path: string }[] {
  const all = JSON.parse(readFileSync(new URL('../data/mastodon/endpoint-scopes.json', import.meta.url), 'utf8')) as { method: string; path: string }[];
  return all.filter((r) => r.path.startsWith('/api/')).map((r) => ({ method: r.method, path: r.path }));
}

const UAS = ['Tusky/25.2 Android/14', 'Ivory/2.0 (iPhone; iOS 18.1)', 'python-requests/2.31.0', 'Mastodon/4.3.1 (http.rb/5.2.0; +https://social.example/)',
  'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0', 'Elk/0.15', 'curl/8.5.0', 'Phanpy/2024.11'];
const STATUSES = [200, 200, 200, 200, 200, 200, 200, 200, 200, 201, 204, 206, 302, 401, 403, 404, 404, 422, 429, 500, 503];

/**
 * `n` nginx-json lines (the tuskguard log_format) over one day, in time order: a few hot routes
 * and a long tail, 5,000 key fingerprints (a fifth of requests without a token), 20,000
 * client addresses.
 */
export async function generateNginxJson(path: string, n: number, seed = 11): Promise<void> {
  const r = rng(seed);
  const routes = apiRoutes();
  const hot = routes.filter((x) => /timelines\/home|notifications$|statuses\/:id$|verify_credentials|streaming/.test(x.path));
  const fps = Array.from({ length: 5_000 }, (_, i) => (i * 2654435761 >>> 0).toString(16).padStart(8, '0').repeat(4));
  const ips = Array.from({ length: 20_000 }, (_, i) => (i % 4 ? `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` : `2001:db8::${i.toString(16)}`));
  const start = Date.parse(`${DAY}T00:00:00Z`);
  const out = createWriteStream(path);
  let chunk = '';
  for (let i = 0; i < n; i++) {
    const route = r() < 0.6 ? hot[Math.floor(r() * hot.length)]! : routes[Math.floor(r() * routes.length)]!;
    const uri = route.path.replace(/:\w+/g, () => String(100_000 + Math.floor(r() * 1e6))) + (r() < 0.3 ? `?limit=${20 + Math.floor(r() * 20)}` : '');
    const t = start + Math.floor((i / n) * 86_000_000);
    const line = {
      ts: `${new Date(t).toISOString().slice(0, 19)}+00:00`, msec: t / 1000, ip: ips[Math.floor(r() * ips.length)]!, xff: '',
      rid: Math.floor(r() * 2 ** 52).toString(16).padStart(16, '0') + i.toString(16).padStart(16, '0'), host: 'social.example',
      method: route.method, uri, status: STATUSES[Math.floor(r() * STATUSES.length)]!, bytes: Math.floor(r() * 40_000),
      rt: Math.round(r() * 800) / 1000, ua: UAS[Math.floor(r() * UAS.length)]!, fp: r() < 0.2 ? '' : fps[Math.floor(r() ** 2 * fps.length)]!,
    };
    if (line.fp === '') delete (line as Partial<typeof line>).fp;
    chunk += `${JSON.stringify(line)}\n`;
    if (chunk.length > 1 << 16) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'close');
}

/**
 * The documents the pipeline makes of `file`, made once: replay → a Pipeline with the same
 * parser, fingerprinter and enricher (key lookup included: the end-to-end run has a pepper, so
 * its documents carry `tuskguard.key_id`), writing into an array instead of a store.
 */
export async function prebuildEvents(file: string, home: string): Promise<Event[]> {
  const docs: Event[] = [];
  const metrics = new Metrics();
  const enricher = await createEnricher({ keyLookup: ReloadingKeys.load(home, PEPPER) });
  const pipeline = new Pipeline({
    store: { kind: 'sqlite', writeEvents: async (events) => (docs.push(...events), { written: events.length, failed: [] }) },
    deadLetter: new DeadLetter({ home, metrics }), metrics, logger: silentLogger, getParser, time: 'event',
    enrich: (e) => enricher.enrich(e), fingerprint: createFingerprinter(PEPPER),
  });
  await replayFiles({ files: [{ path: file, format: 'nginx-json' }], getParser }, pipeline);
  await pipeline.stop();
  return docs;
}

/** Those documents as the raw ceiling's NDJSON (the event objects are dropped). */
export async function prebuild(file: string, home: string): Promise<PrebuiltBulk> {
  return PrebuiltBulk.from(await prebuildEvents(file, home));
}

/**
 * The ceiling must index the very documents the pipeline stores: 200 of them, spread over the
 * run, are read back and compared field by field (all but `event.ingested`, a wall-clock time).
 */
async function sameDocuments(client: Client, prefix: string, docs: PrebuiltBulk): Promise<void> {
  const step = Math.max(1, Math.floor(docs.count / 200));
  const wanted = Array.from({ length: Math.min(200, docs.count) }, (_, k) => docs.doc(k * step));
  const res = await client.search<Record<string, unknown>>({
    index: `${prefix}-events-*`, size: wanted.length, query: { ids: { values: wanted.map((w) => w.id) } },
  });
  const stored = new Map(res.hits.hits.map((h) => [h._id, h._source!]));
  const strip = ({ 'event.ingested': _, ...rest }: Record<string, unknown>) => JSON.stringify(Object.entries(rest).sort(([a], [b]) => (a < b ? -1 : 1)));
  for (const w of wanted) {
    const s = stored.get(w.id);
    if (!s || strip(s) !== strip(w.source)) throw new Error(`document ${w.id}: the ceiling's copy differs from what the pipeline stored`);
  }
}

/** (b): the file through createIngestCore's pipeline into a fresh prefix; lines/s and the doc count. */
export async function e2eRun(url: string, client: Client, file: string, home: string, docs: PrebuiltBulk, batch: number, concurrency: number) {
  const prefix = await prepare(url, client, 'e2e', docs.firstMs);
  const loaded = {
    home, file: null,
    config: validateConfig({ home, store: { type: 'elasticsearch', elasticsearch: { url, index_prefix: prefix, replicas: 0, bulk: { max_docs: batch, concurrency } } } }),
  };
  const core = await createIngestCore({ loaded, logger: silentLogger, env: { TUSKGUARD_PEPPER: PEPPER }, time: 'event', retry: { maxAttempts: 3 }, join: false });
  try {
    const t0 = performance.now();
    const { lines } = await replayFiles({ files: [{ path: file, format: 'nginx-json' }], getParser, sourceId: 'ingest' }, core.pipeline);
    await core.pipeline.drain();
    const rate = lines / ((performance.now() - t0) / 1_000);
    await client.indices.refresh({ index: `${prefix}-events-*` });
    const { count } = await client.count({ index: `${prefix}-events-*` });
    await sameDocuments(client, prefix, docs);
    return { rate, lines, count };
  } finally {
    await core.pipeline.stop().catch(() => undefined);
    await core.store.close();
    await dropPrefix(client, prefix);
  }
}

/**
 * Run `fn` with the node pinned to half the cores and this process to the other half, then give
 * both every core back. Skipped, with the reason, where that cannot be done.
 */
async function dedicated(url: string, log: (m: string) => void, fn: () => Promise<void>): Promise<void> {
  const split = splitCores();
  const pid = listenerPid(url);
  if (!split || pid === null) {
    log(`dedicated cores: skipped (${!split ? 'one core only' : `no local process listens on ${url}`})`);
    return;
  }
  pin(pid, split.node);
  pin(process.pid, split.bench);
  log(`dedicated cores: node pid ${pid} on CPU ${split.node}, benchmark on CPU ${split.bench}`);
  try {
    await fn();
  } finally {
    pin(pid, split.all);
    pin(process.pid, split.all);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      lines: { type: 'string', default: '300000' }, rounds: { type: 'string', default: '3' },
      'es-url': { type: 'string' }, file: { type: 'string' }, 'probe-docs': { type: 'string', default: '30000' },
      cores: { type: 'string', default: 'both' },
    },
  });
  if (!['shared', 'dedicated', 'both'].includes(values.cores)) throw new Error('--cores must be shared, dedicated or both');
  const log = (m: string) => process.stderr.write(`${m}\n`);
  const es = await ensureElasticsearch(values['es-url']);
  const home = mkdtempSync(join(tmpdir(), 'tg-bench-ingest-es-'));
  const client = createClient(elasticsearchStoreSchema.parse({ url: es.url }), process.env);
  try {
    const file = resolve(values.file ?? join(home, 'access.log'));
    if (!values.file) await generateNginxJson(file, Number(values.lines));
    const docs = await prebuild(file, home);
    log(`${docs.count} documents pre-built from ${file}`);
    const rounds = Number(values.rounds);
    const measure = async (name: string, label: string) => {
      const { batch, concurrency } = await probeGrid({ url: es.url, source: async function* () {}, probeDocs: Number(values['probe-docs']) }, client, docs, log);
      const raws: number[] = [];
      const e2es: number[] = [];
      const ratios: number[] = [];
      for (let round = 0; round < rounds; round++) {
        const raw = () => rawRun(es.url, client, docs, batch, concurrency);
        const e2e = () => e2eRun(es.url, client, file, home, docs, batch, concurrency);
        const [r, e] = round % 2 === 0 ? [await raw(), await e2e()] : await e2e().then(async (x) => [await raw(), x] as const);
        if (e.count !== e.lines || e.lines !== docs.count) throw new Error(`round ${round + 1}: ${e.lines} lines read, ${e.count} documents in the index, ${docs.count} expected`);
        log(`${label} round ${round + 1}: raw ${Math.round(r)} docs/s, end-to-end ${Math.round(e.rate)} lines/s, ratio ${(e.rate / r).toFixed(2)}; ${e.count} documents = ${e.lines} lines`);
        raws.push(r);
        e2es.push(e.rate);
        ratios.push(e.rate / r);
      }
      log(`${label}: raw settings batch=${batch} concurrency=${concurrency}; node ${es.url}`);
      console.log(`${name} ${Math.round(median(e2es))} lines/s baseline=${Math.round(median(raws))} ratio=${median(ratios).toFixed(2)}`);
    };
    const mode = values.cores;
    if (mode === 'shared' || mode === 'both') await measure('ingest-es-e2e-shared', 'shared cores');
    if (mode === 'dedicated' || mode === 'both') await dedicated(es.url, log, () => measure('ingest-es-e2e-dedicated', 'dedicated cores'));
  } finally {
    await client.close();
    rmSync(home, { recursive: true, force: true });
    await es.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
