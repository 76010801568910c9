import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Event } from '../../src/core/event.js';
import { silentLogger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import { ElasticsearchStore } from '../../src/store/elasticsearch/store.js';
import { dropPrefix, esSkipReason, esStoreConfig, esUrl, uniquePrefix } from '../helpers/elasticsearch.js';
import { FaultProxy, type ProxyOptions } from './es-proxy.js';
import { event } from './fixtures.js';

const url = esUrl();
const base = uniquePrefix(import.meta.filename);
let serial = 0;

describe.skipIf(!url)(`Elasticsearch bulk writer against a real node${url ? '' : ` (skipped: ${esSkipReason()})`}`, () => {
  const proxies: FaultProxy[] = [];
  const stores: ElasticsearchStore[] = [];

  async function viaProxy(options: ProxyOptions, over: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = {}) {
    const proxy = new FaultProxy(url!, options);
    proxies.push(proxy);
    const proxyUrl = await proxy.start();
    const metrics = new Metrics();
    const store = new ElasticsearchStore({
      config: esStoreConfig(proxyUrl, `${base}-${++serial}`, over),
      env,
      metrics,
      logger: silentLogger,
      retryBaseMs: 5,
      maxBackoffMs: 50,
    });
    stores.push(store);
    return { proxy, store, metrics };
  }

  const events = (n: number, from = 0): Event[] => Array.from({ length: n }, (_, i) => event(from + i));

  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close().catch(() => undefined);
    for (const p of proxies.splice(0)) await p.close();
  });
  afterAll(() => dropPrefix(url!, base));

  it('retries whole bulks answered 429 and 503 with backoff, then indexes everything once', async () => {
    const faults = [429, 503, 429] as const;
    const { proxy, store, metrics } = await viaProxy({
      bulk: (n) => (n < faults.length ? { kind: 'status', status: faults[n]! } : { kind: 'pass' }),
    });
    await store.init();
    const result = await store.writeEvents(events(300));
    expect(result).toEqual({ written: 300, failed: [] });
    await store.refresh();
    expect(await store.countEvents({})).toBe(300);
    expect(proxy.bulks.length).toBe(4);
    expect(await metrics.value('tuskguard_store_retries_total', { store: 'elasticsearch' })).toBe(3);
    expect(await metrics.value('tuskguard_events_written_total', { store: 'elasticsearch', kind: 'events' })).toBe(300);
  });

  it('retries only the items a 200 bulk answer rejected with 429/503', async () => {
    const { proxy, store, metrics } = await viaProxy({
      bulk: (n) =>
        n === 0 ? { kind: 'items', status: 429, pick: (i) => i % 3 === 0 } : n === 1 ? { kind: 'items', status: 503, pick: (i) => i === 0 } : { kind: 'pass' },
    });
    await store.init();
    const result = await store.writeEvents(events(90));
    expect(result).toEqual({ written: 90, failed: [] });
    // 90 sent; 30 came back 429; of those, 1 came back 503; that one succeeded alone.
    expect(proxy.bulks.map((b) => b.items)).toEqual([90, 30, 1]);
    expect(await metrics.value('tuskguard_store_retries_total')).toBe(2);
    await store.refresh();
    expect(await store.countEvents({})).toBe(90);
  });

  it('gives up after max_retries with STORE_UNAVAILABLE, and the store keeps working afterwards', async () => {
    let failing = true;
    const { store } = await viaProxy(
      { bulk: () => (failing ? { kind: 'status', status: 503 } : { kind: 'pass' }) },
      { bulk: { max_retries: 2 } },
    );
    await store.init();
    await expect(store.writeEvents(events(10))).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    failing = false;
    expect(await store.writeEvents(events(10))).toEqual({ written: 10, failed: [] });
  });

  it('reports a document Elasticsearch refuses (mapping error) as failed and indexes the rest', async () => {
    const { store, metrics } = await viaProxy({});
    await store.init();
    const bad = event(2, { 'http.response.status_code': 'two hundred' as unknown as number });
    const badIp = event(3, { 'source.ip': 'not-an-ip' });
    const result = await store.writeEvents([event(1), bad, badIp, event(4)]);
    expect(result.written).toBe(2);
    expect(result.failed.map((f) => [f.id, f.reason])).toEqual([
      ['ev-000002', 'mapping'],
      ['ev-000003', 'mapping'],
    ]);
    expect(result.failed[0]!.message).toMatch(/http\.response\.status_code/);
    expect(await metrics.value('tuskguard_errors_total', { component: 'store-elasticsearch', stage: 'item' })).toBe(2);
    await store.refresh();
    expect((await store.searchEvents({})).map((e) => e['event.id'])).toEqual(['ev-000001', 'ev-000004']);
  });

  it('applies backpressure: buffered documents never exceed max_buffered_docs and writes wait for room', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { store } = await viaProxy(
      { bulk: (n) => (n === 0 ? { kind: 'hold', until: gate } : { kind: 'pass' }) },
      { bulk: { max_docs: 100, concurrency: 1, max_buffered_docs: 500 } },
    );
    await store.init();
    let settled = 0;
    const writes = [0, 1, 2, 3].map((k) => store.writeEvents(events(400, k * 400)).then((r) => (settled++, r)));
    let peak = 0;
    for (let i = 0; i < 20; i++) {
      peak = Math.max(peak, store.bufferedDocs);
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(store.bufferedDocs).toBe(500);
    expect(settled).toBe(0);
    release();
    const results = await Promise.all(writes);
    expect(results.map((r) => r.written)).toEqual([400, 400, 400, 400]);
    expect(peak).toBeLessThanOrEqual(500);
    await store.refresh();
    expect(await store.countEvents({})).toBe(1_600);
  });

  it('sends up to `concurrency` bulks at once without waiting for a timer, and batches what queues behind them', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { proxy, store } = await viaProxy(
      { bulk: (n) => (n < 2 ? { kind: 'hold', until: gate } : { kind: 'pass' }) },
      { bulk: { max_docs: 1_000, concurrency: 2, flush_interval: '1h' } },
    );
    await store.init();
    const first = [store.writeEvents(events(10, 0)), store.writeEvents(events(10, 10))];
    const queued = [store.writeEvents(events(10, 20)), store.writeEvents(events(10, 30)), store.writeEvents(events(10, 40))];
    for (let i = 0; i < 100 && proxy.bulks.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(proxy.bulks.map((b) => b.items)).toEqual([10, 10]);
    release();
    const results = await Promise.all([...first, ...queued]);
    expect(results.map((r) => r.written)).toEqual([10, 10, 10, 10, 10]);
    // The three calls that queued behind the busy slots went out together.
    expect(proxy.bulks.map((b) => b.items)).toEqual([10, 10, 30]);
  });

  it('serialises a large write in slices, letting the event loop run, and close() waits for it', async () => {
    const { proxy, store } = await viaProxy({}, { bulk: { max_docs: 5_000, concurrency: 1 } });
    await store.init();
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    const write = store.writeEvents(events(3_000, 1_000));
    // Closing before the serialisation has finished must not lose the write.
    await store.close();
    clearInterval(timer);
    expect(await write).toEqual({ written: 3_000, failed: [] });
    expect(proxy.bulks.map((b) => b.items)).toEqual([3_000]);
    // Timers ran while 3,000 documents were serialised: it did not hold the loop throughout.
    expect(ticks).toBeGreaterThan(1);
  });
});
