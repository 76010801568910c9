import type { Event } from '../../core/event.js';
import { BUNDLED_ENDPOINT_SCOPES, RouteMatcher, loadEndpointScopes } from '../../mastodon/endpoint-scopes.js';
import { addAsn, addGeo, openMmdb } from './geo.js';
import { sourceNetwork } from './network.js';
import { addRoute } from './route.js';
import { userAgentName } from './user-agent.js';

/**
 * Enrichment, after parsing and joining: key id from the fingerprint, Mastodon route and
 * required scopes, source network, user-agent family, and geo/ASN when databases are
 * configured. Everything it needs is loaded once by createEnricher (fail fast at start-up);
 * `enrich` does no I/O.
 */

/** Maps a key fingerprint to a managed key id (implemented by the key inventory). */
export interface KeyLookup {
  /** The managed key with this fingerprint, or null for a token tuskguard does not manage. */
  keyIdFor(fingerprint: string): string | null;
}

export interface Enricher {
  /**
   * Adds the enrichment fields to `event` in place and returns it (no copy on the hot path).
   * Never throws for odd events: fields it cannot derive are left out.
   */
  enrich(event: Event): Event;
}

export interface EnricherOptions {
  /** Without it, `tuskguard.key_id` is not set at all (as opposed to null = unknown key). */
  keyLookup?: KeyLookup;
  /** MaxMind-format City or Country database (config `enrich.geo_mmdb`). */
  geoMmdb?: string;
  /** MaxMind-format ASN database (config `enrich.asn_mmdb`). */
  asnMmdb?: string;
  /** Override of the bundled endpoint-scopes.json (config `enrich.endpoint_scopes`). */
  endpointScopesFile?: string;
}

/** Loads the route table and the mmdb files; throws CONFIG_INVALID naming a bad file. */
export async function createEnricher(opts: EnricherOptions = {}): Promise<Enricher> {
  const matcher = new RouteMatcher(loadEndpointScopes(opts.endpointScopesFile ?? BUNDLED_ENDPOINT_SCOPES));
  const geo = opts.geoMmdb ? await openMmdb(opts.geoMmdb, 'enrich.geo_mmdb') : null;
  const asn = opts.asnMmdb ? await openMmdb(opts.asnMmdb, 'enrich.asn_mmdb') : null;
  const keys = opts.keyLookup ?? null;
  return {
    enrich(event: Event): Event {
      const fp = event['tuskguard.fingerprint'];
      if (fp !== undefined && keys) event['tuskguard.key_id'] = keys.keyIdFor(fp);
      addRoute(event, matcher);
      const ip = event['source.ip'];
      if (ip !== undefined) {
        const network = sourceNetwork(ip);
        if (network !== null) event['source.network'] = network;
        if (geo) addGeo(event, geo, ip);
        if (asn) addAsn(event, asn, ip);
      }
      const ua = event['user_agent.original'];
      if (ua !== undefined) {
        const name = userAgentName(ua);
        if (name !== null) event['user_agent.name'] = name;
      }
      return event;
    },
  };
}
