import type { Family } from '../../src/store/elasticsearch/indices.js';
import { DATA_VIEW_ID, lensDataType, TIME_FIELD } from './data-views.js';
import { savedObject, type SavedObject } from './saved-objects.js';

/**
 * Lens visualizations (saved-object type `lens`, form-based datasource, one layer each).
 * A spec names columns by id; their insertion order is the layer's `columnOrder`, which is also
 * the nesting order of the bucket aggregations (put a chart's breakdown before its time axis,
 * as Lens does, so the top values are chosen over the whole time range).
 */

export type ColumnSpec =
  | { op: 'date_histogram'; field: string; label: string }
  | { op: 'terms'; field: string; label: string; size: number; missing: boolean }
  | { op: 'count'; label: string; filter?: string }
  | { op: 'unique_count' | 'max' | 'min'; field: string; label: string; filter?: string };

/** Time axis on the family's time field. */
export const time = (family: Family, label = 'Time'): ColumnSpec => ({ op: 'date_histogram', field: TIME_FIELD[family], label });
/** Top `size` values of a field; `missing` adds a "(missing value)" bucket for documents without it. */
export const top = (field: string, size: number, label: string, missing = false): ColumnSpec => ({ op: 'terms', field, label, size, missing });
/** Document count, optionally of the documents matching a Lucene `filter` only. */
export const count = (label: string, filter?: string): ColumnSpec => (filter ? { op: 'count', label, filter } : { op: 'count', label });
export const distinct = (field: string, label: string): ColumnSpec => ({ op: 'unique_count', field, label });
export const latest = (field: string, label: string): ColumnSpec => ({ op: 'max', field, label });
export const earliest = (field: string, label: string): ColumnSpec => ({ op: 'min', field, label });

export type ChartSpec =
  | { type: 'bar_stacked' | 'line' | 'bar_percentage_stacked'; x: string; y: string[]; split?: string }
  | { type: 'donut'; groups: string[]; metric: string }
  | { type: 'table' }
  | { type: 'metric'; metric: string; secondary?: string };

export interface LensSpec {
  id: string;
  title: string;
  /** What an analyst reads from the panel (shown in the panel's info tooltip). */
  description: string;
  family: Family;
  /** Lucene query applied to the whole visualization ('' for none). */
  query?: string;
  columns: Record<string, ColumnSpec>;
  chart: ChartSpec;
}

const LAYER = 'main';

export function lens(spec: LensSpec): SavedObject {
  const ids = Object.keys(spec.columns);
  const firstMetric = ids.find((id) => !isBucket(spec.columns[id]!));
  if (!firstMetric) throw new Error(`lens ${spec.id}: needs a metric column`);
  const columns = Object.fromEntries(ids.map((id) => [id, column(spec.family, spec.columns[id]!, firstMetric)]));
  const state = {
    visualization: visualization(spec.chart, ids),
    query: { query: spec.query ?? '', language: 'lucene' },
    filters: [],
    datasourceStates: {
      formBased: { layers: { [LAYER]: { columns, columnOrder: ids, incompleteColumns: {}, sampling: 1 } } },
    },
    internalReferences: [],
    adHocDataViews: {},
  };
  return savedObject(
    'lens',
    spec.id,
    { title: spec.title, description: spec.description, visualizationType: VIS_TYPE[spec.chart.type], state },
    [{ type: 'index-pattern', id: DATA_VIEW_ID[spec.family], name: `indexpattern-datasource-layer-${LAYER}` }],
  );
}

function isBucket(c: ColumnSpec): boolean {
  return c.op === 'date_histogram' || c.op === 'terms';
}

const VIS_TYPE: Record<ChartSpec['type'], string> = {
  bar_stacked: 'lnsXY',
  bar_percentage_stacked: 'lnsXY',
  line: 'lnsXY',
  donut: 'lnsPie',
  table: 'lnsDatatable',
  metric: 'lnsMetric',
};

function column(family: Family, c: ColumnSpec, orderBy: string): Record<string, unknown> {
  const base = { label: c.label, customLabel: true };
  const filter = 'filter' in c && c.filter ? { filter: { query: c.filter, language: 'lucene' } } : {};
  switch (c.op) {
    case 'date_histogram':
      return { ...base, dataType: 'date', operationType: c.op, sourceField: c.field, isBucketed: true, scale: 'interval', params: { interval: 'auto', includeEmptyRows: true, dropPartials: false } };
    case 'terms':
      return {
        ...base, dataType: lensDataType(family, c.field), operationType: c.op, sourceField: c.field, isBucketed: true, scale: 'ordinal',
        // Lens only draws the missing bucket when the "Other" bucket is on as well.
        params: { size: c.size, orderBy: { type: 'column', columnId: orderBy }, orderDirection: 'desc', otherBucket: true, missingBucket: c.missing, parentFormat: { id: 'terms' }, include: [], exclude: [], includeIsRegex: false, excludeIsRegex: false },
      };
    case 'count':
      return { ...base, ...filter, dataType: 'number', operationType: c.op, sourceField: '___records___', isBucketed: false, scale: 'ratio', params: { emptyAsNull: true } };
    case 'unique_count':
      return { ...base, ...filter, dataType: 'number', operationType: c.op, sourceField: c.field, isBucketed: false, scale: 'ratio', params: { emptyAsNull: true } };
    case 'max':
    case 'min': {
      const dataType = lensDataType(family, c.field) === 'date' ? 'date' : 'number';
      return { ...base, ...filter, dataType, operationType: c.op, sourceField: c.field, isBucketed: false, scale: 'ratio', params: { emptyAsNull: true } };
    }
  }
}

function visualization(chart: ChartSpec, ids: string[]): Record<string, unknown> {
  switch (chart.type) {
    case 'donut':
      return {
        shape: 'donut',
        layers: [{ layerId: LAYER, layerType: 'data', primaryGroups: chart.groups, metrics: [chart.metric], numberDisplay: 'percent', categoryDisplay: 'default', legendDisplay: 'default', nestedLegend: false }],
      };
    case 'table':
      return { layerId: LAYER, layerType: 'data', columns: ids.map((columnId) => ({ columnId, isTransposed: false })) };
    case 'metric':
      return { layerId: LAYER, layerType: 'data', metricAccessor: chart.metric, ...(chart.secondary ? { secondaryMetricAccessor: chart.secondary } : {}) };
    default:
      return xy(chart);
  }
}

function xy(chart: Extract<ChartSpec, { x: string }>): Record<string, unknown> {
  const all = { x: true, yLeft: true, yRight: true };
  return {
    legend: { isVisible: true, position: 'right' },
    valueLabels: 'hide',
    fittingFunction: 'None',
    axisTitlesVisibilitySettings: all,
    tickLabelsVisibilitySettings: all,
    gridlinesVisibilitySettings: all,
    labelsOrientation: { x: 0, yLeft: 0, yRight: 0 },
    preferredSeriesType: chart.type,
    layers: [
      {
        layerId: LAYER, layerType: 'data', seriesType: chart.type, xAccessor: chart.x, accessors: chart.y,
        ...(chart.split ? { splitAccessor: chart.split } : {}),
        palette: { type: 'palette', name: 'default' },
      },
    ],
  };
}
