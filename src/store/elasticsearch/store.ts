import type { Client, estypes } from '@elastic/elasticsearch';
import { setImmediate as yieldToIo } from 'node:timers/promises';
import { durationMs, type ElasticsearchStoreConfig } from '../../config/schema.js';
import type { Event } from '../../core/event.js';
import { TuskguardError } from '../../core/errors.js';
import type { Finding } from '../../core/finding.js';
import type { Logger } from '../../core/logger.js';
import type { Metrics } from '../../core/metrics.js';
import { actionRefusal, clampLimit, compareUsage, eventRefusal, findingRefusal } from '../query.js';
import type {
  ActionRecord,
  EventQuery,
  EventStore,
  FindingQuery,
  RouteUsage,
  TimeRange,
  WriteFailure,
  WriteResult,
} from '../types.js';
import { BulkWriter, bulkItems } from './bulk.js';
import { createClient, nodeUrls, unavailable } from './connection.js';
import { FAMILIES, IndexLayout, componentTemplates, indexTemplates, type Family } from './indices.js';
import { USAGE_PAGE, actionQuery, eventQuery, findingQuery, toRouteUsage, usageAggregation, usageQuery, type UsageAggregate } from './search.js';

export interface ElasticsearchStoreOptions {
  config: ElasticsearchStoreConfig;
  /** Where credentials and the CA file come from (TUSKGUARD_ES_*). */
  env: NodeJS.ProcessEnv;
  metrics: Metrics;
  logger: Logger;
  /** First retry backoff step (default 200 ms); tests shorten it. */
  retryBaseMs?: number;
  /** Longest single backoff (default 30 s). */
  maxBackoffMs?: number;
}

/** Documents serialised between two turns of the event loop (about 1-2 ms of work). */
const SERIALISE_SLICE = 256;

/** Indices per delete request in the retention job (keeps the URL short). */
const DELETE_CHUNK = 50;

const NO_INDEX_OK = { ignore_unavailable: true, allow_no_indices: true } as const;

/**
 * Elasticsearch 8 store: composable index templates with explicit mappings, time-based
 * indices named after each document's time, `_id` = document id (a replay overwrites), a
 * bulk writer with backpressure and retries, and retention by deleting whole indices.
 */
export class ElasticsearchStore implements EventStore {
  readonly kind = 'elasticsearch' as const;
  readonly layout: IndexLayout;
  private readonly urls: string[];
  private client: Client | null = null;
  private writer: BulkWriter | null = null;
  /** submit() calls not finished yet: close() waits for them (they may still be serialising). */
  private readonly submits = new Set<Promise<WriteResult>>();

  constructor(private readonly o: ElasticsearchStoreOptions) {
    this.layout = new IndexLayout(o.config.index_prefix, o.config.index_period);
    this.urls = nodeUrls(o.config);
  }

  /** Documents queued or in flight in the bulk writer (backpressure tests, gauges). */
  get bufferedDocs(): number {
    return this.writer?.bufferedDocs ?? 0;
  }

  async init(): Promise<void> {
    if (this.client) return;
    const client = createClient(this.o.config, this.o.env);
    try {
      await this.checkVersion(client);
      for (const body of componentTemplates(this.layout, this.o.config)) await client.cluster.putComponentTemplate(body);
      for (const body of indexTemplates(this.layout)) await client.indices.putIndexTemplate(body);
    } catch (e) {
      await client.close();
      throw e instanceof TuskguardError ? e : unavailable(e, this.urls, 'connecting and installing index templates');
    }
    const bulk = this.o.config.bulk;
    this.client = client;
    this.writer = new BulkWriter({
      client,
      urls: this.urls,
      maxDocs: bulk.max_docs,
      maxBytes: bulk.max_bytes,
      concurrency: bulk.concurrency,
      maxRetries: bulk.max_retries,
      maxBufferedDocs: bulk.max_buffered_docs,
      retryBaseMs: this.o.retryBaseMs ?? 200,
      maxBackoffMs: this.o.maxBackoffMs ?? 30_000,
      metrics: this.o.metrics,
      logger: this.o.logger,
    });
    this.o.logger.info({ store: 'elasticsearch', prefix: this.layout.prefix, nodes: this.urls.length }, 'store ready');
  }

  private async checkVersion(client: Client): Promise<void> {
    const info = await client.info();
    const major = Number(info.version.number.split('.')[0]);
    if (major < 8) {
      throw new TuskguardError('STORE_UNAVAILABLE', `Elasticsearch ${info.version.number} is not supported`, {
        hint: 'tuskguard needs Elasticsearch 8.x; upgrade the cluster or use the embedded store (store.type: sqlite)',
      });
    }
  }

  private open(): { client: Client; writer: BulkWriter } {
    if (!this.client || !this.writer) {
      throw new TuskguardError('STORE_UNAVAILABLE', 'the Elasticsearch store is not open', {
        hint: 'call init() before using the store, and do not use it after close()',
      });
    }
    return { client: this.client, writer: this.writer };
  }

  /**
   * Serialise the accepted documents as bulk items; refused ones go straight to `failed`.
   * Serialising yields to the event loop every SERIALISE_SLICE documents: a whole bulk at once
   * (3,000 documents, 20-60 ms) held up the sockets, so request bodies already in flight
   * reached Elasticsearch in stalls and the node sat idle waiting for their last bytes.
   */
  private submit<T>(family: Family, docs: readonly T[], refusal: (d: T) => WriteFailure | null, id: (d: T) => string, time: (d: T) => string): Promise<WriteResult> {
    const { writer } = this.open();
    const done = this.serialiseAndQueue(writer, family, docs, refusal, id, time);
    this.submits.add(done);
    return done.finally(() => this.submits.delete(done));
  }

  private async serialiseAndQueue<T>(
    writer: BulkWriter, family: Family, docs: readonly T[], refusal: (d: T) => WriteFailure | null, id: (d: T) => string, time: (d: T) => string,
  ): Promise<WriteResult> {
    const refused: WriteFailure[] = [];
    const ids: string[] = [];
    const parts: string[] = [];
    for (let i = 0; i < docs.length; i++) {
      if (i > 0 && i % SERIALISE_SLICE === 0) await yieldToIo();
      const doc = docs[i]!;
      const why = refusal(doc);
      if (why) {
        refused.push(why);
        continue;
      }
      const docId = id(doc);
      const index = this.layout.indexFor(family, Date.parse(time(doc)));
      ids.push(docId);
      parts.push(`{"index":{"_index":"${index}","_id":${JSON.stringify(docId)}}}\n`, JSON.stringify(doc));
    }
    if (refused.length) this.o.metrics.errors.inc({ component: 'store-elasticsearch', stage: 'refused' }, refused.length);
    return writer.submit(bulkItems(family, ids, parts), refused);
  }

  async writeEvents(events: readonly Event[]): Promise<WriteResult> {
    return this.submit('events', events, eventRefusal, (e) => e['event.id'], (e) => e['@timestamp']);
  }

  async writeFindings(findings: readonly Finding[]): Promise<WriteResult> {
    return this.submit('findings', findings, findingRefusal, (f) => f.id, (f) => f.at);
  }

  async writeActions(actions: readonly ActionRecord[]): Promise<WriteResult> {
    return this.submit('actions', actions, actionRefusal, (a) => a.id, (a) => a['@timestamp']);
  }

  async refresh(): Promise<void> {
    await this.read('refresh', (c) => c.indices.refresh({ index: FAMILIES.map((f) => this.layout.pattern(f)), ...NO_INDEX_OK }));
  }

  async searchEvents(query: EventQuery): Promise<Event[]> {
    const order = query.order ?? 'asc';
    return this.hits<Event>('events', eventQuery(query), clampLimit(query.limit), [
      { '@timestamp': { order, unmapped_type: 'date' } },
      { 'event.id': { order, unmapped_type: 'keyword' } },
    ]);
  }

  async countEvents(query: EventQuery): Promise<number> {
    const res = await this.read('count', (c) => c.count({ index: this.layout.pattern('events'), query: eventQuery(query), ...NO_INDEX_OK }));
    return res.count;
  }

  async searchFindings(query: FindingQuery): Promise<Finding[]> {
    return this.hits<Finding>('findings', findingQuery(query), clampLimit(query.limit), [
      { at: { order: 'asc', unmapped_type: 'date' } },
      { id: { order: 'asc', unmapped_type: 'keyword' } },
    ]);
  }

  async searchActions(query: TimeRange & { limit?: number }): Promise<ActionRecord[]> {
    return this.hits<ActionRecord>('actions', actionQuery(query), clampLimit(query.limit), [
      { '@timestamp': { order: 'asc', unmapped_type: 'date' } },
      { id: { order: 'asc', unmapped_type: 'keyword' } },
    ]);
  }

  async routeUsage(range: TimeRange & { fingerprints?: string[] }): Promise<RouteUsage[]> {
    if (range.fingerprints?.length === 0) return [];
    const query = usageQuery(range);
    const out: RouteUsage[] = [];
    let after: UsageAggregate['after_key'];
    do {
      const res = await this.read('route usage', (c) =>
        c.search({ index: this.layout.pattern('events'), size: 0, query, aggs: usageAggregation(after), ...NO_INDEX_OK }),
      );
      const agg = res.aggregations?.usage as unknown as UsageAggregate | undefined;
      const buckets = agg?.buckets ?? [];
      out.push(...buckets.map(toRouteUsage));
      after = buckets.length === USAGE_PAGE ? agg?.after_key : undefined;
    } while (after);
    return out.sort(compareUsage);
  }

  async applyRetention(now: Date): Promise<{ deleted: number }> {
    const cutoff = now.getTime() - durationMs(this.o.config.retention);
    let deleted = 0;
    const removed: string[] = [];
    for (const family of FAMILIES) {
      const rows = (await this.read('list indices', (c) =>
        c.cat.indices({ index: this.layout.pattern(family), format: 'json', h: 'index', expand_wildcards: 'all' }),
      )) as { index?: string }[];
      // Whole periods only: an index goes once everything it can hold is older than the cutoff.
      const expired = rows
        .map((r) => r.index ?? '')
        .filter((name) => (this.layout.periodEnd(family, name) ?? Infinity) <= cutoff)
        .sort();
      for (let i = 0; i < expired.length; i += DELETE_CHUNK) {
        const chunk = expired.slice(i, i + DELETE_CHUNK);
        deleted += await this.deleteIndices(chunk);
        removed.push(...chunk);
      }
    }
    this.o.logger.info({ store: 'elasticsearch', deleted, indices: removed, cutoff: new Date(cutoff).toISOString() }, 'retention applied');
    return { deleted };
  }

  /** Delete indices, returning how many documents they held. */
  private async deleteIndices(names: string[]): Promise<number> {
    return this.read('retention delete', async (c) => {
      await c.indices.refresh({ index: names, ...NO_INDEX_OK });
      const { count } = await c.count({ index: names, ...NO_INDEX_OK });
      await c.indices.delete({ index: names, ignore_unavailable: true });
      return count;
    });
  }

  /** Flush and wait for every pending write, then release the connections. */
  async close(): Promise<void> {
    if (!this.client || !this.writer) return;
    const { client, writer } = this;
    await Promise.allSettled([...this.submits]);
    await writer.drain();
    this.client = null;
    this.writer = null;
    await client.close();
  }

  private async hits<T>(family: Family, query: estypes.QueryDslQueryContainer, size: number, sort: estypes.Sort): Promise<T[]> {
    if (size === 0) return [];
    const res = await this.read(`search ${family}`, (c) =>
      c.search<T>({ index: this.layout.pattern(family), query, size, sort, track_total_hits: false, ...NO_INDEX_OK }),
    );
    return res.hits.hits.map((h) => h._source as T);
  }

  /** Run a read against the cluster; any failure becomes STORE_UNAVAILABLE with a hint. */
  private async read<R>(doing: string, fn: (client: Client) => Promise<R>): Promise<R> {
    const { client } = this.open();
    try {
      return await fn(client);
    } catch (e) {
      if (e instanceof TuskguardError) throw e;
      this.o.metrics.errors.inc({ component: 'store-elasticsearch', stage: 'read' });
      throw unavailable(e, this.urls, doing);
    }
  }
}
