import type { Event } from '../core/event.js';
import type { Finding } from '../core/finding.js';

/**
 * The searchable store (events, findings, actions). Two implementations — `sqlite` (embedded
 * default) and `elasticsearch` — pass the one conformance suite in test/store/conformance.ts.
 * Keys, checkpoints, rule state, the outbox and the audit chain live in the control plane
 * (store/control.ts), never here.
 */

/** A record of something the responder did or was asked to do (mirrored from the audit chain). */
export interface ActionRecord {
  /** Deterministic id (idempotency key). */
  id: string;
  '@timestamp': string;
  [field: string]: unknown;
}

export interface WriteFailure {
  id: string;
  /** Stable reason code (`mapping`, `rejected`, `too-large`, …). */
  reason: string;
  message: string;
}

export interface WriteResult {
  /** Documents the store now holds because of this call (new or overwritten by same id). */
  written: number;
  /** Documents the store refused for good (not retryable); the caller dead-letters them. */
  failed: WriteFailure[];
}

export interface TimeRange {
  /** Inclusive lower bound, ISO 8601. */
  from?: string;
  /** Exclusive upper bound, ISO 8601. */
  to?: string;
}

export interface EventQuery extends TimeRange {
  fingerprint?: string;
  keyId?: string;
  sourceIp?: string;
  requestId?: string;
  /** Default 100, at most 10,000. */
  limit?: number;
  /** By @timestamp, then event.id. Default `asc`. */
  order?: 'asc' | 'desc';
}

export interface FindingQuery extends TimeRange {
  rule?: string;
  key?: string;
  fingerprint?: string;
  limit?: number;
}

/** One row of per-key usage: what a fingerprint called, how often, when last. */
export interface RouteUsage {
  fingerprint: string;
  keyId: string | null;
  /** `METHOD /pattern`, or null for requests that matched no route. */
  route: string | null;
  requiredScopes: string[];
  count: number;
  firstSeen: string;
  lastSeen: string;
}

export interface EventStore {
  readonly kind: 'sqlite' | 'elasticsearch';
  /** Create tables / index templates; idempotent; fails with STORE_UNAVAILABLE and a hint. */
  init(): Promise<void>;
  /**
   * Persist events, idempotent by `event.id` (a second write of the same id does not add a
   * document). Resolves once the store has acknowledged them (durable for the caller's
   * checkpoint). Rejects only when the store is unreachable after retries.
   */
  writeEvents(events: readonly Event[]): Promise<WriteResult>;
  writeFindings(findings: readonly Finding[]): Promise<WriteResult>;
  writeActions(actions: readonly ActionRecord[]): Promise<WriteResult>;
  /** Make all acknowledged writes visible to searches (ES refresh; no-op for SQLite). */
  refresh(): Promise<void>;
  searchEvents(query: EventQuery): Promise<Event[]>;
  countEvents(query: EventQuery): Promise<number>;
  searchFindings(query: FindingQuery): Promise<Finding[]>;
  searchActions(query: TimeRange & { limit?: number }): Promise<ActionRecord[]>;
  /** Per fingerprint and route usage in a time range (least-privilege review, last seen). */
  routeUsage(range: TimeRange & { fingerprints?: string[] }): Promise<RouteUsage[]>;
  /** Delete events, findings and actions older than the configured retention, relative to `now`. */
  applyRetention(now: Date): Promise<{ deleted: number }>;
  /** Release connections and file handles; pending writes are flushed first. */
  close(): Promise<void>;
}
