import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Event } from '../../src/core/event.js';
import { silentLogger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import { DeadLetter } from '../../src/ingest/dead-letter.js';
import { getParser } from '../../src/ingest/parsers/registry.js';
import { Pipeline } from '../../src/ingest/pipeline.js';
import type { EventStore, WriteResult } from '../../src/store/types.js';

const line = (i: number) =>
  JSON.stringify({
    ts: '2026-11-02T14:03:05+00:00', msec: 1793628185 + i, ip: '203.0.113.7', xff: '', rid: i.toString(16).padStart(32, '0'),
    host: 'social.example', method: 'GET', uri: '/api/v1/timelines/home', status: 200, bytes: 10, rt: 0.01, ua: 'Tusky/25.2', fp: '',
  });

/** A store whose writes hang until the test lets them through. */
function gatedStore() {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const writes: string[] = [];
  const store = {
    kind: 'sqlite',
    async writeEvents(events: readonly Event[]): Promise<WriteResult> {
      await gate;
      writes.push(...events.map((e) => e['event.id']));
      return { written: events.length, failed: [] };
    },
  } as unknown as EventStore;
  return { store, writes, open };
}

describe('pipeline listeners (detection tap)', () => {
  it('see enriched events before the store acknowledges them, and the ack waits for both', async () => {
    const metrics = new Metrics();
    const { store, writes, open } = gatedStore();
    const pipeline = new Pipeline({
      store, metrics, logger: silentLogger, getParser, time: 'wall', flushIntervalMs: 5,
      deadLetter: new DeadLetter({ home: mkdtempSync(join(tmpdir(), 'tg-listen-')), metrics }),
    });
    const seen: string[] = [];
    pipeline.onEvents((events) => void seen.push(...events.map((e) => e['event.id'])));
    let acked = false;
    await pipeline.push({ sourceId: 's', format: 'nginx-json', origin: 'test', lines: [0, 1, 2].map((i) => ({ text: line(i) })), ack: () => void (acked = true) });

    await expect.poll(() => seen.length, { timeout: 5_000 }).toBe(3);
    expect(writes).toEqual([]); // the store has not answered yet
    expect(acked).toBe(false); // so the source must not commit its offset

    open();
    await expect.poll(() => acked, { timeout: 5_000 }).toBe(true);
    expect(writes.sort()).toEqual([...seen].sort());
    await pipeline.stop();
  });

  it('keeps listener order across batches and acks only after a slow listener finishes', async () => {
    const metrics = new Metrics();
    const { store, open } = gatedStore();
    open();
    const pipeline = new Pipeline({
      store, metrics, logger: silentLogger, getParser, time: 'wall', flushIntervalMs: 5, batchSize: 2,
      deadLetter: new DeadLetter({ home: mkdtempSync(join(tmpdir(), 'tg-listen-')), metrics }),
    });
    const order: number[] = [];
    let release!: () => void;
    const slow = new Promise<void>((r) => (release = r));
    pipeline.onEvents(async (events) => {
      if (order.length === 0) await slow;
      for (const e of events) order.push(Number.parseInt(e['http.request.id']!, 16));
    });
    const acks: number[] = [];
    for (const i of [0, 1, 2, 3]) {
      await pipeline.push({ sourceId: 's', format: 'nginx-json', origin: 'test', lines: [{ text: line(i) }], ack: () => void acks.push(i) });
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(acks).toEqual([]); // the first listener call is still running
    release();
    await expect.poll(() => acks.length, { timeout: 5_000 }).toBe(4);
    expect(order).toEqual([0, 1, 2, 3]);
    expect(acks).toEqual([0, 1, 2, 3]);
    await pipeline.stop();
  });
});
