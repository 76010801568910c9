import type { Event } from '../../../core/event.js';
import type { ParseContext } from '../../types.js';
import { scrubQuery } from '../common.js';

/**
 * The `"$request"` field of a combined line, taken apart without a regex over the whole field:
 * it is attacker controlled (any bytes a client sends before the first CRLF), so every shape
 * must yield whatever is known rather than fail the line. Fields are written straight into the
 * event (no intermediate objects: this runs for every line).
 *
 *   `GET /a?b HTTP/1.1`        → method, path, query, version
 *   `GET /a`                   → method, path (HTTP/0.9 style, no protocol)
 *   `GET http://h/a HTTP/1.1`  → method, domain, path (proxy-style absolute form)
 *   `OPTIONS *`, `CONNECT h:443 HTTP/1.1` → method only
 *   `-`, `\x16\x03\x01…` (TLS on a plain port) → nothing
 *
 * An `access_token` in the query is fingerprinted (when the context can) and redacted.
 */

/** Methods are RFC 9110 tokens; anything else in first position is junk, not a method. */
const METHOD_RE = /^[A-Za-z][A-Za-z-]{0,23}$/;
const VERSION_RE = /^HTTP\/(?<version>\d(?:\.\d)?)$/;

export function applyRequestLine(event: Event, request: string, ctx: ParseContext): void {
  if (request === '' || request === '-') return;
  const first = request.indexOf(' ');
  const method = first === -1 ? request : request.slice(0, first);
  if (!METHOD_RE.test(method)) return;
  event['http.request.method'] = method;
  if (first === -1) return;
  const last = request.lastIndexOf(' ');
  let end = request.length;
  if (last > first) {
    const version = VERSION_RE.exec(request.slice(last + 1))?.groups?.version;
    if (version !== undefined) {
      event['http.version'] = version;
      end = last;
    }
  }
  applyTarget(event, request, first + 1, end, ctx);
}

/** The request target `request[from, end)`: origin form `/p?q` or absolute form `scheme://host/p?q`. */
function applyTarget(event: Event, request: string, from: number, end: number, ctx: ParseContext): void {
  let pathStart = from;
  if (request.charCodeAt(from) !== 47 /* / */) {
    const scheme = request.indexOf('://', from);
    if (scheme === -1 || scheme - from > 8 || scheme >= end) return; // `*` or `host:port`: no path
    const slash = request.indexOf('/', scheme + 3);
    const hostEnd = slash === -1 || slash > end ? end : slash;
    if (hostEnd > scheme + 3) event['url.domain'] = request.slice(scheme + 3, hostEnd);
    if (hostEnd === end) {
      event['url.path'] = '/';
      return;
    }
    pathStart = hostEnd;
  }
  const q = request.indexOf('?', pathStart);
  if (q === -1 || q >= end) {
    event['url.path'] = request.slice(pathStart, end);
    return;
  }
  event['url.path'] = request.slice(pathStart, q);
  const scrubbed = scrubQuery(request.slice(q + 1, end), ctx);
  event['url.query'] = scrubbed.query;
  if (scrubbed.fingerprint !== undefined) event['tuskguard.fingerprint'] = scrubbed.fingerprint;
}
