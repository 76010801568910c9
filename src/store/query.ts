import { isIP } from 'node:net';
import type { Event } from '../core/event.js';
import { TuskguardError } from '../core/errors.js';
import type { Finding } from '../core/finding.js';
import type { ActionRecord, EventQuery, RouteUsage, TimeRange, WriteFailure } from './types.js';

/**
 * Rules both store implementations share, so the conformance suite sees one behaviour:
 * how a time bound is read, how a limit is clamped, which documents are refused before
 * they reach the backend.
 */

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 10_000;

/** Epoch milliseconds of an ISO 8601 bound; a bound that does not parse is a usage error. */
export function boundMs(value: string, name: 'from' | 'to'): number {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) {
    throw new TuskguardError('USAGE', `time range: ${name}=${JSON.stringify(value)} is not an ISO 8601 time`, {
      hint: 'use a time such as 2026-11-02T14:00:00Z',
    });
  }
  return ms;
}

/** The range as epoch milliseconds: `from` inclusive, `to` exclusive; missing bounds open. */
export function rangeMs(range: TimeRange): { from: number | null; to: number | null } {
  return {
    from: range.from === undefined ? null : boundMs(range.from, 'from'),
    to: range.to === undefined ? null : boundMs(range.to, 'to'),
  };
}

/**
 * Filter values both stores must read the same way: an address that is not an IP is a usage
 * error (Elasticsearch would refuse it; SQLite would silently match nothing).
 */
export function checkEventQuery(q: EventQuery): void {
  if (q.sourceIp !== undefined && isIP(q.sourceIp) === 0) {
    throw new TuskguardError('USAGE', `source ip ${JSON.stringify(q.sourceIp)} is not an IP address`, {
      hint: 'pass an IPv4 or IPv6 address, such as 203.0.113.7 or 2001:db8::1',
    });
  }
}

/** Default 100, at most 10,000; a negative or fractional limit is a usage error. */
export function clampLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 0) {
    throw new TuskguardError('USAGE', `limit must be a whole number ≥ 0, got ${limit}`, {
      hint: `pass a limit between 0 and ${MAX_LIMIT}`,
    });
  }
  return Math.min(limit, MAX_LIMIT);
}

/** Epoch ms of a document time, or null when it is not a parseable ISO 8601 string. */
export function docTimeMs(value: unknown): number | null {
  if (typeof value !== 'string') return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : ms;
}

function refuse(id: unknown, reason: string, message: string): WriteFailure {
  return { id: typeof id === 'string' ? id : String(id), reason, message };
}

/**
 * Why a document cannot be stored at all (no usable id or time), or null when it can.
 * Both stores refuse the same documents, so the pipeline dead-letters the same ones.
 */
export function refusal(id: unknown, time: unknown, timeField: string): WriteFailure | null {
  // 512 bytes is Elasticsearch's _id limit; the embedded store keeps the same rule.
  if (typeof id !== 'string' || id.length === 0 || Buffer.byteLength(id) > 512) {
    return refuse(id, 'invalid-id', 'the document id must be a non-empty string of at most 512 bytes');
  }
  if (docTimeMs(time) === null) {
    return refuse(id, 'invalid-timestamp', `${timeField} is missing or not an ISO 8601 time`);
  }
  return null;
}

export const eventRefusal = (e: Event): WriteFailure | null => refusal(e['event.id'], e['@timestamp'], '@timestamp');
export const findingRefusal = (f: Finding): WriteFailure | null => refusal(f.id, f.at, 'at');
export const actionRefusal = (a: ActionRecord): WriteFailure | null => refusal(a.id, a['@timestamp'], '@timestamp');

/** Scopes of a route, sorted and de-duplicated, so both stores report them identically. */
export function normalizeScopes(scopes: Iterable<unknown>): string[] {
  const set = new Set<string>();
  for (const s of scopes) if (typeof s === 'string') set.add(s);
  return [...set].sort();
}

/** Fingerprint, then route with the no-route row first: the order both stores return. */
export function compareUsage(a: RouteUsage, b: RouteUsage): number {
  if (a.fingerprint !== b.fingerprint) return a.fingerprint < b.fingerprint ? -1 : 1;
  if (a.route === b.route) return 0;
  if (a.route === null) return -1;
  if (b.route === null) return 1;
  return a.route < b.route ? -1 : 1;
}
