import type { estypes } from '@elastic/elasticsearch';
import { lensLayers } from './check.js';
import type { SavedObjectLine } from './inspect.js';

/**
 * The Elasticsearch request a Lens layer or a saved search amounts to, close to what Kibana's
 * search source sends: Lucene queries become `query_string` (with `analyze_wildcard`, Kibana's
 * default), bucket columns nest in `columnOrder`, metric columns sit in the innermost bucket,
 * a column filter wraps its metric in a `filter` aggregation, and a terms "missing bucket"
 * uses Kibana's `__missing__` key. Unsupported operations throw, so a new kind of column
 * cannot slip through untested.
 */

type Column = {
  operationType: string;
  sourceField: string;
  isBucketed: boolean;
  filter?: { query: string; language: string };
  params?: { size?: number; missingBucket?: boolean; otherBucket?: boolean; orderBy?: { type: string; columnId?: string }; orderDirection?: 'asc' | 'desc' };
};

export interface Layer {
  query: string;
  columns: Record<string, Column>;
  columnOrder: string[];
}

export type Row = Record<string, string | number | boolean | null>;

const MISSING = '__missing__';

export function lucene(query: string): estypes.QueryDslQueryContainer {
  return { query_string: { query, analyze_wildcard: true } };
}

/** Time range on the data view's time field plus the object's own query. */
export function boundedQuery(query: string, timeField: string, from: string, to: string): estypes.QueryDslQueryContainer {
  const filter: estypes.QueryDslQueryContainer[] = [{ range: { [timeField]: { gte: from, lt: to, format: 'strict_date_optional_time' } } }];
  if (query.trim()) filter.push(lucene(query));
  return { bool: { filter } };
}

export function lensLayer(o: SavedObjectLine): Layer {
  const layers = Object.values(lensLayers(o)) as unknown as Layer[];
  if (layers.length !== 1) throw new Error(`lens/${o.id}: expected one layer`);
  const state = o.attributes.state as { query: { query: string; language: string } };
  if (state.query.language !== 'lucene') throw new Error(`lens/${o.id}: query language ${state.query.language}`);
  return { ...layers[0]!, query: state.query.query };
}

function metricAgg(c: Column): estypes.AggregationsAggregationContainer | null {
  let inner: estypes.AggregationsAggregationContainer | null;
  switch (c.operationType) {
    case 'count':
      inner = null;
      break;
    case 'unique_count':
      inner = { cardinality: { field: c.sourceField } };
      break;
    case 'max':
    case 'min':
      inner = { [c.operationType]: { field: c.sourceField } };
      break;
    default:
      throw new Error(`no Elasticsearch equivalent for metric ${c.operationType}`);
  }
  if (!c.filter) return inner;
  return { filter: lucene(c.filter.query), ...(inner ? { aggs: { v: inner } } : {}) };
}

function bucketAgg(layer: Layer, c: Column): estypes.AggregationsAggregationContainer {
  if (c.operationType === 'date_histogram') return { date_histogram: { field: c.sourceField, fixed_interval: '1h', min_doc_count: 1 } };
  if (c.operationType !== 'terms') throw new Error(`no Elasticsearch equivalent for bucket ${c.operationType}`);
  const p = c.params ?? {};
  const terms: estypes.AggregationsTermsAggregation = { field: c.sourceField, size: p.size ?? 5 };
  if (p.missingBucket && p.otherBucket) terms.missing = MISSING;
  const dir = p.orderDirection ?? 'desc';
  const by = p.orderBy?.type === 'column' ? layer.columns[p.orderBy.columnId ?? ''] : undefined;
  const aggs: Record<string, estypes.AggregationsAggregationContainer> = {};
  if (!by) terms.order = { _key: dir };
  else if (by.operationType === 'count' && !by.filter) terms.order = { _count: dir };
  else {
    aggs.order = metricAgg(by)!;
    terms.order = { [by.filter ? (by.operationType === 'count' ? 'order>_count' : 'order>v') : 'order']: dir };
  }
  return { terms, aggs };
}

/** The `aggs` of a search body for the layer (metrics under the innermost bucket). */
export function layerAggs(layer: Layer): Record<string, estypes.AggregationsAggregationContainer> {
  const buckets = layer.columnOrder.filter((id) => layer.columns[id]!.isBucketed);
  const metrics: Record<string, estypes.AggregationsAggregationContainer> = {};
  for (const id of layer.columnOrder.filter((x) => !layer.columns[x]!.isBucketed)) {
    const agg = metricAgg(layer.columns[id]!);
    if (agg) metrics[id] = agg;
  }
  let level = metrics;
  for (const id of [...buckets].reverse()) {
    const agg = bucketAgg(layer, layer.columns[id]!);
    agg.aggs = { ...(agg.aggs ?? {}), ...level };
    level = { [id]: agg };
  }
  return level;
}

type Bucket = { key: unknown; key_as_string?: string; doc_count: number; [agg: string]: unknown };

/** Flatten the aggregation response into one row per innermost bucket (a table, as Lens draws it). */
export function layerRows(layer: Layer, aggregations: Record<string, unknown>, total: number): Row[] {
  const buckets = layer.columnOrder.filter((id) => layer.columns[id]!.isBucketed);
  const metrics = layer.columnOrder.filter((id) => !layer.columns[id]!.isBucketed);
  const walk = (node: Record<string, unknown>, depth: number, row: Row, docCount: number): Row[] => {
    if (depth === buckets.length) return [{ ...row, ...Object.fromEntries(metrics.map((id) => [id, metricValue(layer.columns[id]!, node[id], docCount)])) }];
    const id = buckets[depth]!;
    const list = (node[id] as { buckets: Bucket[] }).buckets;
    return list.flatMap((b) => walk(b, depth + 1, { ...row, [id]: bucketKey(layer.columns[id]!, b) }, b.doc_count));
  };
  return walk(aggregations, 0, {}, total);
}

function bucketKey(c: Column, b: Bucket): string | number | boolean | null {
  if (b.key === MISSING) return null;
  if (c.operationType === 'date_histogram') return new Date(b.key as number).toISOString();
  if (typeof b.key === 'number' && b.key_as_string !== undefined && (b.key_as_string === 'true' || b.key_as_string === 'false')) return b.key_as_string === 'true';
  return b.key as string | number;
}

function metricValue(c: Column, agg: unknown, docCount: number): string | number | null {
  const a = agg as { doc_count?: number; v?: { value: number | null; value_as_string?: string }; value?: number | null; value_as_string?: string } | undefined;
  if (c.operationType === 'count') return c.filter ? (a?.doc_count ?? 0) : docCount;
  const leaf = c.filter ? a?.v : a;
  if (leaf?.value === null || leaf?.value === undefined) return null;
  return leaf.value_as_string ?? leaf.value;
}
