/**
 * The one event shape every parser produces and every store, rule and dashboard reads.
 *
 * Events are flat objects keyed by ECS dotted field names (`source.ip`, not `{source:{ip}}`):
 * Elasticsearch maps dotted keys to the same object fields, rule filters name fields exactly
 * as dashboards do, and a flat object is cheap to build on the hot path.
 *
 * An event never holds a raw token: only `tuskguard.fingerprint`.
 */

/** Which parser produced the event; `joined` = a proxy line merged with its Mastodon line. */
export const DATASETS = ['nginx-json', 'combined', 'mastodon', 'joined'] as const;
export type Dataset = (typeof DATASETS)[number];

export interface Event {
  /** Event time, ISO 8601 in UTC with milliseconds (`2026-11-02T14:03:05.123Z`). */
  '@timestamp': string;
  /**
   * Deterministic id: the same input line always yields the same id, so a replay or a retry
   * never duplicates (ingest/parsers/id.ts): derived from the request id when the line has one
   * (proxy line, Mastodon line and joined event share it), else a hash of the line's content,
   * wherever it came from, and its ordinal among identical lines.
   */
  'event.id': string;
  /** Parser that produced the event. */
  'event.dataset': Dataset;
  /** Wall-clock time the event was ingested (ISO 8601); not part of `event.id`. */
  'event.ingested'?: string;
  /** Request duration in nanoseconds (ECS convention). */
  'event.duration'?: number;
  /** Where the line came from, e.g. `file:/var/log/nginx/access.log` or `http-push`. */
  'log.file.path'?: string;
  /** Client address as seen by the proxy (IPv4 or IPv6 text form). */
  'source.ip'?: string;
  /** First address of `X-Forwarded-For`, when present. */
  'client.ip'?: string;
  /** Virtual host of the request. */
  'url.domain'?: string;
  /** Path without the query string. */
  'url.path'?: string;
  /** Query string without the leading `?`, with any `access_token` value redacted. */
  'url.query'?: string;
  'http.request.method'?: string;
  /** Request id shared by the proxy line and the Mastodon line (`X-Request-Id`). */
  'http.request.id'?: string;
  'http.response.status_code'?: number;
  'http.response.body.bytes'?: number;
  'http.request.referrer'?: string;
  'http.version'?: string;
  'user_agent.original'?: string;
  /** Keyed fingerprint of the token (32 lowercase hex); absent when the request had none. */
  'tuskguard.fingerprint'?: string;
  /** Managed key id for the fingerprint; `null` when the fingerprint is unknown. */
  'tuskguard.key_id'?: string | null;
  /** Mastodon route pattern the request matched, e.g. `GET /api/v1/statuses/:id`. */
  'mastodon.route'?: string;
  /** Scopes of which any one satisfies the route (empty: no scope check). */
  'mastodon.required_scopes'?: string[];
  /** Rails controller, e.g. `Api::V1::StatusesController` (from the Mastodon log line). */
  'mastodon.controller'?: string;
  'mastodon.action'?: string;
  /** Token check of the route: `required`, `optional`, `none`, … (endpoint-scopes.json). */
  'mastodon.token'?: string;
  /** `rails` or `streaming`. */
  'mastodon.server'?: string;
  /** Mastodon's own timings (ms), from its log line. */
  'mastodon.duration_ms'?: number;
  'mastodon.db_ms'?: number;
  'mastodon.view_ms'?: number;
  /** Mastodon's own status when it differs from the proxy's (e.g. a proxy 502). */
  'mastodon.status'?: number;
  /** True when the request matched no known Mastodon route. */
  'mastodon.unmapped'?: boolean;
  'source.geo.country_iso_code'?: string;
  'source.geo.city_name'?: string;
  'source.geo.location'?: { lat: number; lon: number };
  'source.as.number'?: number;
  'source.as.organization.name'?: string;
  /** Network of the source, /24 for IPv4 and /48 for IPv6, for grouping and new-term rules. */
  'source.network'?: string;
  /** User-agent family without version (`Tusky`, `Mozilla`), for rules tolerant of upgrades. */
  'user_agent.name'?: string;
}

/** Field names of Event, for schemas and mappings that must list every field. */
export type EventField = keyof Event;

/** A line a parser could not turn into an event. Never thrown: returned. */
export interface ParseError {
  readonly kind: 'parse-error';
  /** Stable reason code, e.g. `invalid-json`, `missing-field`, `line-too-long`. */
  readonly reason: string;
  /** Human explanation naming the offending field or position. */
  readonly message: string;
}

export function parseError(reason: string, message: string): ParseError {
  return { kind: 'parse-error', reason, message };
}

export function isParseError(x: Event | ParseError): x is ParseError {
  return (x as ParseError).kind === 'parse-error';
}
