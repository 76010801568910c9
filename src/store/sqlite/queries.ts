import type { EventQuery, FindingQuery, RouteUsage, TimeRange } from '../types.js';
import { checkEventQuery, normalizeScopes, rangeMs } from '../query.js';

/** A WHERE clause and its positional parameters. */
export interface Where {
  sql: string;
  params: (string | number)[];
}

function build(parts: string[], params: (string | number)[]): Where {
  return { sql: parts.length ? `WHERE ${parts.join(' AND ')}` : '', params };
}

function addRange(parts: string[], params: (string | number)[], range: TimeRange): void {
  const { from, to } = rangeMs(range);
  if (from !== null) {
    parts.push('ts >= ?');
    params.push(from);
  }
  if (to !== null) {
    parts.push('ts < ?');
    params.push(to);
  }
}

function addEq(parts: string[], params: (string | number)[], column: string, value: string | undefined): void {
  if (value === undefined) return;
  parts.push(`${column} = ?`);
  params.push(value);
}

export function eventWhere(q: EventQuery): Where {
  checkEventQuery(q);
  const parts: string[] = [];
  const params: (string | number)[] = [];
  addRange(parts, params, q);
  addEq(parts, params, 'fingerprint', q.fingerprint);
  addEq(parts, params, 'key_id', q.keyId);
  addEq(parts, params, 'source_ip', q.sourceIp);
  addEq(parts, params, 'request_id', q.requestId);
  return build(parts, params);
}

export function findingWhere(q: FindingQuery): Where {
  const parts: string[] = [];
  const params: (string | number)[] = [];
  addRange(parts, params, q);
  addEq(parts, params, 'rule', q.rule);
  addEq(parts, params, 'key_id', q.key);
  addEq(parts, params, 'fingerprint', q.fingerprint);
  return build(parts, params);
}

export function rangeWhere(range: TimeRange): Where {
  const parts: string[] = [];
  const params: (string | number)[] = [];
  addRange(parts, params, range);
  return build(parts, params);
}

/**
 * One row per (fingerprint, route) over keyed events. `key_id` is the greatest non-null key id
 * (a fingerprint maps to one key; MAX only skips the events ingested before it was known);
 * scopes are the union over the group, so a changed scope table never hides a requirement.
 */
export function routeUsageSql(range: TimeRange & { fingerprints?: string[] }): Where {
  const parts = ['fingerprint IS NOT NULL'];
  const params: (string | number)[] = [];
  addRange(parts, params, range);
  if (range.fingerprints) {
    parts.push(`fingerprint IN (SELECT value FROM json_each(?))`);
    params.push(JSON.stringify(range.fingerprints));
  }
  const sql = `SELECT fingerprint, MAX(key_id) AS key_id, route, json_group_array(DISTINCT scopes) AS scopes,
      COUNT(*) AS n, MIN(ts) AS first, MAX(ts) AS last
    FROM events WHERE ${parts.join(' AND ')}
    GROUP BY fingerprint, route`;
  return { sql, params };
}

export interface UsageRow {
  fingerprint: string;
  key_id: string | null;
  route: string | null;
  scopes: string;
  n: number;
  first: number;
  last: number;
}

export function toRouteUsage(row: UsageRow): RouteUsage {
  const variants = JSON.parse(row.scopes) as (string | null)[];
  const scopes = variants.flatMap((v) => (v === null ? [] : (JSON.parse(v) as unknown[])));
  return {
    fingerprint: row.fingerprint,
    keyId: row.key_id,
    route: row.route,
    requiredScopes: normalizeScopes(scopes),
    count: row.n,
    firstSeen: new Date(row.first).toISOString(),
    lastSeen: new Date(row.last).toISOString(),
  };
}
