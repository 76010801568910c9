import { describe, expect, it } from 'vitest';
import type { Event } from '../../src/core/event.js';
import { EventRelay } from '../../src/respond/live.js';

// The relay between the pipeline and live detection: in order, off the ack path, bounded.

const batch = (from: number, n: number): Event[] =>
  Array.from({ length: n }, (_, i) => ({ '@timestamp': '2026-11-02T10:00:00.000Z', 'event.id': `e${from + i}` }) as Event);

describe('EventRelay', () => {
  it('hands batches over in order, returning to the pipeline at once below its bound', async () => {
    const seen: string[] = [];
    const relay = new EventRelay(100, () => undefined);
    relay.onEvents(async (events) => {
      await new Promise((r) => setTimeout(r, 5));
      seen.push(...events.map((e) => e['event.id']));
    });
    for (let i = 0; i < 5; i++) expect(relay.push(batch(i * 10, 10))).toBeUndefined();
    expect(seen).toEqual([]);
    await relay.drained();
    expect(seen).toEqual(batch(0, 50).map((e) => e['event.id']));
  });

  it('makes the pipeline wait once more than its bound is queued, and lets it go as detection catches up', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const relay = new EventRelay(15, () => undefined);
    relay.onEvents(() => gate);
    expect(relay.push(batch(0, 10))).toBeUndefined();
    const waiting = relay.push(batch(10, 10));
    expect(waiting).toBeInstanceOf(Promise);
    let resolved = false;
    void (waiting as Promise<void>).then(() => (resolved = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(resolved).toBe(false);
    release();
    await relay.drained();
    expect(resolved).toBe(true);
  });

  it('reports a failing batch and goes on with the next', async () => {
    const errors: unknown[] = [];
    const seen: string[] = [];
    const relay = new EventRelay(100, (e) => errors.push(e));
    relay.onEvents((events) => {
      if (events[0]!['event.id'] === 'e0') throw new Error('rule blew up');
      seen.push(events[0]!['event.id']);
    });
    relay.push(batch(0, 1));
    relay.push(batch(1, 1));
    await relay.drained();
    expect(errors).toHaveLength(1);
    expect(seen).toEqual(['e1']);
  });
});
