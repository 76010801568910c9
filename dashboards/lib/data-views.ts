import type { estypes } from '@elastic/elasticsearch';
import { IndexLayout, type Family } from '../../src/store/elasticsearch/indices.js';
import { ACTION_FIELD_MAPPINGS, EVENT_FIELD_MAPPINGS, FINDING_FIELD_MAPPINGS } from '../../src/store/elasticsearch/mappings.js';
import { savedObject, type SavedObject } from './saved-objects.js';

/**
 * Data views (Kibana `index-pattern` objects) over the store's three index families, and the
 * field-type lookups the Lens builders use. Field names and types come from the store's own
 * mapping tables, so a visualization can only name a field the store maps.
 */

/** The index prefix the shipped file assumes: the store's default `index_prefix`. */
export const DEFAULT_PREFIX = 'tuskguard';

/** Lens column data types, as Kibana derives them from Elasticsearch field types. */
export type LensDataType = 'string' | 'number' | 'date' | 'ip' | 'boolean';

const MAPPINGS: Record<Family, Record<string, estypes.MappingProperty>> = {
  events: EVENT_FIELD_MAPPINGS,
  findings: FINDING_FIELD_MAPPINGS,
  actions: ACTION_FIELD_MAPPINGS,
};

const LENS_TYPES: Record<string, LensDataType> = {
  keyword: 'string',
  long: 'number',
  integer: 'number',
  float: 'number',
  double: 'number',
  date: 'date',
  ip: 'ip',
  boolean: 'boolean',
};

/** Lens data type of a mapped field; throws for an unmapped or non-aggregatable one. */
export function lensDataType(family: Family, field: string): LensDataType {
  const mapping = MAPPINGS[family][field] as { type?: string } | undefined;
  const type = mapping?.type ? LENS_TYPES[mapping.type] : undefined;
  if (!type) throw new Error(`${family} field ${field} is not mapped as an aggregatable type (${mapping?.type ?? 'unmapped'})`);
  return type;
}

/**
 * The time field of each family: the field the store names the document's index after.
 * Findings have no `@timestamp`; their event time is `at`.
 */
export const TIME_FIELD: Record<Family, string> = {
  events: '@timestamp',
  findings: 'at',
  actions: '@timestamp',
};

/** Stable data view ids, referenced by every search and visualization. */
export const DATA_VIEW_ID: Record<Family, string> = {
  events: 'tuskguard-events',
  findings: 'tuskguard-findings',
  actions: 'tuskguard-actions',
};

const NAMES: Record<Family, string> = {
  events: 'tuskguard events (requests)',
  findings: 'tuskguard findings',
  actions: 'tuskguard actions (audit)',
};

/** Display formats Kibana cannot guess: nanosecond durations, byte sizes, AS numbers. */
const FORMATS: Record<Family, Record<string, unknown>> = {
  events: {
    'event.duration': { id: 'duration', params: { inputFormat: 'nanoseconds', outputFormat: 'humanizePrecise', outputPrecision: 1 } },
    'http.response.body.bytes': { id: 'bytes' },
    'source.as.number': { id: 'number', params: { pattern: '0' } },
    'http.response.status_code': { id: 'number', params: { pattern: '0' } },
  },
  findings: {},
  actions: {},
};

/**
 * A data view over `<prefix>-<family>-*`, the wildcard the store searches (it matches daily and
 * monthly indices alike). `fields: "[]"` makes Kibana read the field list from the cluster;
 * `allowNoIndex` keeps the view usable before the first finding or action is written.
 */
export function dataView(family: Family, prefix = DEFAULT_PREFIX): SavedObject {
  const layout = new IndexLayout(prefix, 'day');
  return savedObject('index-pattern', DATA_VIEW_ID[family], {
    title: layout.pattern(family),
    name: NAMES[family],
    timeFieldName: TIME_FIELD[family],
    fields: '[]',
    fieldFormatMap: JSON.stringify(FORMATS[family]),
    fieldAttrs: '{}',
    runtimeFieldMap: '{}',
    sourceFilters: '[]',
    typeMeta: '{}',
    allowNoIndex: true,
  });
}
