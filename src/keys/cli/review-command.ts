import { durationMs } from '../../config/schema.js';
import { TuskguardError } from '../../core/errors.js';
import { printJson, type OutputMode } from '../../cli/output.js';
import { BUNDLED_ENDPOINT_SCOPES, RouteMatcher, loadEndpointScopes, scopesForRoutes, type EndpointEntry } from '../../mastodon/endpoint-scopes.js';
import type { RouteUsage } from '../../store/types.js';
import { reviewKeys, scopeBreadth, type KeyReview } from '../least-privilege.js';
import { lastSeenMap, readUsage, withInventory, type KeysCommandContext } from './context.js';

/** `tuskguard keys review`: observed routes → any-of scope lists → per-key least-privilege report. */

const DAY_MS = 86_400_000;

export interface ReviewFlags {
  since: string;
  unusedDays: string;
  key?: string;
}

function parseFlags(flags: ReviewFlags): { sinceMs: number; unusedDays: number } {
  let sinceMs: number;
  try {
    sinceMs = durationMs(flags.since);
  } catch {
    throw new TuskguardError('USAGE', `--since ${flags.since}: not a duration`, { hint: 'use e.g. 7d, 30d, 12h or 2w' });
  }
  const unusedDays = Number(flags.unusedDays);
  if (!Number.isInteger(unusedDays) || unusedDays < 1) {
    throw new TuskguardError('USAGE', `--unused-days ${flags.unusedDays}: expected a whole number of days >= 1`, { hint: 'e.g. --unused-days 30' });
  }
  return { sinceMs, unusedDays };
}

/**
 * The route table is the authority on what a route requires (events written before a table
 * update may carry stale scopes); rows for routes it does not know keep the event's scopes.
 */
export function withTableScopes(rows: readonly RouteUsage[], table: readonly EndpointEntry[]): RouteUsage[] {
  const matcher = new RouteMatcher(table);
  return rows.map((r) => {
    if (r.route === null) return r;
    const [found] = scopesForRoutes(matcher, [r.route]).required;
    return found ? { ...r, requiredScopes: [...found.scopes] } : r;
  });
}

// A route that needs no scope (any valid token, e.g. apps/verify_credentials) is never outside the grant.
const notGranted = (x: KeyReview['routes'][number]): boolean => x.required_scopes.length > 0 && x.satisfied_by.length === 0;

function formatReview(r: KeyReview): string {
  const list = (xs: readonly string[]) => (xs.length ? xs.join(' ') : '-');
  const lines = [
    `${r.id}  (${r.status}, fingerprint ${r.fingerprint})  ${r.requests} request(s), last seen ${r.last_seen ?? 'never'}${r.unused_key ? '  UNUSED' : ''}`,
    `  granted      ${list(r.granted)}`,
    `  used         ${list(r.used)}`,
    `  unused       ${list(r.unused)}`,
    `  recommended  ${list(r.recommended)}`,
    ...r.routes.slice(0, 15).map((x) => `  ${x.count.toString().padStart(8)}  ${x.route}  [${list(x.required_scopes)}]${notGranted(x) ? '  (not granted)' : ''}`),
    ...(r.routes.length > 15 ? [`  … ${r.routes.length - 15} more route(s) (--output json lists all)`] : []),
    ...r.notes.map((n) => `  note: ${n}`),
  ];
  return lines.join('\n');
}

export async function reviewAction(ctx: KeysCommandContext, flags: ReviewFlags, output: OutputMode): Promise<number> {
  const { sinceMs, unusedDays } = parseFlags(flags);
  const keys = await withInventory(ctx, async (inventory) => (flags.key ? [inventory.require(flags.key)] : inventory.list()));
  const table = loadEndpointScopes(ctx.loaded.config.enrich.endpoint_scopes ?? BUNDLED_ENDPOINT_SCOPES);
  const now = new Date();
  const from = new Date(now.getTime() - sinceMs).toISOString();
  const fingerprints = keys.map((k) => k.fingerprint);
  const usage = (await readUsage(ctx, { from, fingerprints }, true)) ?? [];
  const longer = unusedDays * DAY_MS > sinceMs;
  const seenRows = longer ? ((await readUsage(ctx, { from: new Date(now.getTime() - unusedDays * DAY_MS).toISOString(), fingerprints }, true)) ?? []) : usage;
  const reviews = reviewKeys({
    keys,
    usage: withTableScopes(usage, table),
    lastSeen: lastSeenMap(seenRows),
    now,
    unusedDays,
    breadth: scopeBreadth(table),
  });
  if (output === 'json') {
    printJson({ since: from, until: now.toISOString(), unused_days: unusedDays, keys: reviews });
    return 0;
  }
  if (reviews.length === 0) process.stdout.write('no managed keys to review\n');
  else process.stdout.write(`least-privilege review since ${from}\n\n${reviews.map(formatReview).join('\n\n')}\n`);
  return 0;
}
