/**
 * Parse throughput on one core (issue 2: at least 200,000 lines/s for nginx-json and combined),
 * in lines per CPU-second of this single-threaded process.
 *
 *   npx tsx bench/parse.ts            (about 20 s; BENCH_SECONDS=1 for a quick look)
 *
 * Each figure comes with a baseline measured in the same process on the same lines, so the
 * ratio survives a slower or faster machine:
 *   parse-nginx-json  vs a bare JSON.parse per line
 *   parse-combined    vs a bare line.split(' ')
 *   parse-mastodon    vs a bare line.split(' ') (no target set; reported for completeness)
 *   enrich            parse + enrichment vs parse alone (the enrichment cost)
 *   route-match       the segment-trie matcher vs one regex per table pattern (README's rules, naively)
 *   event-id          crypto.hash one-shot vs createHash, for the id of a line
 * One line per figure: `name figure unit baseline=<x> ratio=<y>`.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createFingerprinter } from '../src/core/fingerprint.js';
import { createEnricher } from '../src/ingest/enrich/index.js';
import { eventIdFor } from '../src/ingest/parsers/id.js';
import { PARSERS } from '../src/ingest/parsers/registry.js';
import type { ParseContext } from '../src/ingest/types.js';
import { loadEndpointScopes, RouteMatcher, type EndpointEntry } from '../src/mastodon/endpoint-scopes.js';
import { rng } from './traffic/random.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const LINES = 200_000;
const ctx: ParseContext = { fingerprint: createFingerprinter('bench-pepper-0123456789abcdef'), origin: 'file:/var/log/bench.log' };

const PATHS = [
  '/api/v1/timelines/home?limit=40', '/api/v1/notifications?max_id=1133', '/api/v1/statuses/%id',
  '/api/v1/statuses/%id/context', '/api/v1/accounts/verify_credentials', '/api/v1/accounts/%id/statuses?limit=20',
  '/api/v2/search?q=tusk&resolve=true', '/api/v1/streaming/user?access_token=[REDACTED]', '/api/v2/instance',
  '/api/v1/statuses', '/api/v1/media/%id', '/@alice/%id', '/packs/js/common-abc123.js', '/about',
];
const UAS = [
  'Tusky/25.2 Android/14', 'Ivory/2.0 (iPhone; iOS 18.1)', 'Ice Cubes/1.10 (iOS 17)', 'python-requests/2.31.0',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36',
  'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0', 'http.rb/5.1.1 (Mastodon/4.3.0; +https://a.example/)',
];

function hex(r: () => number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += Math.floor(r() * 16).toString(16);
  return s;
}

/** nginx-json lines shaped like a Mastodon instance's API traffic. */
function nginxJsonLines(n: number): string[] {
  const r = rng(42);
  const t0 = 1_793_628_185;
  return Array.from({ length: n }, (_, i) => {
    const path = (PATHS[Math.floor(r() * PATHS.length)] as string).replace('%id', String(1e17 + Math.floor(r() * 1e9)));
    const method = path === '/api/v1/statuses' ? 'POST' : 'GET';
    return JSON.stringify({
      ts: new Date((t0 + i / 100) * 1000).toISOString().replace('.000Z', '+00:00').replace(/\.\d+Z$/, '+00:00'),
      msec: Math.round((t0 + i / 100) * 1000) / 1000, ip: `203.0.${Math.floor(r() * 256)}.${Math.floor(r() * 256)}`,
      xff: r() < 0.2 ? '198.51.100.4, 10.0.0.2' : '', rid: hex(r, 32), host: 'social.example', method, uri: path,
      status: r() < 0.95 ? 200 : 404, bytes: Math.floor(r() * 50_000), rt: Math.round(r() * 300) / 1000,
      ua: UAS[Math.floor(r() * UAS.length)], fp: r() < 0.7 ? hex(r, 32) : '',
    });
  });
}

/** Mastodon lograge lines for the same requests (controller names are not checked by the parser). */
function mastodonLines(nginx: readonly string[]): string[] {
  return nginx.map((l) => {
    const o = JSON.parse(l) as { msec: number; rid: string; method: string; uri: string; status: number };
    const time = new Date(o.msec * 1000).toISOString().replace('Z', '123');
    const path = o.uri.split('?')[0] as string;
    return `I, [${time} #12]  INFO -- : [${o.rid}] method=${o.method} path=${path} format=*/* controller=Api::V1::StatusesController action=show status=${o.status} allocations=2345 duration=84.31 view=12.01 db=30.55`;
  });
}

/** The 10k real Apache lines, repeated to 200k (no parser cache exists to flatter this). */
function combinedLines(n: number): string[] {
  const corpus = readFileSync(new URL('../test/fixtures/logs/apache-combined-10k.log', import.meta.url), 'utf8')
    .split('\n')
    .filter((l) => l !== '');
  return Array.from({ length: n }, (_, i) => corpus[i % corpus.length] as string);
}

/**
 * Items per CPU-second of `fn` over `items`: best of repeated passes for SECONDS after a
 * warm-up. CPU time (process.cpuUsage) rather than wall time, so that other work on a shared
 * machine does not count against the figure; V8's helper threads (GC) do count.
 */
function rate<T>(items: readonly T[], fn: (item: T) => unknown): number {
  let sink = 0;
  for (let i = 0; i < Math.min(items.length, 20_000); i++) if (fn(items[i] as T)) sink++;
  let best = 0;
  const end = performance.now() + SECONDS * 1000;
  do {
    const t = process.cpuUsage();
    for (const item of items) if (fn(item)) sink++;
    const used = process.cpuUsage(t);
    best = Math.max(best, items.length / ((used.user + used.system) / 1e6));
  } while (performance.now() < end);
  if (sink < 0) console.log(sink);
  return best;
}

function report(name: string, figure: number, unit: string, baseline: number): void {
  console.log(`${name} ${Math.round(figure)} ${unit} baseline=${Math.round(baseline)} ratio=${(figure / baseline).toFixed(2)}`);
}

/** One regex per pattern, most literals wins: the obvious implementation of the README rules. */
function naiveMatcher(table: readonly EndpointEntry[]) {
  const compiled = table.map((e) => ({
    e,
    re: new RegExp(`^${e.path.replace(/\(\/\*[a-z_]+\)$/, '(?:/.*)?').replace(/:[a-z_]+/g, '[^/]+')}/?$`),
    lit: e.path.split('/').filter((s) => s && !s.startsWith(':') && !s.startsWith('(')).length,
  }));
  return (method: string, path: string) => {
    let best: (typeof compiled)[number] | null = null;
    for (const c of compiled) if (c.e.method === method && c.e.server === 'rails' && c.re.test(path) && (!best || c.lit > best.lit)) best = c;
    return best;
  };
}

async function main(): Promise<void> {
  const nginx = nginxJsonLines(LINES);
  const combined = combinedLines(LINES);

  report('parse-nginx-json', rate(nginx, (l) => PARSERS['nginx-json'].parse(l, ctx)), 'lines/s', rate(nginx, (l) => JSON.parse(l)));
  report('parse-combined', rate(combined, (l) => PARSERS.combined.parse(l, ctx)), 'lines/s', rate(combined, (l) => l.split(' ')));
  const mastodon = mastodonLines(nginx);
  report('parse-mastodon', rate(mastodon, (l) => PARSERS.mastodon.parse(l, ctx)), 'lines/s', rate(mastodon, (l) => l.split(' ')));

  const enricher = await createEnricher();
  const parsedOnly = rate(nginx, (l) => PARSERS['nginx-json'].parse(l, ctx));
  const withEnrich = rate(nginx, (l) => {
    const e = PARSERS['nginx-json'].parse(l, ctx);
    return 'kind' in e ? e : enricher.enrich(e);
  });
  report('enrich-nginx-json', withEnrich, 'lines/s', parsedOnly);

  const table = loadEndpointScopes();
  const matcher = new RouteMatcher(table);
  const naive = naiveMatcher(table);
  const requests = nginx.slice(0, 50_000).map((l) => {
    const o = JSON.parse(l) as { method: string; uri: string };
    return { method: o.method, path: o.uri.split('?')[0] as string };
  });
  report(
    'route-match',
    rate(requests, (q) => matcher.match({ method: q.method, path: q.path, server: 'rails' })),
    'lookups/s',
    rate(requests, (q) => naive(q.method, q.path)),
  );

  const sample = nginx.slice(0, 50_000);
  report('event-id', rate(sample, (l) => eventIdFor(undefined, l)), 'ids/s', rate(sample, (l) => createHash('sha256').update(l).digest('base64url').slice(0, 22)));
}

await main();
