import { describe, expect, it } from 'vitest';
import { DuplicateTracker, eventIdFor } from '../../../src/ingest/parsers/id.js';

describe('eventIdFor', () => {
  it('is deterministic and 22 base64url characters', () => {
    const a = eventIdFor(undefined, 'line one');
    expect(a).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(eventIdFor(undefined, 'line one')).toBe(a);
  });

  it('depends only on the request id when there is one', () => {
    const rid = '4f1c0e8a9b2d4c6e8f0a1b2c3d4e5f60';
    expect(eventIdFor(rid, 'proxy line')).toBe(eventIdFor(rid, 'mastodon line', 3));
    expect(eventIdFor(rid, 'x')).not.toBe(eventIdFor('5f1c0e8a9b2d4c6e8f0a1b2c3d4e5f60', 'x'));
  });

  it('tells identical lines apart by their duplicate index, and content from request ids', () => {
    expect(eventIdFor(undefined, 'same')).not.toBe(eventIdFor(undefined, 'same', 1));
    expect(eventIdFor(undefined, 'same', 1)).toBe(eventIdFor(undefined, 'same', 1));
    expect(eventIdFor(undefined, 'other')).not.toBe(eventIdFor(undefined, 'same'));
    // A line whose content happens to equal a request id is not confused with it.
    expect(eventIdFor(undefined, 'abc')).not.toBe(eventIdFor('abc', 'abc'));
  });
});

describe('DuplicateTracker', () => {
  it('counts identical lines 0, 1, 2 and leaves distinct lines at 0', () => {
    const t = new DuplicateTracker();
    expect(['a', 'b', 'a', 'a', 'c', 'b'].map((l) => t.indexFor(l))).toEqual([0, 0, 1, 2, 0, 1]);
  });

  it('keeps counting across a window rotation (two generations)', () => {
    const t = new DuplicateTracker(3);
    const seq = ['x', 'y', 'z', 'x', 'q', 'r', 's', 'x'];
    expect(seq.map((l) => t.indexFor(l))).toEqual([0, 0, 0, 1, 0, 0, 0, 2]);
  });

  it('gives the same indices when the same stream is replayed', () => {
    const lines = Array.from({ length: 50 }, (_, i) => `l${i % 7}`);
    const run = () => {
      const t = new DuplicateTracker(10);
      return lines.map((l) => t.indexFor(l));
    };
    expect(run()).toEqual(run());
  });
});

describe('DuplicateTracker.tick/count (lazy ordinals)', () => {
  it('gives the ordinals indexFor gives when only some lines (all copies of a text) are counted', () => {
    const lines: string[] = [];
    for (let i = 0; i < 30_000; i++) lines.push(i % 3 === 0 ? `rid line ${i}` : `plain ${i % 997}`);
    const eager = new DuplicateTracker(1_000);
    const lazy = new DuplicateTracker(1_000);
    for (const line of lines) {
      const want = eager.indexFor(line);
      lazy.tick();
      if (line.startsWith('plain')) expect(lazy.count(line)).toBe(want);
    }
  });

  it('eventIdFor calls a lazy ordinal only for lines without a request id', () => {
    let calls = 0;
    const ordinal = () => (calls++, 2);
    expect(eventIdFor('rid-1', 'x', ordinal)).toBe(eventIdFor('rid-1', 'x', 0));
    expect(calls).toBe(0);
    expect(eventIdFor(undefined, 'x', ordinal)).toBe(eventIdFor(undefined, 'x', 2));
    expect(calls).toBe(1);
  });
});
