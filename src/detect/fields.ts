import type { Event, EventField } from '../core/event.js';
import { sourceNetwork } from '../ingest/enrich/network.js';
import { userAgentName } from '../ingest/enrich/user-agent.js';
import { type KeyLookup, statusAt } from './keys.js';
import { ipNetwork } from './net.js';

/**
 * The fields a rule may name: every Event field (the list is checked against the Event type
 * at compile time, so it cannot drift from the contract) plus a few derived fields that rules
 * need and that enrichment may not have set. Derived fields are computed on demand, once per
 * field per event, only for the rules that name them.
 */
export type FieldKind = 'string' | 'number' | 'boolean' | 'ip' | 'strings' | 'object';

const EVENT_FIELDS = {
  '@timestamp': 'string',
  'event.id': 'string',
  'event.dataset': 'string',
  'event.ingested': 'string',
  'event.duration': 'number',
  'log.file.path': 'string',
  'source.ip': 'ip',
  'client.ip': 'ip',
  'url.domain': 'string',
  'url.path': 'string',
  'url.query': 'string',
  'http.request.method': 'string',
  'http.request.id': 'string',
  'http.response.status_code': 'number',
  'http.response.body.bytes': 'number',
  'http.request.referrer': 'string',
  'http.version': 'string',
  'user_agent.original': 'string',
  'tuskguard.fingerprint': 'string',
  'tuskguard.key_id': 'string',
  'mastodon.route': 'string',
  'mastodon.required_scopes': 'strings',
  'mastodon.controller': 'string',
  'mastodon.action': 'string',
  'mastodon.token': 'string',
  'mastodon.server': 'string',
  'mastodon.duration_ms': 'number',
  'mastodon.db_ms': 'number',
  'mastodon.view_ms': 'number',
  'mastodon.status': 'number',
  'mastodon.unmapped': 'boolean',
  'source.geo.country_iso_code': 'string',
  'source.geo.city_name': 'string',
  'source.geo.location': 'object',
  'source.as.number': 'number',
  'source.as.organization.name': 'string',
  'source.network': 'string',
  'user_agent.name': 'string',
} as const satisfies Record<EventField, FieldKind>;

/** A scalar a field yields; array fields yield several. */
export type Scalar = string | number | boolean;

/** What a rule sees besides the event: the key inventory, when the engine was given one. */
export interface FieldContext {
  keys?: KeyLookup | undefined;
}

type Getter = (event: Event, ctx: FieldContext) => Scalar | readonly Scalar[] | undefined;

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function hourOfWeek(event: Event): number | undefined {
  const t = Date.parse(event['@timestamp']);
  if (Number.isNaN(t)) return undefined;
  const d = new Date(t);
  // Monday = 0 … Sunday = 6, so that a working week is one contiguous run of slots.
  return ((d.getUTCDay() + 6) % 7) * 24 + d.getUTCHours();
}

/**
 * The most specific scope of a route's any-of list: Mastodon lists the parent next to the
 * child (`read`, `read:statuses`), and the child says what the request actually used.
 */
function mostSpecificScope(scopes: readonly string[] | undefined): string | undefined {
  if (!scopes || scopes.length === 0) return undefined;
  let best = scopes[0]!;
  for (const s of scopes) if (s.split(':').length > best.split(':').length) best = s;
  return best;
}

/** `GET /api/v1/accounts/:id/statuses` → `GET accounts`; admin routes keep their sub-resource. */
function endpointGroup(route: string | undefined): string | undefined {
  if (!route) return undefined;
  const [method, path] = route.split(' ', 2);
  if (!method || !path) return undefined;
  const parts = path.split('/').filter((p) => p !== '' && !p.startsWith(':'));
  // parts: api, v1, resource, … ; oauth routes have no version segment.
  const rest = parts[0] === 'api' ? parts.slice(2) : parts;
  const resource = rest[0] === 'admin' ? rest.slice(0, 2).join('/') : rest[0];
  return resource ? `${method} ${resource}` : `${method} /`;
}

function scopeGranted(event: Event, ctx: FieldContext): boolean | undefined {
  const fp = event['tuskguard.fingerprint'];
  const required = event['mastodon.required_scopes'];
  if (!fp || !required || required.length === 0 || !ctx.keys) return undefined;
  const granted = ctx.keys.byFingerprint(fp)?.scopes;
  if (!granted) return undefined;
  return required.some((s) => granted.includes(s));
}

/** Derived fields: name → how it is computed, and what it means (for rules/README.md). */
export const DERIVED_FIELDS: Record<string, { kind: FieldKind; doc: string; get: Getter }> = {
  'source.network': {
    kind: 'string',
    doc: 'the enriched source network, else /24 (IPv4) or /48 (IPv6) of source.ip, as enrichment computes it',
    get: (e) => e['source.network'] ?? (e['source.ip'] ? (sourceNetwork(e['source.ip']) ?? undefined) : undefined),
  },
  'source.network_16': {
    kind: 'string',
    doc: '/16 (IPv4) or /32 (IPv6) of source.ip',
    get: (e) => ipNetwork(e['source.ip'], 16, 32),
  },
  'user_agent.name': {
    kind: 'string',
    doc: 'the enriched user-agent family (Tusky, Chrome, curl), else computed as enrichment does',
    get: (e) => e['user_agent.name'] ?? (e['user_agent.original'] ? (userAgentName(e['user_agent.original']) ?? undefined) : undefined),
  },
  'mastodon.scope': {
    kind: 'string',
    doc: 'the most specific of the route\'s required scopes (read:statuses rather than read)',
    get: (e) => mostSpecificScope(e['mastodon.required_scopes']),
  },
  'mastodon.endpoint_group': {
    kind: 'string',
    doc: 'method and resource of the route: GET accounts, POST admin/accounts',
    get: (e) => endpointGroup(e['mastodon.route']),
  },
  'http.request.kind': {
    kind: 'string',
    doc: 'write for POST, PUT, PATCH, DELETE; read otherwise',
    get: (e) => (e['http.request.method'] ? (WRITE_METHODS.has(e['http.request.method']) ? 'write' : 'read') : undefined),
  },
  'event.hour_of_day': {
    kind: 'number',
    doc: 'hour of the event time in UTC, 0-23',
    get: (e) => {
      const h = hourOfWeek(e);
      return h === undefined ? undefined : h % 24;
    },
  },
  'event.hour_of_week': {
    kind: 'number',
    doc: 'hour of the week in UTC, 0 = Monday 00:00 … 167 = Sunday 23:00',
    get: hourOfWeek,
  },
  'tuskguard.key_id': {
    kind: 'string',
    doc: 'the enriched managed key id, else the id the key inventory gives the fingerprint',
    get: (e, ctx) => e['tuskguard.key_id'] ?? lookupKey(e, ctx)?.keyId ?? undefined,
  },
  'tuskguard.key_status': {
    kind: 'string',
    doc: 'status of the key in the inventory as of the event time (active, rotating, revoke-pending, revoked, rotated, suspended); absent when not managed',
    get: (e, ctx) => {
      const info = lookupKey(e, ctx);
      return info ? statusAt(info, Date.parse(e['@timestamp'])) : undefined;
    },
  },
  'tuskguard.scope_granted': {
    kind: 'boolean',
    doc: 'true when the key holds one of the route\'s required scopes; absent without an inventory',
    get: scopeGranted,
  },
};

function lookupKey(e: Event, ctx: FieldContext) {
  const fp = e['tuskguard.fingerprint'];
  return fp && ctx.keys ? ctx.keys.byFingerprint(fp) : undefined;
}

const KIND_CHECK: Record<FieldKind, (v: unknown) => boolean> = {
  string: (v) => typeof v === 'string',
  ip: (v) => typeof v === 'string',
  number: (v) => typeof v === 'number' && Number.isFinite(v),
  boolean: (v) => typeof v === 'boolean',
  strings: (v) => Array.isArray(v) && v.every((x) => typeof x === 'string'),
  object: (v) => v !== null && typeof v === 'object' && !Array.isArray(v),
};

/**
 * The first Event field of `o` whose value has the wrong type (null is allowed), for readers of
 * event JSON that must reject a malformed record rather than let it reach the rules.
 */
export function wrongTypedField(o: Record<string, unknown>): string | undefined {
  for (const [name, kind] of Object.entries(EVENT_FIELDS) as Array<[string, FieldKind]>) {
    const v = o[name];
    if (v !== undefined && v !== null && !KIND_CHECK[kind](v)) return name;
  }
  return undefined;
}

/** The kind of a field a rule may name, or undefined for an unknown field. */
export function fieldKind(name: string): FieldKind | undefined {
  return DERIVED_FIELDS[name]?.kind ?? (EVENT_FIELDS as Record<string, FieldKind>)[name];
}

/** Every field name a rule may use, sorted (for error messages and docs). */
export function knownFields(): string[] {
  return [...new Set([...Object.keys(EVENT_FIELDS), ...Object.keys(DERIVED_FIELDS)])].sort();
}

/**
 * A compiled accessor for one field. `null` counts as absent, like a missing key, so
 * `tuskguard.key_id: null` (an unknown fingerprint) fails `exists: true`.
 */
export function fieldGetter(name: string): Getter {
  const derived = DERIVED_FIELDS[name];
  if (derived) return derived.get;
  return (e) => {
    const v = (e as unknown as Record<string, unknown>)[name];
    if (v === null || v === undefined) return undefined;
    return v as Scalar | Scalar[];
  };
}

/** The field's values as a list (empty when absent), for conditions and group keys. */
export function fieldValues(get: Getter, event: Event, ctx: FieldContext): readonly Scalar[] {
  const v = get(event, ctx);
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v as Scalar];
}
