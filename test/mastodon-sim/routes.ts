import { loadEndpointScopes, RouteMatcher, type EndpointEntry } from '../../src/mastodon/endpoint-scopes.js';

/**
 * The Rails routes the simulator serves: every `server: rails` entry of endpoint-scopes.json,
 * matched with tuskguard's own matcher (most literal segments wins), plus `:param` values.
 */

export type { EndpointEntry };

export interface RoutedRequest {
  readonly entry: EndpointEntry;
  readonly params: Record<string, string>;
}

let shared: RouteMatcher | null = null;

function matcher(): RouteMatcher {
  shared ??= new RouteMatcher(loadEndpointScopes());
  return shared;
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** Values of the pattern's `:name` segments, read from the request path. */
export function routeParams(pattern: string, path: string): Record<string, string> {
  const pat = pattern.replace(/\(\/\*[a-z_]+\)$/, '').split('/').filter((s) => s !== '');
  const segs = path.split('/').filter((s) => s !== '');
  const out: Record<string, string> = {};
  pat.forEach((p, i) => {
    const value = segs[i];
    if (p.startsWith(':') && value !== undefined) out[p.slice(1)] = safeDecode(value);
  });
  return out;
}

/** The table entry for a Rails request, or null (Rails would answer 404 for an unknown route). */
export function routeRequest(method: string, path: string): RoutedRequest | null {
  const found = matcher().match({ method, path, server: 'rails' });
  if (!found) return null;
  return { entry: found.entry, params: routeParams(found.entry.path, path) };
}

export function allRailsEntries(): readonly EndpointEntry[] {
  return matcher().entries.filter((e) => e.server === 'rails');
}
