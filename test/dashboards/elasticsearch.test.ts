import type { Client, estypes } from '@elastic/elasticsearch';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NDJSON_PATH } from '../../dashboards/build.js';
import { silentLogger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import { FAMILIES, type Family } from '../../src/store/elasticsearch/indices.js';
import { ElasticsearchStore } from '../../src/store/elasticsearch/store.js';
import { adminClient, dropPrefix, esSkipReason, esStoreConfig, esUrl, uniquePrefix } from '../helpers/elasticsearch.js';
import { dataViewFamilies, fieldUses } from './check.js';
import { EXPECTED_LENS_ROWS, EXPECTED_SEARCH_HITS } from './expected.js';
import { FROM, TO, actions, events, findings } from './fixtures.js';
import { defaultPrefix, parseNdjson, patternRegExp, type SavedObjectLine } from './inspect.js';
import { boundedQuery, layerAggs, layerRows, lensLayer } from './lens-to-es.js';

/**
 * The saved objects against a real Elasticsearch whose indices the real store created: the
 * data views' patterns catch what the store writes, every field exists with doc values where
 * it is aggregated (field_caps, the API Kibana builds its field list from), and every saved
 * search and Lens layer, run as the request Kibana would send, returns the expected table.
 */

const url = esUrl();
const prefix = uniquePrefix(import.meta.filename);
const objects = parseNdjson(readFileSync(NDJSON_PATH, 'utf8'));
const families = dataViewFamilies(objects, defaultPrefix());
const timeFields = new Map([...families].map(([id, family]) => [family, String(objects.find((o) => o.id === id)!.attributes.timeFieldName)]));

function familyOf(o: SavedObjectLine): Family {
  const id = o.references.find((r) => r.type === 'index-pattern')?.id;
  const family = id ? families.get(id) : undefined;
  if (!family) throw new Error(`${o.type}/${o.id} reads no tuskguard data view`);
  return family;
}

describe.skipIf(!url)(`Kibana saved objects on a real store${url ? '' : ` (skipped: ${esSkipReason()})`}`, () => {
  let admin: Client;
  let store: ElasticsearchStore;
  /** Data view title as it would be after switching the prefix (README: "Another index prefix"). */
  const pattern = (family: Family) => `${prefix}-${family}-*`;

  beforeAll(async () => {
    admin = adminClient(url!);
    store = new ElasticsearchStore({ config: esStoreConfig(url!, prefix), env: {}, metrics: new Metrics(), logger: silentLogger });
    await store.init();
    for (const [what, result] of [
      ['events', await store.writeEvents(events())],
      ['findings', await store.writeFindings(findings())],
      ['actions', await store.writeActions(actions())],
    ] as const) {
      if (result.failed.length) throw new Error(`fixture ${what} refused: ${JSON.stringify(result.failed)}`);
    }
    await store.refresh();
  });
  afterAll(async () => {
    await store?.close();
    await dropPrefix(url!, prefix);
    await admin?.close();
  });

  it('each index the store wrote is matched by exactly its family\'s data view', async () => {
    const rows = (await admin.cat.indices({ index: `${prefix}-*`, format: 'json', h: 'index' })) as { index: string }[];
    const names = rows.map((r) => r.index).sort();
    expect(names).toHaveLength(3);
    for (const index of names) {
      const matched = FAMILIES.filter((f) => patternRegExp(pattern(f)).test(index));
      expect(matched, index).toHaveLength(1);
      expect(index.startsWith(`${prefix}-${matched[0]}-`)).toBe(true);
    }
  });

  it('every field used exists on the real indices and is aggregatable where it is aggregated (field_caps)', async () => {
    const { uses, problems } = fieldUses(objects, families);
    expect(problems).toEqual([]);
    const caps = new Map<Family, Record<string, Record<string, estypes.FieldCapsFieldCapability>>>();
    for (const family of FAMILIES) caps.set(family, (await admin.fieldCaps({ index: pattern(family), fields: '*' })).fields);
    const wrong: string[] = [];
    for (const u of uses) {
      const cap = caps.get(u.family)![u.field];
      const types = Object.values(cap ?? {});
      if (types.length === 0) wrong.push(`${u.object}: ${u.field} not in field_caps`);
      else if (types.length > 1) wrong.push(`${u.object}: ${u.field} has conflicting types ${Object.keys(cap!)}`);
      else if (!types[0]!.searchable) wrong.push(`${u.object}: ${u.field} not searchable`);
      else if (u.aggregated && !types[0]!.aggregatable) wrong.push(`${u.object}: ${u.where} aggregates ${u.field}, not aggregatable`);
    }
    expect(wrong).toEqual([]);
    expect(uses.length).toBeGreaterThan(100);
  });

  it('a text field really cannot be aggregated, so the check above can fail', async () => {
    const fieldCaps = (await admin.fieldCaps({ index: pattern('findings'), fields: 'summary' })).fields;
    expect(fieldCaps.summary?.text?.aggregatable).toBe(false);
    await expect(admin.search({ index: pattern('findings'), size: 0, aggs: { s: { terms: { field: 'summary' } } } })).rejects.toThrow(/fielddata|Text fields/i);
  });

  const searches = objects.filter((o) => o.type === 'search');
  it.each(searches.map((o) => [o.id, o] as const))('saved search %s returns its documents in its order, with every column', async (id, o) => {
    const family = familyOf(o);
    const source = JSON.parse((o.attributes.kibanaSavedObjectMeta as { searchSourceJSON: string }).searchSourceJSON) as { query: { query: string } };
    const columns = o.attributes.columns as string[];
    const res = await admin.search({
      index: pattern(family), size: 100, fields: columns, _source: false,
      query: boundedQuery(source.query.query, timeFields.get(family)!, FROM, TO),
      sort: (o.attributes.sort as [string, 'asc' | 'desc'][]).map(([field, order]) => ({ [field]: { order } })),
    });
    expect(res.hits.hits.map((h) => h._id)).toEqual(EXPECTED_SEARCH_HITS[id]);
    const empty = columns.filter((c) => !res.hits.hits.some((h) => h.fields?.[c] !== undefined));
    expect(empty, `columns with no value in any hit of ${id}`).toEqual([]);
  });

  const visualizations = objects.filter((o) => o.type === 'lens');
  it('has an expected table for every Lens visualization in the file', () => {
    expect(Object.keys(EXPECTED_LENS_ROWS).sort()).toEqual(visualizations.map((o) => o.id).sort());
  });

  it.each(visualizations.map((o) => [o.id, o] as const))('Lens %s aggregates to the expected table', async (id, o) => {
    const family = familyOf(o);
    const layer = lensLayer(o);
    const res = await admin.search({ index: pattern(family), size: 0, track_total_hits: true, query: boundedQuery(layer.query, timeFields.get(family)!, FROM, TO), aggs: layerAggs(layer) });
    const total = typeof res.hits.total === 'number' ? res.hits.total : (res.hits.total?.value ?? 0);
    expect(layerRows(layer, res.aggregations as Record<string, unknown>, total)).toEqual(EXPECTED_LENS_ROWS[id]);
  });
});
