import type { Client } from '@elastic/elasticsearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import { ElasticsearchStore } from '../../src/store/elasticsearch/store.js';
import { adminClient, dropPrefix, esSkipReason, esStoreConfig, esUrl, uniquePrefix } from '../helpers/elasticsearch.js';
import { NOW, action, event, finding } from './fixtures.js';

const url = esUrl();
const base = uniquePrefix(import.meta.filename);

type FieldMappings = Record<string, { mappings: Record<string, { full_name: string; mapping: Record<string, Record<string, unknown>> }> }>;

describe.skipIf(!url)(`Elasticsearch templates and indices${url ? '' : ` (skipped: ${esSkipReason()})`}`, () => {
  let admin: Client;
  let store: ElasticsearchStore;
  const prefix = `${base}-day`;

  beforeAll(async () => {
    admin = adminClient(url!);
    store = new ElasticsearchStore({ config: esStoreConfig(url!, prefix), env: {}, metrics: new Metrics(), logger: silentLogger });
    await store.init();
  });
  afterAll(async () => {
    await store?.close();
    await dropPrefix(url!, base);
    await admin?.close();
  });

  /** Leaf mapping of every field of the indices matching `index`, by full dotted name. */
  async function fields(index: string): Promise<Record<string, Record<string, unknown>>> {
    const res = (await admin.indices.getFieldMapping({ index, fields: '*' })) as unknown as FieldMappings;
    const out: Record<string, Record<string, unknown>> = {};
    for (const { mappings } of Object.values(res)) {
      for (const [name, m] of Object.entries(mappings)) {
        const leaf = Object.values(m.mapping)[0];
        if (leaf) out[name] = leaf;
      }
    }
    return out;
  }

  it('installs composable index templates for events, findings and actions', async () => {
    const res = await admin.indices.getIndexTemplate({ name: `${prefix}-*` });
    const byName = Object.fromEntries(res.index_templates.map((t) => [t.name, t.index_template]));
    expect(Object.keys(byName).sort()).toEqual([`${prefix}-actions`, `${prefix}-events`, `${prefix}-findings`]);
    expect(byName[`${prefix}-events`]).toMatchObject({
      index_patterns: [`${prefix}-events-*`],
      composed_of: [`${prefix}-settings`, `${prefix}-events`],
      priority: 200,
    });
  });

  it('maps every event field explicitly with the intended type', async () => {
    const full = event(1);
    expect(await store.writeEvents([full])).toEqual({ written: 1, failed: [] });
    const mapped = await fields(`${prefix}-events-*`);
    for (const name of Object.keys(full)) expect(mapped, name).toHaveProperty([name]);
    const types = Object.fromEntries(Object.entries(mapped).map(([k, v]) => [k, v.type]));
    expect(types).toMatchObject({
      '@timestamp': 'date',
      'event.ingested': 'date',
      'event.id': 'keyword',
      'source.ip': 'ip',
      'client.ip': 'ip',
      'url.path': 'keyword',
      'url.query': 'keyword',
      'user_agent.original': 'keyword',
      'user_agent.original.text': 'text',
      'source.as.organization.name.text': 'text',
      'source.geo.location': 'geo_point',
      'http.response.status_code': 'long',
      'http.response.body.bytes': 'long',
      'event.duration': 'long',
      'source.as.number': 'long',
      'mastodon.duration_ms': 'float',
      'mastodon.unmapped': 'boolean',
      'mastodon.required_scopes': 'keyword',
      'tuskguard.fingerprint': 'keyword',
      'tuskguard.key_id': 'keyword',
    });
  });

  it('keeps unknown fields in _source without adding them to the mapping (dynamic: false)', async () => {
    const junk = { ...event(2), 'junk.field': 'x', [`x${'y'.repeat(50)}`]: { deep: [1, 2] } };
    expect(await store.writeEvents([junk])).toEqual({ written: 1, failed: [] });
    await store.refresh();
    const mapping = await admin.indices.getMapping({ index: `${prefix}-events-*` });
    const one = Object.values(mapping)[0]!.mappings;
    expect(one.dynamic).toBe('false');
    expect(JSON.stringify(one)).not.toContain('junk');
    expect(await store.searchEvents({ requestId: 'req-2' })).toEqual([junk]);
  });

  it("names indices after each document's own time, per day or per month, and joins the alias", async () => {
    const monthly = new ElasticsearchStore({
      config: esStoreConfig(url!, `${base}-month`, { index_period: 'month' }),
      env: {},
      metrics: new Metrics(),
      logger: silentLogger,
    });
    await monthly.init();
    const docs = [event(1, { '@timestamp': '2026-01-31T23:59:59.999Z' }), event(2, { '@timestamp': '2026-02-01T00:00:00.000Z' })];
    await monthly.writeEvents(docs);
    await monthly.writeFindings([finding(1, { at: '2026-02-03T10:00:00.000Z' })]);
    await monthly.close();
    await store.writeEvents(docs);
    await store.writeActions([action(1, { '@timestamp': '2026-02-03T10:00:00.000Z' })]);
    const names = async (pattern: string) =>
      ((await admin.cat.indices({ index: pattern, format: 'json', h: 'index' })) as { index: string }[]).map((r) => r.index).sort();
    expect(await names(`${base}-month-*`)).toEqual([`${base}-month-events-2026.01`, `${base}-month-events-2026.02`, `${base}-month-findings-2026.02`]);
    const februaryish = (await names(`${prefix}-*-2026.0*`)).filter((n) => !n.includes('2026.03'));
    expect(februaryish).toEqual([`${prefix}-actions-2026.02.03`, `${prefix}-events-2026.01.31`, `${prefix}-events-2026.02.01`]);
    const alias = await admin.indices.getAlias({ name: `${prefix}-events` });
    expect(Object.keys(alias)).toEqual(expect.arrayContaining([`${prefix}-events-2026.01.31`, `${prefix}-events-2026.02.01`]));
  });

  it('indexes hostile values: a 40 kB path is kept in _source (ignore_above) and the user agent is searchable as text', async () => {
    const long = event(3, { 'url.path': `/${'a'.repeat(40_000)}`, 'user_agent.original': 'Mozilla/5.0 Mastodon Elefant/2.1' });
    expect(await store.writeEvents([long])).toEqual({ written: 1, failed: [] });
    await store.refresh();
    expect((await store.searchEvents({ requestId: 'req-3' }))[0]).toEqual(long);
    const res = await admin.search({ index: `${prefix}-events-*`, query: { match: { 'user_agent.original.text': 'elefant' } } });
    expect(res.hits.hits.map((h) => h._id)).toEqual(['ev-000003']);
  });

  it('maps findings and actions: flattened group and labels, keyword ids, dates', async () => {
    await store.writeFindings([finding(5, { group: { 'source.ip': '203.0.113.9', 'tuskguard.fingerprint': 'f'.repeat(32) } })]);
    await store.writeActions([action(5)]);
    await store.refresh();
    const f = await fields(`${prefix}-findings-*`);
    expect(Object.fromEntries(['id', 'rule', 'at', 'group', 'labels', 'evidence.count'].map((k) => [k, f[k]?.type]))).toEqual({
      id: 'keyword',
      rule: 'keyword',
      at: 'date',
      group: 'flattened',
      labels: 'flattened',
      'evidence.count': 'double',
    });
    const hit = await admin.search({ index: `${prefix}-findings-*`, query: { term: { 'group.source.ip': '203.0.113.9' } } });
    expect(hit.hits.hits.map((h) => h._id)).toEqual(['finding-5']);
    const a = await fields(`${prefix}-actions-*`);
    expect([a['@timestamp']?.type, a.action?.type, a.dry_run?.type]).toEqual(['date', 'keyword', 'boolean']);
  });

  it('retention deletes only whole expired indices of its own naming, of either period', async () => {
    const p = `${base}-ret`;
    const ret = new ElasticsearchStore({ config: esStoreConfig(url!, p, { retention: '30d' }), env: {}, metrics: new Metrics(), logger: silentLogger });
    await ret.init();
    const foreign = [`${p}-events-keep`, `${p}-events-2020.01.01-restored`, `${p}x-events-2020.01.01`];
    for (const index of [...foreign, `${p}-events-2020.01`]) await admin.indices.create({ index });
    await admin.index({ index: `${p}-events-2020.01`, id: 'm1', document: { '@timestamp': '2020-01-05T00:00:00Z' } });
    await ret.writeEvents([event(1, { '@timestamp': '2020-01-01T10:00:00.000Z' }), event(2, { '@timestamp': '2026-02-20T00:00:00.000Z' })]);
    await ret.refresh();
    // Cutoff 2026-02-13T12:00Z: the 2026-02-20 index is whole and young; the 2020 ones are expired.
    expect(await ret.applyRetention(NOW)).toEqual({ deleted: 2 });
    const left = ((await admin.cat.indices({ index: `${p}*`, format: 'json', h: 'index' })) as { index: string }[]).map((r) => r.index).sort();
    expect(left).toEqual([...foreign, `${p}-events-2026.02.20`].sort());
    await ret.close();
    await admin.indices.delete({ index: `${p}x-events-2020.01.01` });
  });
});
