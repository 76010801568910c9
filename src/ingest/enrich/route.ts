import type { Event } from '../../core/event.js';
import type { MastodonServer, RouteMatcher } from '../../mastodon/endpoint-scopes.js';

/**
 * Which Mastodon server handled a request (shared/mastodon/README.md, "How tuskguard uses it":
 * WebSocket or streaming-host traffic is `streaming`, everything else `rails`). From the proxy
 * line that means: a 101 answer (WebSocket upgrade), a `streaming.` virtual host, or a path
 * under `/api/v1/streaming`, which Mastodon's stock nginx config sends to the Node streaming
 * server. A line Mastodon's Rails log wrote itself (`mastodon`, or `joined` with a controller)
 * was handled by Rails, whatever its path.
 */
export function serverOf(event: Event): MastodonServer {
  if (event['mastodon.controller'] !== undefined) return 'rails';
  if (event['http.response.status_code'] === 101) return 'streaming';
  if (event['url.domain']?.startsWith('streaming.')) return 'streaming';
  const path = event['url.path'] ?? '';
  if (path === '/api/v1/streaming' || path.startsWith('/api/v1/streaming/')) return 'streaming';
  return 'rails';
}

/**
 * Adds `mastodon.route`, `.required_scopes`, `.token`, `.server`, `.unmapped` to an event that
 * has a method and a path; a request that matches no route is kept with `mastodon.unmapped: true`.
 */
export function addRoute(event: Event, matcher: RouteMatcher): void {
  const method = event['http.request.method'];
  const path = event['url.path'];
  if (method === undefined || path === undefined) return;
  const server = serverOf(event);
  const found = matcher.match({
    method,
    path,
    server,
    controller: event['mastodon.controller'],
    action: event['mastodon.action'],
  });
  if (!found) {
    event['mastodon.unmapped'] = true;
    return;
  }
  event['mastodon.route'] = found.route;
  event['mastodon.required_scopes'] = found.entry.scopes;
  event['mastodon.token'] = found.entry.token;
  event['mastodon.server'] = found.entry.server;
  event['mastodon.unmapped'] = false;
}
