import { dashboard, savedSearch } from '../lib/dashboard.js';
import { count, distinct, earliest, latest, lens, time, top } from '../lib/lens.js';
import type { SavedObject } from '../lib/saved-objects.js';

/**
 * "Key usage": who uses which key, from where, with what result. Reads the events data view.
 * Queries are Lucene (see dashboards/README.md); an unknown fingerprint is a request that
 * carried a token whose fingerprint matches no managed key (`tuskguard.key_id` is null).
 */

export const UNKNOWN_FINGERPRINT = '_exists_:tuskguard.fingerprint AND NOT _exists_:tuskguard.key_id';
export const AUTH_FAILURE = 'http.response.status_code:(401 OR 403)';

export function keyUsage(): SavedObject[] {
  const requests = savedSearch({
    id: 'tuskguard-search-requests',
    title: 'tuskguard: requests',
    description: 'Every request with its key, route, status and origin, newest first.',
    family: 'events',
    query: '',
    columns: ['tuskguard.key_id', 'http.request.method', 'url.path', 'mastodon.route', 'http.response.status_code', 'source.ip', 'source.geo.country_iso_code', 'source.as.organization.name', 'user_agent.original'],
    sort: [['@timestamp', 'desc']],
  });
  const unknownSearch = savedSearch({
    id: 'tuskguard-search-unknown-fingerprints',
    title: 'tuskguard: requests with an unknown fingerprint',
    description: 'Requests whose token matches no managed key: a key tuskguard does not hold, or a leaked or forged one.',
    family: 'events',
    query: UNKNOWN_FINGERPRINT,
    columns: ['tuskguard.fingerprint', 'http.request.method', 'url.path', 'http.response.status_code', 'source.ip', 'source.as.organization.name', 'user_agent.original'],
    sort: [['@timestamp', 'desc']],
  });
  const authSearch = savedSearch({
    id: 'tuskguard-search-auth-failures',
    title: 'tuskguard: 401 and 403 responses',
    description: 'Refused requests: a revoked or wrong token (401) or a token without the scope (403).',
    family: 'events',
    query: AUTH_FAILURE,
    columns: ['tuskguard.key_id', 'tuskguard.fingerprint', 'http.response.status_code', 'mastodon.route', 'mastodon.required_scopes', 'source.ip', 'user_agent.original'],
    sort: [['@timestamp', 'desc']],
  });

  const totals = lens({
    id: 'tuskguard-lens-requests-total', title: 'Requests', description: 'Requests in the time range, and how many managed keys made them.',
    family: 'events', columns: { requests: count('Requests'), keys: distinct('tuskguard.key_id', 'Keys seen') },
    chart: { type: 'metric', metric: 'requests', secondary: 'keys' },
  });
  const unknownTotal = lens({
    id: 'tuskguard-lens-unknown-total', title: 'Unknown-fingerprint requests', description: 'Requests with a token that matches no managed key, and how many distinct tokens.',
    family: 'events', query: UNKNOWN_FINGERPRINT,
    columns: { requests: count('Requests'), tokens: distinct('tuskguard.fingerprint', 'Distinct fingerprints') },
    chart: { type: 'metric', metric: 'requests', secondary: 'tokens' },
  });
  const authTotal = lens({
    id: 'tuskguard-lens-auth-failures-total', title: '401 / 403 responses', description: 'Refused requests, and how many of them were 401 (token rejected).',
    family: 'events', query: AUTH_FAILURE,
    columns: { refused: count('Refused'), unauthorized: count('401', 'http.response.status_code:401') },
    chart: { type: 'metric', metric: 'refused', secondary: 'unauthorized' },
  });
  const byKey = lens({
    id: 'tuskguard-lens-requests-by-key', title: 'Requests over time by key', description: 'Request rate of the ten busiest managed keys.',
    family: 'events', columns: { key: top('tuskguard.key_id', 10, 'Key'), time: time('events'), requests: count('Requests') },
    chart: { type: 'bar_stacked', x: 'time', y: ['requests'], split: 'key' },
  });
  const statusMix = lens({
    id: 'tuskguard-lens-status-mix', title: 'Status mix', description: 'Share of each HTTP status among all requests.',
    family: 'events', columns: { status: top('http.response.status_code', 10, 'Status'), requests: count('Requests') },
    chart: { type: 'donut', groups: ['status'], metric: 'requests' },
  });
  const authByKey = lens({
    id: 'tuskguard-lens-auth-failures-by-key', title: '401 / 403 over time by key', description: 'Refused requests per key; "(missing value)" is a token that matches no managed key.',
    family: 'events', query: AUTH_FAILURE,
    columns: { key: top('tuskguard.key_id', 10, 'Key', true), time: time('events'), refused: count('Refused') },
    chart: { type: 'bar_stacked', x: 'time', y: ['refused'], split: 'key' },
  });
  const unknown = lens({
    id: 'tuskguard-lens-unknown-fingerprints', title: 'Unknown fingerprints', description: 'Tokens seen that match no managed key: how often, from how many addresses, first and last seen.',
    family: 'events', query: UNKNOWN_FINGERPRINT,
    columns: {
      fingerprint: top('tuskguard.fingerprint', 20, 'Fingerprint'), requests: count('Requests'), sources: distinct('source.ip', 'Source IPs'),
      first: earliest('@timestamp', 'First seen'), last: latest('@timestamp', 'Last seen'),
    },
    chart: { type: 'table' },
  });
  const routes = lens({
    id: 'tuskguard-lens-top-routes', title: 'Top routes', description: 'Busiest Mastodon routes, the keys calling them, and their 4xx/5xx share.',
    family: 'events',
    columns: {
      route: top('mastodon.route', 20, 'Route'), requests: count('Requests'), keys: distinct('tuskguard.key_id', 'Keys'),
      errors: count('4xx / 5xx', 'http.response.status_code:[400 TO 599]'),
    },
    chart: { type: 'table' },
  });
  const origin = (id: string, title: string, description: string, columns: Parameters<typeof lens>[0]['columns']) =>
    lens({ id, title, description, family: 'events', columns: { ...columns, requests: count('Requests'), keys: distinct('tuskguard.key_id', 'Keys') }, chart: { type: 'table' } });
  const networks = origin('tuskguard-lens-top-networks', 'Top source networks', 'Source networks (/24 for IPv4, /48 for IPv6) by requests.', { network: top('source.network', 20, 'Network') });
  const asns = origin('tuskguard-lens-top-asns', 'Top ASNs', 'Autonomous systems the requests came from.', {
    asn: top('source.as.number', 20, 'ASN'), org: top('source.as.organization.name', 1, 'Organisation'),
  });
  const countries = origin('tuskguard-lens-top-countries', 'Top countries', 'Countries the requests came from (GeoIP of the source address).', {
    country: top('source.geo.country_iso_code', 20, 'Country'),
  });

  const board = dashboard({
    id: 'tuskguard-dashboard-key-usage',
    title: 'tuskguard: Key usage',
    description: 'Requests per managed key: volume, status mix, routes, origins, unknown fingerprints and refused requests. Filter one key with tuskguard.key_id:<id>.',
    from: 'now-24h',
    panels: [
      { object: totals, w: 16, h: 7 }, { object: unknownTotal, w: 16, h: 7 }, { object: authTotal, w: 16, h: 7 },
      { object: byKey, w: 32, h: 14 }, { object: statusMix, w: 16, h: 14 },
      { object: authByKey, w: 24, h: 14 }, { object: unknown, w: 24, h: 14 },
      { object: routes, w: 24, h: 15 }, { object: countries, w: 24, h: 15 },
      { object: networks, w: 24, h: 15 }, { object: asns, w: 24, h: 15 },
      { object: requests, w: 48, h: 18 },
    ],
  });
  return [requests, unknownSearch, authSearch, totals, unknownTotal, authTotal, byKey, statusMix, authByKey, unknown, routes, networks, asns, countries, board];
}
