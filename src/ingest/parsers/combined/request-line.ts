import { splitUri } from '../common.js';

/**
 * The `"$request"` field of a combined line, taken apart without a regex: it is attacker
 * controlled (any bytes a client sends before the first CRLF), so every shape must yield
 * whatever is known rather than fail the line.
 *
 *   `GET /a?b HTTP/1.1` → method, path, query, version
 *   `GET /a`            → method, path (HTTP/0.9 style, no protocol)
 *   `GET http://h/a HTTP/1.1` → method, domain, path (proxy-style absolute form)
 *   `-`, `\x16\x03\x01…` (TLS on a plain port) → nothing
 */
export interface RequestLine {
  method: string | undefined;
  path: string | undefined;
  query: string | undefined;
  domain: string | undefined;
  /** `1.1`, `2.0`, … without the `HTTP/` prefix. */
  version: string | undefined;
}

const NOTHING: RequestLine = { method: undefined, path: undefined, query: undefined, domain: undefined, version: undefined };

/** Methods are RFC 9110 tokens; anything else in first position is junk, not a method. */
const METHOD_RE = /^[A-Za-z][A-Za-z-]{0,23}$/;
const VERSION_RE = /^HTTP\/(?<version>\d(?:\.\d)?)$/;

export function parseRequestLine(request: string): RequestLine {
  if (request === '' || request === '-') return NOTHING;
  const first = request.indexOf(' ');
  const method = first === -1 ? request : request.slice(0, first);
  if (!METHOD_RE.test(method)) return NOTHING;
  if (first === -1) return { ...NOTHING, method };
  const last = request.lastIndexOf(' ');
  let target = request.slice(first + 1);
  let version: string | undefined;
  if (last > first) {
    const v = VERSION_RE.exec(request.slice(last + 1))?.groups?.version;
    if (v !== undefined) {
      version = v;
      target = request.slice(first + 1, last);
    }
  }
  return { ...target_(target), method, version };
}

function target_(target: string): Pick<RequestLine, 'path' | 'query' | 'domain'> {
  if (target.startsWith('/')) return { ...splitUri(target), domain: undefined };
  const scheme = target.indexOf('://');
  if (scheme > 0 && scheme < 8) {
    const slash = target.indexOf('/', scheme + 3);
    const domain = target.slice(scheme + 3, slash === -1 ? undefined : slash);
    const rest = slash === -1 ? { path: '/', query: undefined } : splitUri(target.slice(slash));
    return { ...rest, domain: domain === '' ? undefined : domain };
  }
  // `*` (OPTIONS) or `host:port` (CONNECT): no path to speak of.
  return { path: undefined, query: undefined, domain: undefined };
}
