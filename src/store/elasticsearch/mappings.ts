import type { estypes } from '@elastic/elasticsearch';
import type { EventField } from '../../core/event.js';

/**
 * Explicit mappings for the three index families.
 *
 * Every event field has a declared type (the `satisfies Record<EventField, …>` below makes the
 * compiler reject a field added to core/event.ts without a mapping). Roots are `dynamic: false`
 * rather than `strict`: an unknown field is kept in `_source` (nothing a parser produced is
 * lost, and a new field can be mapped later) but never indexed, so junk input cannot grow
 * the mapping or hit the field limit. `strict` would instead refuse the whole document.
 *
 * Keywords carry `ignore_above` so a hostile 1 MB user agent or path is kept in `_source`
 * but not indexed, instead of failing the document with an immense-term error.
 */

type Property = estypes.MappingProperty;

const keyword = (ignoreAbove = 1024): Property => ({ type: 'keyword', ignore_above: ignoreAbove });
/** Keyword for exact match and aggregations, plus a `.text` sub-field for full-text search. */
const keywordWithText = (ignoreAbove = 1024): Property => ({
  type: 'keyword',
  ignore_above: ignoreAbove,
  fields: { text: { type: 'text' } },
});
const date: Property = { type: 'date' };
const ip: Property = { type: 'ip' };
const long: Property = { type: 'long' };
const float: Property = { type: 'float' };

export const EVENT_FIELD_MAPPINGS = {
  '@timestamp': date,
  'event.id': { type: 'keyword' },
  'event.dataset': keyword(),
  'event.ingested': date,
  'event.duration': long,
  'log.file.path': keyword(),
  'source.ip': ip,
  'client.ip': ip,
  'url.domain': keyword(),
  'url.path': keyword(2048),
  'url.query': keyword(2048),
  'http.request.method': keyword(),
  'http.request.id': keyword(),
  'http.response.status_code': long,
  'http.response.body.bytes': long,
  'http.request.referrer': keyword(2048),
  'http.version': keyword(),
  'user_agent.original': keywordWithText(),
  'tuskguard.fingerprint': keyword(),
  'tuskguard.key_id': keyword(),
  'mastodon.route': keyword(),
  'mastodon.required_scopes': keyword(),
  'mastodon.controller': keyword(),
  'mastodon.action': keyword(),
  'mastodon.token': keyword(),
  'mastodon.server': keyword(),
  'mastodon.duration_ms': float,
  'mastodon.db_ms': float,
  'mastodon.view_ms': float,
  'mastodon.status': long,
  'mastodon.unmapped': { type: 'boolean' },
  'source.geo.country_iso_code': keyword(),
  'source.geo.city_name': keyword(),
  'source.geo.location': { type: 'geo_point' },
  'source.as.number': long,
  'source.as.organization.name': keywordWithText(),
  'source.network': keyword(),
  'user_agent.name': keyword(),
} as const satisfies Record<EventField, Property>;

export const FINDING_FIELD_MAPPINGS: Record<string, Property> = {
  id: { type: 'keyword' },
  rule: keyword(),
  severity: keyword(),
  key: keyword(),
  fingerprint: keyword(),
  // Group-by and label maps have rule-chosen keys: flattened keeps them searchable as one field.
  group: { type: 'flattened', ignore_above: 1024 },
  labels: { type: 'flattened', ignore_above: 1024 },
  at: date,
  detected_at: date,
  summary: { type: 'text' },
  'evidence.explanation': { type: 'text' },
  'evidence.count': { type: 'double' },
  'evidence.threshold': { type: 'double' },
  'evidence.baseline': { type: 'flattened' },
  'evidence.values': keyword(),
  'evidence.sample_event_ids': keyword(),
};

/**
 * Action records mirror the audit chain; their shape belongs to the responder. The fields a
 * dashboard filters on are mapped as keywords (a keyword accepts any scalar); the rest stays
 * in `_source` only.
 */
export const ACTION_FIELD_MAPPINGS: Record<string, Property> = {
  id: { type: 'keyword' },
  '@timestamp': date,
  action: keyword(),
  type: keyword(),
  key: keyword(),
  fingerprint: keyword(),
  finding: keyword(),
  rule: keyword(),
  policy: keyword(),
  actor: keyword(),
  outcome: keyword(),
  status: keyword(),
  dry_run: { type: 'boolean' },
  reason: { type: 'text' },
};

/**
 * Dotted names → nested `properties`, the form Elasticsearch stores and returns (so the
 * template reads the same as GET _mapping). Intermediate objects inherit `dynamic: false`.
 */
export function nestProperties(flat: Record<string, Property>): Record<string, Property> {
  const root: Record<string, Property> = {};
  for (const [name, mapping] of Object.entries(flat)) {
    const parts = name === '@timestamp' ? [name] : name.split('.');
    let level = root;
    for (const part of parts.slice(0, -1)) {
      const existing = level[part] as estypes.MappingObjectProperty | undefined;
      const object: estypes.MappingObjectProperty = existing ?? { properties: {} };
      level[part] = object;
      level = object.properties!;
    }
    level[parts[parts.length - 1]!] = mapping;
  }
  return root;
}

export function typeMapping(flat: Record<string, Property>): estypes.MappingTypeMapping {
  return {
    dynamic: false,
    date_detection: false,
    numeric_detection: false,
    properties: nestProperties(flat),
  };
}
