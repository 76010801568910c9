import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { TuskguardError } from '../core/errors.js';

/**
 * Mastodon's endpoint → scope table (data/mastodon/endpoint-scopes.json, a copy of
 * shared/mastodon/endpoint-scopes.json) and the route matcher that maps an observed request to
 * one entry, following "How tuskguard uses it" in shared/mastodon/README.md:
 * literal segments must be equal, `:param` matches one non-empty segment, `(/*any)` an optional
 * remainder, filtered by method and server; of several matches the one with the most literal
 * segments wins. Used by enrichment (per event) and by least-privilege review (per key).
 */

/** The bundled table; resolves from src/ and from dist/ alike. */
export const BUNDLED_ENDPOINT_SCOPES = new URL('../../data/mastodon/endpoint-scopes.json', import.meta.url);

export const SERVERS = ['rails', 'streaming'] as const;
export type MastodonServer = (typeof SERVERS)[number];

const entrySchema = z
  .object({
    method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']),
    path: z.string().startsWith('/'),
    controller: z.string().nullable(),
    action: z.string().nullable(),
    scopes: z.array(z.string()),
    token: z.string(),
    server: z.enum(SERVERS),
    requires_user: z.union([z.boolean(), z.literal('conditional')]).optional(),
    also_requires: z.unknown().optional(),
    note: z.string().optional(),
  })
  .loose();

/** One row of the table (extra fields of newer tables are kept, not rejected). */
export type EndpointEntry = z.infer<typeof entrySchema>;

/**
 * Read and validate a table. Fails at start-up with CONFIG_INVALID naming the file and the first
 * bad entry, so a hand-edited override cannot silently map requests to nothing.
 */
export function loadEndpointScopes(file: string | URL = BUNDLED_ENDPOINT_SCOPES): EndpointEntry[] {
  const name = file instanceof URL ? fileURLToPath(file) : file;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new TuskguardError('CONFIG_INVALID', `cannot read endpoint-scopes table ${name}: ${(e as Error).message}`, {
      hint: 'point enrich.endpoint_scopes at a JSON file shaped like data/mastodon/endpoint-scopes.json, or remove it',
      details: { file: name },
      cause: e,
    });
  }
  const parsed = z.array(entrySchema).min(1).safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TuskguardError('CONFIG_INVALID', `endpoint-scopes table ${name}: ${issue?.path.join('.')}: ${issue?.message}`, {
      hint: 'each entry needs method, path, controller, action, scopes, token and server',
      details: { file: name },
    });
  }
  for (const entry of parsed.data) {
    compilePattern(entry.path, name);
    // Events share these arrays (mastodon.required_scopes); freezing turns a stray mutation into an error.
    Object.freeze(entry.scopes);
  }
  return parsed.data;
}

/** What a request is matched with. `path` is without the query string. */
export interface RouteRequest {
  method: string;
  path: string;
  server: MastodonServer;
  /** Rails controller from the Mastodon log line (`Api::V1::StatusesController`), when known. */
  controller?: string | undefined;
  action?: string | undefined;
}

export interface RouteMatch {
  readonly entry: EndpointEntry;
  /** `METHOD /pattern`, e.g. `GET /api/v1/statuses/:id`. */
  readonly route: string;
}

interface Compiled {
  entry: EndpointEntry;
  route: string;
  /** The answer returned for this pattern, built once. */
  match: RouteMatch;
  literals: number;
  order: number;
  /** Controller key comparable with a logged class name (see controllerKey). */
  controllerKey: string | null;
}

interface Node {
  literal: Map<string, Node>;
  param: Node | null;
  /** Patterns that end exactly here. */
  end: Compiled[];
  /** Patterns with an optional catch-all tail `(/*x)` starting here. */
  tail: Compiled[];
}

type Segment = { kind: 'literal'; text: string } | { kind: 'param' } | { kind: 'tail' };

const TAIL_RE = /^(?<head>.*)\(\/\*[a-z_]+\)$/;
const PARAM_RE = /^:[a-z_][a-z0-9_]*$/;

function compilePattern(path: string, file: string): Segment[] {
  const tail = TAIL_RE.exec(path);
  const head = tail ? (tail.groups?.head ?? '') : path;
  const segments: Segment[] = head
    .split('/')
    .filter((s) => s !== '')
    .map((s) => {
      if (PARAM_RE.test(s)) return { kind: 'param' };
      if (/[():*]/.test(s)) {
        throw new TuskguardError('CONFIG_INVALID', `endpoint-scopes table ${file}: unsupported route syntax in ${path}`, {
          hint: 'only literal segments, :param segments and an optional (/*tail) are supported',
        });
      }
      return { kind: 'literal', text: s };
    });
  if (tail) segments.push({ kind: 'tail' });
  return segments;
}

/**
 * A logged class name and a table controller reduced to one comparable form:
 * `Api::V1Alpha::AsyncRefreshesController` and `api/v1_alpha/async_refreshes` both become
 * `api/v1alpha/asyncrefreshes`. Dropping underscores avoids re-implementing Rails' acronym
 * inflections (`OAuth` → `oauth`, `OEmbed` → `oembed`).
 */
export function controllerKey(name: string): string {
  return name.replace(/Controller$/, '').replaceAll('::', '/').replaceAll('_', '').toLowerCase();
}

/**
 * Walk the trie along `path[from, end)` segment by segment, the way Rails' router splits a path
 * (empty segments from `//` or a trailing `/` are skipped), collecting every pattern that
 * matches. No array of segments is built: this runs for every event.
 */
function collect(node: Node, path: string, from: number, end: number, out: Compiled[]): void {
  for (const c of node.tail) out.push(c);
  let i = from;
  while (i < end && path.charCodeAt(i) === 47 /* / */) i++;
  if (i >= end) {
    for (const c of node.end) out.push(c);
    return;
  }
  let segEnd = path.indexOf('/', i);
  if (segEnd === -1 || segEnd > end) segEnd = end;
  const lit = node.literal.size > 0 ? node.literal.get(path.slice(i, segEnd)) : undefined;
  if (lit) collect(lit, path, segEnd, end, out);
  if (node.param) collect(node.param, path, segEnd, end, out);
}

function newNode(): Node {
  return { literal: new Map(), param: null, end: [], tail: [] };
}

/** The route matcher: each pattern compiled once into a segment trie per method and server. */
export class RouteMatcher {
  /** Method → server → trie root (two lookups: a `${method} ${server}` key cost a string per event). */
  private readonly roots = new Map<string, Map<string, Node>>();
  private readonly byRoute = new Map<string, Compiled[]>();
  /** Reused for every match (matching is synchronous), so a lookup allocates almost nothing. */
  private readonly scratch: Compiled[] = [];

  constructor(readonly entries: readonly EndpointEntry[]) {
    entries.forEach((entry, order) => this.insert(entry, order));
  }

  private insert(entry: EndpointEntry, order: number): void {
    const segments = compilePattern(entry.path, '(table)');
    const route = `${entry.method} ${entry.path}`;
    const literals = segments.filter((s) => s.kind === 'literal').length;
    const key = entry.controller === null ? null : controllerKey(entry.controller);
    const match: RouteMatch = Object.freeze({ entry, route });
    const compiled: Compiled = { entry, route, match, literals, order, controllerKey: key };
    let servers = this.roots.get(entry.method);
    if (!servers) this.roots.set(entry.method, (servers = new Map()));
    let node = servers.get(entry.server) ?? newNode();
    servers.set(entry.server, node);
    for (const seg of segments) {
      if (seg.kind === 'tail') continue;
      if (seg.kind === 'param') node = node.param ??= newNode();
      else {
        const next = node.literal.get(seg.text) ?? newNode();
        node.literal.set(seg.text, next);
        node = next;
      }
    }
    if (segments[segments.length - 1]?.kind === 'tail') node.tail.push(compiled);
    else node.end.push(compiled);
    const list = this.byRoute.get(route) ?? [];
    list.push(compiled);
    this.byRoute.set(route, list);
  }

  /**
   * The entry for a request, or null when nothing matches (report it as unmapped). HEAD is
   * matched as GET, as Rails does. With a known controller/action, a matching entry for that
   * controller/action is preferred over one with more literal segments.
   */
  match(req: RouteRequest): RouteMatch | null {
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const root = this.roots.get(method)?.get(req.server);
    if (!root) return null;
    const found = this.scratch;
    found.length = 0;
    const q = req.path.indexOf('?');
    collect(root, req.path, 0, q === -1 ? req.path.length : q, found);
    if (found.length === 0) return null;
    let pool = found;
    if (req.controller && req.action) {
      const key = controllerKey(req.controller);
      const same = found.filter((c) => c.controllerKey === key && c.entry.action === req.action);
      if (same.length > 0) pool = same;
    }
    let best = pool[0] as Compiled;
    for (const c of pool) {
      if (c.literals > best.literals || (c.literals === best.literals && c.order < best.order)) best = c;
    }
    return best.match;
  }

  /** Entries for a route string `METHOD /pattern` (one per server that has it). */
  entriesForRoute(route: string): readonly EndpointEntry[] {
    return (this.byRoute.get(route) ?? []).map((c) => c.entry);
  }
}

/** An observed route, as events carry it (`mastodon.route`, `mastodon.server`). */
export interface ObservedRoute {
  route: string;
  server?: MastodonServer | undefined;
}

export interface RouteScopes {
  route: string;
  server: MastodonServer;
  /** Any one of these satisfies the route; empty: no scope check. */
  scopes: readonly string[];
  token: string;
}

/**
 * For least-privilege review: the any-of scope list of each observed route. Routes the table
 * does not know are returned in `unknown` (never dropped). Without a server, the Rails entry is
 * taken when there is one, else the streaming one.
 */
export function scopesForRoutes(
  matcher: RouteMatcher,
  observed: Iterable<ObservedRoute | string>,
): { required: RouteScopes[]; unknown: string[] } {
  const required: RouteScopes[] = [];
  const unknown: string[] = [];
  const seen = new Set<string>();
  for (const item of observed) {
    const { route, server } = typeof item === 'string' ? { route: item, server: undefined } : item;
    const entries = matcher.entriesForRoute(route);
    const entry = entries.find((e) => e.server === (server ?? 'rails')) ?? (server ? undefined : entries[0]);
    const key = `${route} ${entry?.server ?? server ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (!entry) unknown.push(route);
    else required.push({ route, server: entry.server, scopes: entry.scopes, token: entry.token });
  }
  return { required, unknown };
}
