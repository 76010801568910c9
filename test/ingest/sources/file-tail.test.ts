import { appendFileSync, copyFileSync, mkdtempSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fileTailSourceSchema } from '../../../src/config/schema.js';
import { silentLogger } from '../../../src/core/logger.js';
import { Metrics } from '../../../src/core/metrics.js';
import { CheckpointStore } from '../../../src/ingest/checkpoints.js';
import { DeadLetter } from '../../../src/ingest/dead-letter.js';
import { Pipeline } from '../../../src/ingest/pipeline.js';
import { FileTailSource } from '../../../src/ingest/sources/file-tail/index.js';
import type { PipelineInput, SourceBatch } from '../../../src/ingest/types.js';
import { type ControlDb, openControlDb } from '../../../src/store/control.js';
import { MemoryStore, line, testParser } from '../../helpers/ingest-doubles.js';

const open: Array<{ source: FileTailSource; pipeline: Pipeline }> = [];
const dbs: ControlDb[] = [];

afterEach(async () => {
  for (const { source, pipeline } of open.splice(0)) {
    await source.stop();
    await pipeline.stop();
  }
  for (const db of dbs.splice(0)) db.close();
});

function world() {
  const dir = mkdtempSync(join(tmpdir(), 'tg-tail-'));
  const store = new MemoryStore();
  const db = openControlDb(join(dir, 'home'));
  dbs.push(db);
  const checkpoints = new CheckpointStore(db);
  return { dir, store, checkpoints, log: join(dir, 'access.log') };
}

type World = ReturnType<typeof world>;

function startTail(w: World, config: Record<string, unknown> = {}, wrap?: (p: Pipeline) => PipelineInput) {
  const metrics = new Metrics();
  const pipeline = new Pipeline({
    store: w.store,
    deadLetter: new DeadLetter({ home: join(w.dir, 'home'), metrics }),
    metrics,
    logger: silentLogger,
    getParser: () => testParser(),
    time: 'wall',
    flushIntervalMs: 5,
  });
  const cfg = fileTailSourceSchema.parse({ type: 'file-tail', id: 'tail', format: 'nginx-json', paths: [w.log], poll_interval: '20ms', ...config });
  const source = new FileTailSource(cfg, { checkpoints: w.checkpoints, logger: silentLogger, metrics, rotateIdleMs: 100, stopTimeoutMs: 300 });
  open.push({ source, pipeline });
  return { source, pipeline, metrics, ready: source.start(wrap ? wrap(pipeline) : pipeline) };
}

async function stopTail(t: { source: FileTailSource; pipeline: Pipeline }) {
  await t.source.stop();
  await t.pipeline.stop();
  open.splice(open.findIndex((o) => o.source === t.source), 1);
}

const lines = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `${line(from + i)}\n`).join('');

async function eventually(check: () => void, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      return check();
    } catch (e) {
      if (Date.now() > end) throw e;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** Each of lines [0, n) stored exactly once. */
function expectExactlyOnce(store: MemoryStore, n: number) {
  expect(store.events.size).toBe(n);
  for (let i = 0; i < n; i++) expect(store.writesById.get(`nginx-json:${i}#0`), `line ${i}`).toBe(1);
}

describe('file-tail', () => {
  it('follows appends and holds a partial last line until its newline', async () => {
    const w = world();
    writeFileSync(w.log, lines(0, 3));
    const t = startTail(w);
    await t.ready;
    await eventually(() => expect(w.store.events.size).toBe(3));
    const partial = line(3);
    appendFileSync(w.log, partial.slice(0, 10));
    await new Promise((r) => setTimeout(r, 100));
    expect(w.store.events.size).toBe(3);
    appendFileSync(w.log, `${partial.slice(10)}\n${lines(4, 6)}`);
    await eventually(() => expectExactlyOnce(w.store, 6));
  });

  it('resumes after a clean stop exactly where it stopped: none lost, none read twice', async () => {
    const w = world();
    writeFileSync(w.log, lines(0, 500));
    const a = startTail(w);
    await a.ready;
    appendFileSync(w.log, lines(500, 1000));
    await stopTail(a); // mid-stream: some lines may still be unread
    appendFileSync(w.log, lines(1000, 1500));
    const b = startTail(w);
    await b.ready;
    await eventually(() => expect(w.store.events.size).toBe(1500));
    expectExactlyOnce(w.store, 1500);
  });

  it('after a crash between store and checkpoint, re-reads only unacknowledged lines and the store holds each once', async () => {
    const w = world();
    writeFileSync(w.log, lines(0, 500));
    // The "crash": after the first batch, acks are lost (the process died before committing).
    let batches = 0;
    const crashing = (p: Pipeline): PipelineInput => ({
      push: (b: SourceBatch) => p.push(++batches > 1 ? { ...b, ack: undefined } : b),
      tryPush: (b) => p.tryPush(b),
      retryAfterSeconds: () => p.retryAfterSeconds(),
    });
    const a = startTail(w, {}, crashing);
    await a.ready;
    await eventually(() => expect(w.store.events.size).toBe(500));
    for (const to of [1000, 1500]) {
      appendFileSync(w.log, lines(to - 500, to));
      await eventually(() => expect(w.store.events.size).toBe(to));
    }
    await stopTail(a);
    expect(w.checkpoints.list('tail')[0]!.offset).toBe(Buffer.byteLength(lines(0, 500)));
    appendFileSync(w.log, lines(1500, 1600));
    const b = startTail(w);
    await b.ready;
    await eventually(() => expect(w.store.events.size).toBe(1600));
    await stopTail(b);
    const twice = [...w.store.writesById.entries()].filter(([, n]) => n > 1).map(([id]) => Number(/:(\d+)#/.exec(id)![1]));
    expect(twice.sort((x, y) => x - y)).toEqual(Array.from({ length: 1000 }, (_, i) => 500 + i)); // exactly the unacked ones
    expect(w.store.events.size).toBe(1600); // and the store still holds each line once
    expect(w.checkpoints.list('tail')[0]!.offset).toBe(Buffer.byteLength(lines(0, 1600)));
  });

  it('follows rename rotation: reads the old inode to its end (late writes too), then the new file', async () => {
    const w = world();
    writeFileSync(w.log, lines(0, 100));
    const t = startTail(w);
    await t.ready;
    await eventually(() => expect(w.store.events.size).toBe(100));
    renameSync(w.log, `${w.log}.1`);
    appendFileSync(`${w.log}.1`, lines(100, 150)); // the writer has not reopened yet
    writeFileSync(w.log, lines(150, 200));
    appendFileSync(`${w.log}.1`, line(200)); // unterminated last line of the old file
    await eventually(() => expectExactlyOnce(w.store, 201));
    await eventually(() => expect(t.source.openFiles).toEqual([w.log]));
  });

  it('follows copytruncate: the size shrinks and reading starts over at 0', async () => {
    const w = world();
    writeFileSync(w.log, lines(0, 100));
    const t = startTail(w);
    await t.ready;
    await eventually(() => expect(w.store.events.size).toBe(100));
    copyFileSync(w.log, `${w.log}.1`);
    truncateSync(w.log, 0);
    await new Promise((r) => setTimeout(r, 60));
    appendFileSync(w.log, lines(100, 130));
    await eventually(() => expectExactlyOnce(w.store, 130));
  });

  it('notices a truncation refilled past the old offset between polls (first bytes changed)', async () => {
    const w = world();
    writeFileSync(w.log, lines(0, 10));
    const t = startTail(w, { poll_interval: '1s' });
    await t.ready;
    await eventually(() => expect(w.store.events.size).toBe(10));
    writeFileSync(w.log, lines(10, 40)); // truncate + refill, longer than before, within one poll
    await eventually(() => expectExactlyOnce(w.store, 40));
  });

  it('after a restart, finds a file rotated while stopped and reads its remaining lines first', async () => {
    const w = world();
    writeFileSync(w.log, lines(0, 50));
    const a = startTail(w);
    await a.ready;
    await eventually(() => expect(w.store.events.size).toBe(50));
    await stopTail(a);
    appendFileSync(w.log, lines(50, 80)); // written while stopped…
    renameSync(w.log, `${w.log}.1`); // …then rotated away
    writeFileSync(w.log, lines(80, 100));
    const b = startTail(w);
    await b.ready;
    await eventually(() => expectExactlyOnce(w.store, 100));
  });

  it('after a restart, reads a file truncated while stopped from its start', async () => {
    const w = world();
    writeFileSync(w.log, lines(0, 50));
    const a = startTail(w);
    await a.ready;
    await eventually(() => expect(w.store.events.size).toBe(50));
    await stopTail(a);
    truncateSync(w.log, 0);
    appendFileSync(w.log, lines(50, 60));
    const b = startTail(w);
    await b.ready;
    await eventually(() => expectExactlyOnce(w.store, 60));
  });

  it('with start_at: end, skips what a never-seen file already holds', async () => {
    const w = world();
    writeFileSync(w.log, lines(0, 20));
    const t = startTail(w, { start_at: 'end' });
    await t.ready;
    await new Promise((r) => setTimeout(r, 80));
    appendFileSync(w.log, lines(20, 25));
    await eventually(() => expect([...w.store.events.keys()].sort()).toEqual([20, 21, 22, 23, 24].map((n) => `nginx-json:${n}#0`)));
  });

  it('follows every file a glob matches, including files created later', async () => {
    const w = world();
    writeFileSync(join(w.dir, 'x.log'), lines(0, 5));
    const t = startTail(w, { paths: [join(w.dir, '*.log')] });
    await t.ready;
    writeFileSync(join(w.dir, 'y.log'), lines(5, 9));
    await eventually(() => expectExactlyOnce(w.store, 9));
  });

  it('dead-letters a line over max_line_bytes and invalid UTF-8, and keeps following', async () => {
    const w = world();
    writeFileSync(w.log, `${line(0)}\n${'z'.repeat(3000)}\n`);
    appendFileSync(w.log, Buffer.from([0xc3, 0x28, 0x0a]));
    appendFileSync(w.log, `${line(1)}\n`);
    const t = startTail(w, { max_line_bytes: 1000 });
    await t.ready;
    await eventually(() => expect(w.store.events.size).toBe(2));
    expect(await t.metrics.value('tuskguard_dead_letters_total', { reason: 'line-too-long' })).toBe(1);
    expect(await t.metrics.value('tuskguard_dead_letters_total', { reason: 'invalid-utf8' })).toBe(1);
    await eventually(() => expect(w.checkpoints.list('tail')[0]?.offset).toBe(Buffer.byteLength(`${line(0)}\n${'z'.repeat(3000)}\n`) + 3 + line(1).length + 1));
  });
});
