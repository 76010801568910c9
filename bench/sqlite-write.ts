/**
 * Embedded store write speed: SqliteStore.writeEvents (validation, JSON, six indexed columns,
 * one transaction per 1,000-event call) against a bare better-sqlite3 ceiling on the same file
 * system — pre-serialised JSON into a table with only the primary key, same transaction size.
 *
 *   npx tsx bench/sqlite-write.ts [--events N]
 *
 * Prints: sqlite-store-write <rows/s> rows/s baseline=<bare rows/s> ratio=<r>
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { silentLogger } from '../src/core/logger.js';
import { Metrics } from '../src/core/metrics.js';
import { SqliteStore } from '../src/store/sqlite/store.js';
import { syntheticEvents } from './lib/events.js';

const BATCH = 1_000;
const { values } = parseArgs({ options: { events: { type: 'string', default: '200000' } } });
const events = syntheticEvents(Number(values.events));
const dir = mkdtempSync(join(tmpdir(), 'tuskguard-bench-sqlite-'));

function bare(): number {
  const db = new Database(join(dir, 'bare.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE events (id TEXT PRIMARY KEY, doc TEXT NOT NULL)');
  const rows = events.map((e) => [e['event.id'], JSON.stringify(e)] as const);
  const insert = db.prepare('INSERT OR REPLACE INTO events (id, doc) VALUES (?, ?)');
  const tx = db.transaction((batch: (readonly [string, string])[]) => {
    for (const r of batch) insert.run(r[0], r[1]);
  });
  const t0 = performance.now();
  for (let i = 0; i < rows.length; i += BATCH) tx(rows.slice(i, i + BATCH));
  const rate = rows.length / ((performance.now() - t0) / 1_000);
  db.close();
  return rate;
}

async function store(): Promise<number> {
  const s = new SqliteStore({ path: join(dir, 'store.db'), retentionMs: 30 * 86_400_000, metrics: new Metrics(), logger: silentLogger });
  await s.init();
  const t0 = performance.now();
  for (let i = 0; i < events.length; i += BATCH) await s.writeEvents(events.slice(i, i + BATCH));
  const rate = events.length / ((performance.now() - t0) / 1_000);
  await s.close();
  return rate;
}

try {
  const baseline = bare();
  const rate = await store();
  console.log(`sqlite-store-write ${Math.round(rate)} rows/s baseline=${Math.round(baseline)} ratio=${(rate / baseline).toFixed(2)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
