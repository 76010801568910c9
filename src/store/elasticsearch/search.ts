import type { estypes } from '@elastic/elasticsearch';
import { checkEventQuery, normalizeScopes, rangeMs } from '../query.js';
import type { EventQuery, FindingQuery, RouteUsage, TimeRange } from '../types.js';

/** Query bodies for the store's reads; `filter` context only (no scoring is needed anywhere). */

type Query = estypes.QueryDslQueryContainer;

function range(field: string, r: TimeRange): Query[] {
  const { from, to } = rangeMs(r);
  if (from === null && to === null) return [];
  const bounds: estypes.QueryDslDateRangeQuery = { format: 'epoch_millis' };
  if (from !== null) bounds.gte = String(from);
  if (to !== null) bounds.lt = String(to);
  return [{ range: { [field]: bounds } }];
}

function term(field: string, value: string | undefined): Query[] {
  return value === undefined ? [] : [{ term: { [field]: value } }];
}

function bool(filter: Query[]): Query {
  return filter.length ? { bool: { filter } } : { match_all: {} };
}

export function eventQuery(q: EventQuery): Query {
  checkEventQuery(q);
  return bool([
    ...range('@timestamp', q),
    ...term('tuskguard.fingerprint', q.fingerprint),
    ...term('tuskguard.key_id', q.keyId),
    ...term('source.ip', q.sourceIp),
    ...term('http.request.id', q.requestId),
  ]);
}

export function findingQuery(q: FindingQuery): Query {
  return bool([...range('at', q), ...term('rule', q.rule), ...term('key', q.key), ...term('fingerprint', q.fingerprint)]);
}

export function actionQuery(q: TimeRange): Query {
  return bool(range('@timestamp', q));
}

/** Composite buckets per page of route usage; the search pages with `after` until done. */
export const USAGE_PAGE = 1_000;

/**
 * Route usage as a composite aggregation over (fingerprint, route) — paged, so the number of
 * groups is not bounded by a terms size — with first/last seen, the greatest key id (as SQL
 * MAX does) and the union of required scopes per group.
 */
export function usageAggregation(after?: Record<string, estypes.FieldValue | null>): Record<string, estypes.AggregationsAggregationContainer> {
  return {
    usage: {
      composite: {
        size: USAGE_PAGE,
        sources: [
          { fp: { terms: { field: 'tuskguard.fingerprint' } } },
          { route: { terms: { field: 'mastodon.route', missing_bucket: true } } },
        ],
        ...(after ? { after } : {}),
      } as estypes.AggregationsCompositeAggregation,
      aggs: {
        first: { min: { field: '@timestamp' } },
        last: { max: { field: '@timestamp' } },
        key_id: { terms: { field: 'tuskguard.key_id', size: 1, order: { _key: 'desc' } } },
        scopes: { terms: { field: 'mastodon.required_scopes', size: 200 } },
      },
    },
  };
}

export function usageQuery(r: TimeRange & { fingerprints?: string[] }): Query {
  const filter: Query[] = [{ exists: { field: 'tuskguard.fingerprint' } }, ...range('@timestamp', r)];
  if (r.fingerprints) filter.push({ terms: { 'tuskguard.fingerprint': r.fingerprints } });
  return { bool: { filter } };
}

/** One composite bucket as the search returns it (the sub-aggregations named above). */
export interface UsageBucket {
  key: { fp: string; route: string | null };
  doc_count: number;
  first: { value: number };
  last: { value: number };
  key_id: { buckets: { key: string }[] };
  scopes: { buckets: { key: string }[] };
}

export interface UsageAggregate {
  after_key?: Record<string, estypes.FieldValue | null>;
  buckets: UsageBucket[];
}

export function toRouteUsage(b: UsageBucket): RouteUsage {
  return {
    fingerprint: b.key.fp,
    keyId: b.key_id.buckets[0]?.key ?? null,
    route: b.key.route ?? null,
    requiredScopes: normalizeScopes(b.scopes.buckets.map((s) => s.key)),
    count: b.doc_count,
    firstSeen: new Date(b.first.value).toISOString(),
    lastSeen: new Date(b.last.value).toISOString(),
  };
}
