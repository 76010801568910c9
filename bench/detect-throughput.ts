/**
 * Detection throughput and per-event cost, with the whole rule pack (rules/detections).
 *
 *   npx tsx bench/detect-throughput.ts          (about 30 s; BENCH_EVENTS=100000 for a quick look)
 *
 * A synthetic stream at 5,000 events per second of event time (issue 4's live-latency load):
 * 2,000 keys (Zipf-like popularity, 10% unknown fingerprints), each from its own network and
 * client, Mastodon routes with a status mix (90% 2xx, 5% 401, 3% 403, 2% 404), parsed and
 * enriched once up front so only detection is timed.
 *
 * Lines (`name figure unit baseline=<x> ratio=<y>`):
 *   detect-pack          events per CPU-second through every rule, memory only;
 *                        baseline = parse + enrich of the same lines (ratio > 1: detection is
 *                        not the bottleneck of ingest)
 *   detect-pack-db       the same with state snapshots to a control DB every 10 s / 50k events
 *   detect-process-p99   99th percentile of one process() call (every 10th timed), in µs;
 *                        baseline = the 1 s line-to-finding budget, ratio = budget / p99
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isParseError, type Event } from '../src/core/event.js';
import { DetectionEngine } from '../src/detect/engine.js';
import { StaticKeyLookup } from '../src/detect/keys.js';
import { loadRulesOrThrow } from '../src/detect/load.js';
import { createEnricher } from '../src/ingest/enrich/index.js';
import { PARSERS } from '../src/ingest/parsers/registry.js';
import { openControlDb } from '../src/store/control.js';
import { rng } from './traffic/random.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 600_000);
const KEYS = 2_000;
const START = Date.parse('2026-11-02T09:00:00Z');

const ROUTES: Array<[string, string]> = [
  ['GET', '/api/v1/timelines/home?limit=40'], ['GET', '/api/v1/notifications'], ['GET', '/api/v1/statuses/%id'],
  ['GET', '/api/v1/accounts/%id/statuses'], ['GET', '/api/v1/accounts/verify_credentials'], ['POST', '/api/v1/statuses'],
  ['POST', '/api/v1/statuses/%id/favourite'], ['GET', '/api/v1/admin/reports'], ['GET', '/api/v2/search?q=x'],
];
const UAS = ['Tusky/25.2 Android/14', 'Ivory/2.4 (iOS 18.1)', 'tuskbot/1.4', 'python-requests/2.31.0', 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0'];

const fpOf = (k: number) => k.toString(16).padStart(32, '0');

function lines(n: number): string[] {
  const r = rng(7);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const key = Math.floor(KEYS * r() ** 3); // a few busy keys, a long tail
    const [method, uri] = ROUTES[(key + i) % ROUTES.length]!;
    const x = r();
    const status = x < 0.9 ? 200 : x < 0.95 ? 401 : x < 0.98 ? 403 : 404;
    const ip = `10.${(key >> 8) & 255}.${key & 255}.${1 + (i % 3)}`;
    out.push(JSON.stringify({
      msec: (START + i * (1000 / 5000)) / 1000, ip, rid: i.toString(16).padStart(32, '0'), method, uri: uri.replace('%id', String(i % 997)),
      status, bytes: 2048, rt: 0.04, ua: UAS[key % UAS.length], fp: fpOf(key),
    }));
  }
  return out;
}

function cpuSeconds(fn: () => void): number {
  const t = process.cpuUsage();
  fn();
  const u = process.cpuUsage(t);
  return (u.user + u.system) / 1e6;
}

/** `ratio` is always "times better than the baseline": figure/baseline, or baseline/figure for costs. */
function report(name: string, figure: number, unit: string, baseline: number, lowerIsBetter = false): void {
  const ratio = lowerIsBetter ? baseline / figure : figure / baseline;
  console.log(`${name} ${figure < 10 ? figure.toFixed(2) : Math.round(figure)} ${unit} baseline=${Math.round(baseline)} ratio=${ratio.toFixed(2)}`);
}

async function main(): Promise<void> {
  const raw = lines(EVENTS);
  const keys = new StaticKeyLookup(Array.from({ length: KEYS * 0.9 }, (_, k) => ({ fingerprint: fpOf(k), keyId: `key-${k}`, status: 'active' as const, scopes: ['read', 'write'] })));
  const enricher = await createEnricher({ keyLookup: keys });
  const ctx = { fingerprint: null, origin: 'file:/bench.log' };
  let events: Event[] = [];
  const ingest = cpuSeconds(() => {
    events = raw.map((l) => PARSERS['nginx-json'].parse(l, ctx)).filter((e): e is Event => !isParseError(e)).map((e) => enricher.enrich(e));
  });
  const rules = loadRulesOrThrow('rules/detections');
  const samples: number[] = [];
  const memory = new DetectionEngine({ rules, keys });
  const detect = cpuSeconds(() => {
    for (let i = 0; i < events.length; i++) {
      const t0 = performance.now();
      memory.process(events[i]!);
      if (i % 10 === 0) samples.push(performance.now() - t0);
    }
  });
  report('detect-pack', events.length / detect, 'events/s', events.length / ingest);
  const db = openControlDb(mkdtempSync(join(tmpdir(), 'tg-bench-detect-')));
  const persisted = new DetectionEngine({ rules, keys, db });
  const withDb = cpuSeconds(() => {
    for (const e of events) persisted.process(e);
    persisted.close();
  });
  report('detect-pack-db', events.length / withDb, 'events/s', events.length / ingest);
  samples.sort((a, b) => a - b);
  const p99us = samples[Math.floor(samples.length * 0.99)]! * 1000;
  report('detect-process-p99', p99us, 'us', 1_000_000, true);
}

await main();
