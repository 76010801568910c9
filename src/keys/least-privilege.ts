import type { RouteUsage } from '../store/types.js';
import { isParentScope } from './scopes.js';

/**
 * Least-privilege review (pure; no I/O, no clock). Mastodon checks scopes any-of with exact
 * strings and lists the parent next to the child (FACTS.md §6), so each observed request is
 * a list of scopes of which the key needed one. The recommendation is the smallest set that
 * hits every list, preferring granular scopes: a parent (`read`, `write`, `follow`,
 * `admin:read`, `admin:write`) is chosen only for a request that no granular scope satisfies.
 */

/** The subset of a stored key the review needs. */
export interface ReviewedKey {
  id: string;
  fingerprint: string;
  kind: 'user' | 'app';
  scopes: readonly string[];
  status: string;
}

export interface RouteReview {
  /** `METHOD /pattern`. */
  route: string;
  count: number;
  /** Any one of these satisfies the route (empty: no scope check). */
  required_scopes: string[];
  /** Granted scopes that satisfied it; empty when none did (the request was most likely refused). */
  satisfied_by: string[];
  last_seen: string;
}

export interface KeyReview {
  id: string;
  fingerprint: string;
  status: string;
  granted: string[];
  /** Granted scopes that satisfied at least one observed request. */
  used: string[];
  unused: string[];
  /** Smallest granular set covering every observed request (empty when there was none). */
  recommended: string[];
  requests: number;
  routes: RouteReview[];
  /** Requests that no granted scope satisfies. */
  outside_grant: number;
  /** Requests that matched no known Mastodon route. */
  unmapped_requests: number;
  last_seen: string | null;
  /** Whole days since last seen, null when never seen. */
  idle_days: number | null;
  /** Active key not seen for `unusedDays` (or never). */
  unused_key: boolean;
  /** Narrowing needs an app registered with the recommended scopes (requested scopes match exactly). */
  app_registration_change: boolean;
  notes: string[];
}

export interface ReviewInput {
  keys: readonly ReviewedKey[];
  /** Usage rows for the review window (store `routeUsage`). */
  usage: readonly RouteUsage[];
  /** Last time each fingerprint was seen, over at least `unusedDays`; default: from `usage`. */
  lastSeen?: ReadonlyMap<string, string>;
  now: Date;
  unusedDays: number;
  /** How many table routes each scope unlocks; smaller is narrower (tie-break). */
  breadth?: ReadonlyMap<string, number>;
}

const DAY_MS = 86_400_000;

function breadthOf(scope: string, breadth: ReadonlyMap<string, number> | undefined): number {
  return breadth?.get(scope) ?? (isParentScope(scope) ? 1_000 : 1);
}

const hits = (set: ReadonlySet<string>, list: readonly string[]) => list.some((s) => set.has(s));

function narrowest(options: readonly string[], breadth: ReadonlyMap<string, number> | undefined): string {
  return [...options].sort((a, b) => breadthOf(a, breadth) - breadthOf(b, breadth) || a.localeCompare(b))[0]!;
}

/** Candidate sets of `size` from `items`, in lexicographic order of indices. */
function* combinations(items: readonly string[], size: number, start = 0): Generator<string[]> {
  if (size === 0) {
    yield [];
    return;
  }
  for (let i = start; i <= items.length - size; i++) {
    for (const rest of combinations(items, size - 1, i + 1)) yield [items[i]!, ...rest];
  }
}

/** Exact minimum hitting set over granular candidates (few in practice), greedy past 20. */
function coverWithLeaves(lists: string[][], breadth: ReadonlyMap<string, number> | undefined): string[] {
  const candidates = [...new Set(lists.flat().filter((s) => !isParentScope(s)))].sort();
  if (candidates.length <= 20) {
    for (let size = 1; size <= candidates.length; size++) {
      let best: string[] | null = null;
      let bestWeight = Infinity;
      for (const combo of combinations(candidates, size)) {
        const set = new Set(combo);
        if (!lists.every((l) => hits(set, l))) continue;
        const weight = combo.reduce((w, s) => w + breadthOf(s, breadth), 0);
        if (weight < bestWeight) [best, bestWeight] = [combo, weight];
      }
      if (best) return best;
    }
  }
  const chosen = new Set<string>();
  let open = lists;
  while (open.length > 0) {
    const gain = (s: string) => open.filter((l) => l.includes(s)).length;
    const pick = candidates.sort((a, b) => gain(b) - gain(a) || breadthOf(a, breadth) - breadthOf(b, breadth) || a.localeCompare(b))[0]!;
    chosen.add(pick);
    open = open.filter((l) => !l.includes(pick));
  }
  return [...chosen];
}

/**
 * The smallest set of scopes such that every list holds at least one of them (any-of
 * semantics, exact strings), granular scopes first. Empty lists need nothing.
 */
export function minimalScopeCover(lists: ReadonlyArray<readonly string[]>, breadth?: ReadonlyMap<string, number>): string[] {
  const unique = [...new Map(lists.filter((l) => l.length > 0).map((l) => [[...l].sort().join(' '), [...l].sort()])).values()];
  const chosen = new Set<string>();
  // Requests only a parent satisfies force that parent; it may then cover others too.
  for (const list of unique) {
    if (list.some((s) => !isParentScope(s)) || hits(chosen, list)) continue;
    chosen.add(narrowest(list, breadth));
  }
  let open = unique.filter((l) => !hits(chosen, l));
  // A list with a single granular option forces it (no granular cover can avoid it).
  for (const list of open) {
    const leaves = list.filter((s) => !isParentScope(s));
    if (leaves.length === 1 && !hits(chosen, list)) chosen.add(leaves[0]!);
  }
  open = open.filter((l) => !hits(chosen, l));
  if (open.length > 0) for (const s of coverWithLeaves(open, breadth)) chosen.add(s);
  return [...chosen].sort();
}

/** How many routes of a table each scope satisfies: the breadth used to prefer narrow scopes. */
export function scopeBreadth(table: ReadonlyArray<{ scopes: readonly string[] }>): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of table) for (const s of e.scopes) out.set(s, (out.get(s) ?? 0) + 1);
  return out;
}

function routeReviews(rows: readonly RouteUsage[], granted: ReadonlySet<string>): RouteReview[] {
  const byRoute = new Map<string, RouteReview>();
  for (const r of rows) {
    if (r.route === null) continue;
    const prev = byRoute.get(r.route);
    if (prev) {
      prev.count += r.count;
      if (r.lastSeen > prev.last_seen) prev.last_seen = r.lastSeen;
      continue;
    }
    const satisfied = r.requiredScopes.filter((s) => granted.has(s));
    byRoute.set(r.route, { route: r.route, count: r.count, required_scopes: [...r.requiredScopes], satisfied_by: satisfied, last_seen: r.lastSeen });
  }
  return [...byRoute.values()].sort((a, b) => b.count - a.count || a.route.localeCompare(b.route));
}

function notesFor(review: Omit<KeyReview, 'notes'>, unusedDays: number): string[] {
  const notes: string[] = [];
  if (review.requests === 0) notes.push('no observed requests in the review window: if nothing uses this key, revoke it');
  if (review.unused_key && review.requests > 0) notes.push(`not used for ${unusedDays} days or more`);
  if (review.outside_grant > 0) {
    notes.push(`${review.outside_grant} request(s) needed a scope the key does not hold (most likely refused with 403); the recommendation covers them — leave those scopes out if the calls are unwanted`);
  }
  if (review.app_registration_change) {
    notes.push('Mastodon matches requested scopes against the app registration by exact string: register the app with the recommended scopes (an app registered with `read` cannot obtain `read:statuses`), then re-authorise');
  } else if (review.unused.length > 0 && review.requests > 0) {
    notes.push('narrowing means a new token with the recommended scopes: Mastodon cannot reduce the scopes of an existing token');
  }
  if (review.unmapped_requests > 0) notes.push(`${review.unmapped_requests} request(s) matched no known Mastodon route (non-API paths or newer endpoints)`);
  return notes;
}

function reviewKey(key: ReviewedKey, rows: readonly RouteUsage[], input: ReviewInput): KeyReview {
  const granted = new Set(key.scopes);
  const routes = routeReviews(rows, granted);
  const used = new Set(routes.flatMap((r) => r.satisfied_by));
  const recommended = minimalScopeCover(routes.map((r) => r.required_scopes), input.breadth);
  const fromUsage = rows.reduce<string | null>((m, r) => (m === null || r.lastSeen > m ? r.lastSeen : m), null);
  const lastSeen = input.lastSeen ? (input.lastSeen.get(key.fingerprint) ?? fromUsage) : fromUsage;
  const idle = lastSeen === null ? null : Math.floor((input.now.getTime() - Date.parse(lastSeen)) / DAY_MS);
  const base: Omit<KeyReview, 'notes'> = {
    id: key.id,
    fingerprint: key.fingerprint,
    status: key.status,
    granted: [...key.scopes].sort(),
    used: [...used].sort(),
    unused: [...granted].filter((s) => !used.has(s)).sort(),
    recommended,
    requests: rows.reduce((n, r) => n + r.count, 0),
    routes,
    outside_grant: routes.filter((r) => r.required_scopes.length > 0 && r.satisfied_by.length === 0).reduce((n, r) => n + r.count, 0),
    unmapped_requests: rows.filter((r) => r.route === null).reduce((n, r) => n + r.count, 0),
    last_seen: lastSeen,
    idle_days: idle,
    unused_key: key.status === 'active' && (idle === null || idle >= input.unusedDays),
    app_registration_change: recommended.some((s) => !granted.has(s)),
  };
  return { ...base, notes: notesFor(base, input.unusedDays) };
}

/** Review every key against its observed usage. Rows of unknown fingerprints are ignored. */
export function reviewKeys(input: ReviewInput): KeyReview[] {
  const byFp = new Map<string, RouteUsage[]>();
  for (const row of input.usage) {
    const list = byFp.get(row.fingerprint) ?? [];
    list.push(row);
    byFp.set(row.fingerprint, list);
  }
  return input.keys.map((k) => reviewKey(k, byFp.get(k.fingerprint) ?? [], input));
}
