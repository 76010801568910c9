import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import { DeadLetter, type DeadLetterRecord } from '../../src/ingest/dead-letter.js';
import { Pipeline, type PipelineOptions } from '../../src/ingest/pipeline.js';
import type { SourceBatch, SourceLine } from '../../src/ingest/types.js';
import { MemoryStore, TestJoiner, line, testParser } from '../helpers/ingest-doubles.js';

function setup(overrides: Partial<PipelineOptions> = {}) {
  const home = mkdtempSync(join(tmpdir(), 'tg-pipe-'));
  const metrics = new Metrics();
  const store = new MemoryStore();
  const deadLetter = new DeadLetter({ home, metrics });
  const pipeline = new Pipeline({
    store,
    deadLetter,
    metrics,
    logger: silentLogger,
    getParser: () => testParser(),
    time: 'event',
    flushIntervalMs: 10,
    retry: { initialMs: 5, maxMs: 20 },
    ...overrides,
  });
  const deadLetters = (): DeadLetterRecord[] =>
    readdirSync(join(home, 'dead-letter')).flatMap((f) =>
      readFileSync(join(home, 'dead-letter', f), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as DeadLetterRecord),
    );
  return { home, metrics, store, deadLetter, pipeline, deadLetters };
}

function batch(lines: Array<string | SourceLine>, acks: number[] = [], id = 0, extra: Partial<SourceBatch> = {}): SourceBatch {
  return {
    sourceId: 'test',
    format: 'nginx-json',
    origin: 'file:/tmp/a.log',
    lines: lines.map((l, i) => (typeof l === 'string' ? { text: l, position: i + 1 } : l)),
    ack: () => void acks.push(id),
    ...extra,
  };
}

describe('Pipeline', () => {
  it('stores good lines and dead-letters each kind of bad line with its reason, then keeps going', async () => {
    const { pipeline, store, metrics, deadLetters } = setup();
    const acks: number[] = [];
    const bad = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);
    await pipeline.push(
      batch(
        [
          line(1),
          'this is not json access_token=s3cr3tT0kenValue',
          { text: bad.toString('utf8'), bytes: bad, position: 3 },
          `{"ts":"2026-11-02T14:03:05Z","n":1,"pad":"${'x'.repeat(1024 * 1024)}"}`,
          '{"ts":"2026-11-02T14:03:05Z","n":"seven"}',
          line(2),
        ],
        acks,
      ),
    );
    await pipeline.push(batch([line(3)], acks, 1));
    await pipeline.drain();

    expect([...store.events.keys()].sort()).toEqual(['nginx-json:1#0', 'nginx-json:2#0', 'nginx-json:3#0']);
    expect(acks).toEqual([0, 1]);
    const dl = deadLetters();
    expect(dl.map((d) => d.reason)).toEqual(['invalid-json', 'invalid-utf8', 'line-too-long', 'wrong-type']);
    expect(dl[0]!.line).toContain('access_token=[REDACTED]');
    expect(JSON.stringify(dl)).not.toContain('s3cr3tT0kenValue');
    expect(Buffer.from(dl[1]!.line_b64!, 'base64')).toEqual(bad);
    expect(dl[2]!.message).toMatch(/1048\d+ bytes; the limit is 65536/);
    expect(dl.map((d) => d.position)).toEqual([2, 3, 4, 5]);
    expect(await metrics.value('tuskguard_lines_total', { outcome: 'rejected' })).toBe(4);
    expect(await metrics.value('tuskguard_lines_total', { outcome: 'parsed' })).toBe(3);
    expect(await metrics.value('tuskguard_dead_letters_total', { reason: 'line-too-long' })).toBe(1);
  });

  it('honours a batch maxLineBytes below the default', async () => {
    const { pipeline, store, deadLetters } = setup();
    await pipeline.push(batch([line(1), line(2, { pad: 'y'.repeat(200) })], [], 0, { maxLineBytes: 100 }));
    await pipeline.drain();
    expect(store.events.size).toBe(1);
    expect(deadLetters().map((d) => d.reason)).toEqual(['line-too-long']);
  });

  it('gives identical lines distinct ordinals so two genuine requests stay two events', async () => {
    const { pipeline, store } = setup();
    await pipeline.push(batch([line(1), line(1), line(1)]));
    await pipeline.drain();
    expect([...store.events.keys()].sort()).toEqual(['nginx-json:1#0', 'nginx-json:1#1', 'nginx-json:1#2']);
  });

  it('acknowledges strictly in push order even when later writes finish first', async () => {
    const { pipeline, store } = setup({ batchSize: 1, writeConcurrency: 4 });
    store.delay = (call) => (call === 1 ? 80 : 1);
    const acks: number[] = [];
    for (let i = 0; i < 6; i++) await pipeline.push(batch([line(i)], acks, i));
    await pipeline.drain();
    expect(acks).toEqual([0, 1, 2, 3, 4, 5]);
    expect(store.events.size).toBe(6);
  });

  it('keeps lines while the store is down, applies backpressure, and acks only once stored', async () => {
    const { pipeline, store, metrics } = setup({ maxInFlightLines: 3 });
    store.failNext(4);
    const acks: number[] = [];
    await pipeline.push(batch([line(1), line(2)], acks, 0));
    await pipeline.push(batch([line(3)], acks, 1));
    expect(pipeline.tryPush(batch([line(4)], acks, 2))).toBe(false);
    let third = false;
    const pushed = pipeline.push(batch([line(4)], acks, 2)).then(() => (third = true));
    await new Promise((r) => setTimeout(r, 30));
    expect(third).toBe(false);
    expect(acks).toEqual([]);
    expect(pipeline.status().storeHealthy).toBe(false);
    expect(pipeline.retryAfterSeconds()).toBeGreaterThanOrEqual(1);
    await pushed;
    await pipeline.drain();
    expect(acks).toEqual([0, 1, 2]);
    expect(store.events.size).toBe(4);
    expect(pipeline.status().storeHealthy).toBe(true);
    expect(await metrics.value('tuskguard_errors_total', { component: 'pipeline', stage: 'store' })).toBe(4);
  });

  it('gives up after retry.maxAttempts with STORE_UNAVAILABLE and acks nothing', async () => {
    const { pipeline, store } = setup({ retry: { initialMs: 1, maxMs: 2, maxAttempts: 3 } });
    store.failNext(100);
    const acks: number[] = [];
    await pipeline.push(batch([line(1)], acks));
    await expect(pipeline.drain()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(acks).toEqual([]);
  });

  it('dead-letters events the store refuses for good (WriteResult.failed)', async () => {
    const { pipeline, store, deadLetters } = setup();
    store.refuse.add('nginx-json:2#0');
    const acks: number[] = [];
    await pipeline.push(batch([line(1), line(2)], acks));
    await pipeline.drain();
    expect([...store.events.keys()]).toEqual(['nginx-json:1#0']);
    expect(deadLetters()).toMatchObject([{ reason: 'store-mapping', position: 2 }]);
    expect(acks).toEqual([0]);
  });

  it('holds a batch ack until the joined partner of its line is stored', async () => {
    const joiner = new TestJoiner(1_000);
    const { pipeline, store } = setup({ joiner });
    const acks: number[] = [];
    await pipeline.push(batch([line(1, { rid: 'r1' }), line(2)], acks, 0));
    await new Promise((r) => setTimeout(r, 40));
    expect(acks).toEqual([]); // r1 still waits in the joiner
    expect(joiner.pending).toBe(1);
    await pipeline.push(batch([line(3, { rid: 'r1', ds: 'mastodon' })], acks, 1));
    await pipeline.drain();
    expect(acks).toEqual([0, 1]);
    expect(store.events.get('rid:r1')?.['event.dataset']).toBe('joined');
    expect(store.events.size).toBe(2);
  });

  it('releases unmatched lines on event time (replay) and on drain', async () => {
    const joiner = new TestJoiner(5_000);
    const { pipeline, store } = setup({ joiner });
    await pipeline.push(batch([line(1, { rid: 'a' }, '2026-11-02T14:00:00Z'), line(2, {}, '2026-11-02T14:00:10Z')]));
    await new Promise((r) => setTimeout(r, 40));
    expect(store.events.has('rid:a')).toBe(true); // released because event time moved 10 s on
    await pipeline.push(batch([line(3, { rid: 'b' }, '2026-11-02T14:00:11Z')]));
    await pipeline.drain();
    expect(store.events.get('rid:b')?.['event.dataset']).toBe('nginx-json');
  });

  it('hands stored events to onEvents listeners and survives a failing listener', async () => {
    const { pipeline, metrics } = setup();
    const seen: string[] = [];
    pipeline.onEvents(() => {
      throw new Error('detector down');
    });
    pipeline.onEvents((events) => void seen.push(...events.map((e) => e['url.path']!)));
    await pipeline.push(batch([line(1), 'bad', line(2)]));
    await pipeline.drain();
    expect(seen.sort()).toEqual(['/n/1', '/n/2']);
    expect(await metrics.value('tuskguard_errors_total', { stage: 'listener' })).toBeGreaterThan(0);
  });

  it('enriches events and keeps an event whose enrichment throws', async () => {
    let calls = 0;
    const { pipeline, store } = setup({
      enrich: (e) => {
        if (++calls === 2) throw new Error('mmdb corrupt');
        return { ...e, 'source.as.number': 64500 };
      },
    });
    await pipeline.push(batch([line(1), line(2)]));
    await pipeline.drain();
    expect([...store.events.values()].map((e) => e['source.as.number'] ?? null).sort()).toEqual([64500, null]);
  });

  it('stamps event.ingested and refuses input after stop', async () => {
    const { pipeline, store } = setup();
    await pipeline.push(batch([line(1)]));
    await pipeline.stop();
    expect(store.events.get('nginx-json:1#0')?.['event.ingested']).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(pipeline.tryPush(batch([line(2)]))).toBe(false);
    await expect(pipeline.push(batch([line(2)]))).rejects.toThrow(/stopped/);
  });
});
