/**
 * Elasticsearch ingest: the store's write path against the raw `_bulk` ceiling, same node, same
 * run, same documents (issue 2: the store must reach at least 80% of the ceiling).
 *
 *   npx tsx bench/es-bulk.ts [--events N] [--es-url URL] [--events-from MODULE] [--rounds R] [--probe-docs N]
 *
 * (a) es-raw-bulk: the events serialised to NDJSON beforehand, sent with the client's bulk at
 *     the best batch size and concurrency of a small grid (so the ceiling is a real ceiling);
 * (b) es-store-write: the same events through ElasticsearchStore.writeEvents with that batch
 *     size and concurrency (serialisation, batching, acknowledgement tracking all timed).
 * Both index into fresh indices made from the same templates. Rounds pair a raw run with a store
 * run back to back, alternating which goes first (the machine may be shared); figures are
 * medians over rounds and the ratio is the median of the per-round ratios. Prints two lines:
 *   es-raw-bulk <docs/s> docs/s
 *   es-store-write <docs/s> docs/s baseline=<raw> ratio=<r>
 * Details go to stderr.
 *
 * `--events-from MODULE` swaps the synthetic events for a module whose default export is an
 * EventSource (below): the end-to-end benchmark passes lines → parse → enrich, so phase (b)
 * then times the whole path while (a) indexes the documents it produced.
 */
import type { Client } from '@elastic/elasticsearch';
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { elasticsearchStoreSchema } from '../src/config/schema.js';
import type { Event } from '../src/core/event.js';
import { silentLogger } from '../src/core/logger.js';
import { Metrics } from '../src/core/metrics.js';
import { createClient } from '../src/store/elasticsearch/connection.js';
import { IndexLayout } from '../src/store/elasticsearch/indices.js';
import { ElasticsearchStore } from '../src/store/elasticsearch/store.js';
import { ensureElasticsearch } from './lib/es.js';
import { PrebuiltBulk } from './lib/prebuilt.js';
import { syntheticEvents } from './lib/events.js';

/** Yields the same events, in batches, every time it is called. */
export type EventSource = () => AsyncIterable<readonly Event[]>;

export interface EsBulkBenchOptions {
  url: string;
  source: EventSource;
  /** Candidate batch sizes and concurrencies for the raw ceiling. */
  batches?: number[];
  concurrencies?: number[];
  /** Documents per grid probe. */
  probeDocs?: number;
  rounds?: number;
  log?: (message: string) => void;
}

export interface EsBulkBenchResult {
  raw: number;
  store: number;
  ratio: number;
  batch: number;
  concurrency: number;
  docs: number;
}

const run = randomBytes(3).toString('hex');
let serial = 0;
const nextPrefix = (what: string) => `bench-${run}-${what}${++serial}`;

async function collect(source: EventSource): Promise<Event[]> {
  const all: Event[] = [];
  for await (const batch of source()) all.push(...batch);
  return all;
}

/** A store over a fresh prefix (templates installed), with the given bulk settings. */
async function openStore(url: string, prefix: string, batch: number, concurrency: number): Promise<ElasticsearchStore> {
  const config = elasticsearchStoreSchema.parse({
    url,
    index_prefix: prefix,
    replicas: 0,
    bulk: { max_docs: batch, max_bytes: 100 * 1024 * 1024, concurrency, flush_interval: '1s' },
  });
  const store = new ElasticsearchStore({ config, env: process.env, metrics: new Metrics(), logger: silentLogger });
  await store.init();
  return store;
}

export async function dropPrefix(client: Client, prefix: string): Promise<void> {
  await client.indices.delete({ index: `${prefix}-*`, ignore_unavailable: true, allow_no_indices: true }).catch(() => undefined);
  for (const f of ['events', 'findings', 'actions']) await client.indices.deleteIndexTemplate({ name: `${prefix}-${f}` }).catch(() => undefined);
  for (const c of ['settings', 'events', 'findings', 'actions']) await client.cluster.deleteComponentTemplate({ name: `${prefix}-${c}` }).catch(() => undefined);
}

/**
 * Templates installed and the first target index created before the clock starts, so neither
 * path pays for index creation inside its timed window.
 */
export async function prepare(url: string, client: Client, what: string, firstMs: number | undefined): Promise<string> {
  const prefix = nextPrefix(what);
  await (await openStore(url, prefix, 1_000, 1)).close();
  if (firstMs !== undefined) await client.indices.create({ index: new IndexLayout(prefix, 'day').indexFor('events', firstMs) });
  return prefix;
}

/** Raw ceiling: pre-built bodies, `concurrency` workers, docs/s. */
export async function rawRun(url: string, client: Client, docs: PrebuiltBulk, batch: number, concurrency: number): Promise<number> {
  const prefix = await prepare(url, client, 'raw', docs.firstMs);
  const bodies = docs.bodies(prefix, batch);
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < bodies.length) {
      const body = bodies[next++]!;
      const res = await client.bulk({ body, filter_path: 'errors' } as Parameters<Client['bulk']>[0]);
      if (res.errors) throw new Error('raw bulk reported item errors');
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const rate = docs.count / ((performance.now() - t0) / 1_000);
  await dropPrefix(client, prefix);
  return rate;
}

/** The store's path: writeEvents per source batch, a window of calls in flight, docs/s. */
async function storeRun(url: string, client: Client, source: EventSource, firstMs: number | undefined, batch: number, concurrency: number): Promise<{ rate: number; docs: number }> {
  const prefix = await prepare(url, client, 'store', firstMs);
  const store = await openStore(url, prefix, batch, concurrency);
  const inflight: Promise<{ written: number; failed: unknown[] }>[] = [];
  let docs = 0;
  const settle = async () => {
    const r = await inflight.shift()!;
    if (r.failed.length) throw new Error(`store refused ${r.failed.length} documents`);
    docs += r.written;
  };
  const t0 = performance.now();
  for await (const events of source()) {
    inflight.push(store.writeEvents(events));
    if (inflight.length >= 64) await settle();
  }
  while (inflight.length) await settle();
  const rate = docs / ((performance.now() - t0) / 1_000);
  await store.close();
  await dropPrefix(client, prefix);
  return { rate, docs };
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** The raw settings with the best rate over a small grid, on the first `probeDocs` documents. */
export async function probeGrid(o: EsBulkBenchOptions, client: Client, docs: PrebuiltBulk, log: (m: string) => void) {
  const probe = docs.head(o.probeDocs ?? 20_000);
  let best = { rate: 0, batch: 1_000, concurrency: 1 };
  for (const batch of o.batches ?? [1_000, 3_000]) {
    for (const concurrency of o.concurrencies ?? [1, 2, 4]) {
      const rate = await rawRun(o.url, client, probe, batch, concurrency);
      log(`probe raw batch=${batch} concurrency=${concurrency}: ${Math.round(rate)} docs/s`);
      if (rate > best.rate) best = { rate, batch, concurrency };
    }
  }
  return best;
}

/**
 * Rounds pair a raw run with a store run back to back (order alternating), so both see the
 * same load on a shared machine; the figures are medians over rounds, the ratio the median of
 * the per-round ratios.
 */
export async function runEsBulkBench(o: EsBulkBenchOptions): Promise<EsBulkBenchResult> {
  const log = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  // Same credentials and TLS settings as the store (TUSKGUARD_ES_* from the environment).
  const client = createClient(elasticsearchStoreSchema.parse({ url: o.url }), process.env);
  try {
    const events = await collect(o.source);
    const prebuilt = PrebuiltBulk.from(events);
    const firstMs = events.length ? Date.parse(events[0]!['@timestamp']) : undefined;
    const { batch, concurrency } = await probeGrid(o, client, prebuilt, log);
    const raws: number[] = [];
    const stores: number[] = [];
    const ratios: number[] = [];
    let docs = 0;
    for (let round = 0; round < (o.rounds ?? 3); round++) {
      const raw = () => rawRun(o.url, client, prebuilt, batch, concurrency);
      const store = () => storeRun(o.url, client, o.source, firstMs, batch, concurrency);
      const [r, s] = round % 2 === 0 ? [await raw(), await store()] : await store().then(async (x) => [await raw(), x] as const);
      log(`round ${round + 1}: raw ${Math.round(r)} docs/s, store ${Math.round(s.rate)} docs/s, ratio ${(s.rate / r).toFixed(2)}`);
      raws.push(r);
      stores.push(s.rate);
      ratios.push(s.rate / r);
      docs = s.docs;
    }
    return { raw: median(raws), store: median(stores), ratio: median(ratios), batch, concurrency, docs };
  } finally {
    await client.close();
  }
}

/** Synthetic events in caller-sized batches. */
export function syntheticSource(n: number, batch = 1_000): EventSource {
  const events = syntheticEvents(n);
  return async function* () {
    for (let i = 0; i < events.length; i += batch) yield events.slice(i, i + batch);
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      events: { type: 'string', default: '100000' },
      'es-url': { type: 'string' },
      'events-from': { type: 'string' },
      rounds: { type: 'string', default: '5' },
      'probe-docs': { type: 'string', default: '20000' },
    },
  });
  const es = await ensureElasticsearch(values['es-url']);
  try {
    const source: EventSource = values['events-from']
      ? ((await import(pathToFileURL(values['events-from']).href)) as { default: EventSource }).default
      : syntheticSource(Number(values.events));
    const r = await runEsBulkBench({ url: es.url, source, rounds: Number(values.rounds), probeDocs: Number(values['probe-docs']) });
    process.stderr.write(`best raw settings: batch=${r.batch} concurrency=${r.concurrency}; ${r.docs} docs; node ${es.url}\n`);
    console.log(`es-raw-bulk ${Math.round(r.raw)} docs/s`);
    console.log(`es-store-write ${Math.round(r.store)} docs/s baseline=${Math.round(r.raw)} ratio=${r.ratio.toFixed(2)}`);
  } finally {
    await es.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
