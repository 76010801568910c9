import type { Family } from '../../src/store/elasticsearch/indices.js';
import { DATA_VIEW_ID } from './data-views.js';
import { KIBANA_VERSION, SEARCH_INDEX_REF, savedObject, searchSource, type Reference, type SavedObject } from './saved-objects.js';

/** Saved searches (Discover tables) and dashboards that place saved objects by reference. */

export interface SearchSpec {
  id: string;
  title: string;
  description: string;
  family: Family;
  /** Lucene query ('' for all documents). */
  query: string;
  columns: string[];
  /** `[field, direction]` pairs, first wins. */
  sort: [string, 'asc' | 'desc'][];
}

export function savedSearch(spec: SearchSpec): SavedObject {
  return savedObject(
    'search',
    spec.id,
    {
      title: spec.title,
      description: spec.description,
      columns: spec.columns,
      sort: spec.sort,
      grid: {},
      hideChart: false,
      kibanaSavedObjectMeta: { searchSourceJSON: searchSource(spec.query, true) },
    },
    [{ type: 'index-pattern', id: DATA_VIEW_ID[spec.family], name: SEARCH_INDEX_REF }],
  );
}

export interface PanelSpec {
  object: SavedObject;
  /** Width in grid units (the grid is 48 wide). */
  w: number;
  h: number;
}

export interface DashboardSpec {
  id: string;
  title: string;
  description: string;
  /** Relative start of the time range the dashboard opens with, e.g. `now-24h`. */
  from: string;
  panels: PanelSpec[];
}

const GRID_WIDTH = 48;

/**
 * A dashboard whose panels flow left to right and wrap at the grid's width. Each panel names its
 * object through `panelRefName`, resolved by the reference `<panelIndex>:panel_<panelIndex>`
 * (the form Kibana 8 exports), so the panel follows the object when it is edited.
 */
export function dashboard(spec: DashboardSpec): SavedObject {
  const panels: Record<string, unknown>[] = [];
  const references: Reference[] = [];
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  spec.panels.forEach((p, n) => {
    if (p.w > GRID_WIDTH) throw new Error(`dashboard ${spec.id}: panel ${p.object.id} is wider than the grid`);
    if (x + p.w > GRID_WIDTH) {
      y += rowHeight;
      x = 0;
      rowHeight = 0;
    }
    const i = `p${n + 1}`;
    panels.push({ version: KIBANA_VERSION, type: p.object.type, gridData: { x, y, w: p.w, h: p.h, i }, panelIndex: i, embeddableConfig: { enhancements: {} }, panelRefName: `panel_${i}` });
    references.push({ name: `${i}:panel_${i}`, type: p.object.type, id: p.object.id });
    x += p.w;
    rowHeight = Math.max(rowHeight, p.h);
  });
  return savedObject(
    'dashboard',
    spec.id,
    {
      title: spec.title,
      description: spec.description,
      panelsJSON: JSON.stringify(panels),
      optionsJSON: JSON.stringify({ useMargins: true, syncColors: false, syncCursor: true, syncTooltips: false, hidePanelTitles: false }),
      version: 1,
      timeRestore: true,
      timeFrom: spec.from,
      timeTo: 'now',
      refreshInterval: { pause: false, value: 60_000 },
      kibanaSavedObjectMeta: { searchSourceJSON: searchSource('', false) },
    },
    references,
  );
}
