import { describe, expect, it } from 'vitest';
import { LineSplitter } from '../../../src/ingest/sources/lines.js';

describe('LineSplitter', () => {
  it('splits across chunks, drops \\r, and gives each line the offset after its terminator', () => {
    const s = new LineSplitter(100);
    expect(s.push(Buffer.from('ab\r\ncd'))).toEqual([{ text: 'ab', position: 104 }]);
    expect(s.partialBytes).toBe(2);
    expect(s.push(Buffer.from('e\n\nf'))).toEqual([
      { text: 'cde', position: 108 },
      { text: '', position: 109 },
    ]);
    expect(s.flushPartial()).toEqual({ text: 'f', position: 110 });
    expect(s.flushPartial()).toBeNull();
  });

  it('keeps a multi-byte character split between chunks intact', () => {
    const bytes = Buffer.from('é\n');
    const s = new LineSplitter();
    expect(s.push(bytes.subarray(0, 1))).toEqual([]);
    expect(s.push(bytes.subarray(1))).toEqual([{ text: 'é', position: 3 }]);
  });

  it('keeps the bytes of a line that is not UTF-8, and only of that line', () => {
    const s = new LineSplitter();
    const lines = s.push(Buffer.concat([Buffer.from('ok\n'), Buffer.from([0xc3, 0x28]), Buffer.from('\nok2\n')]));
    expect(lines.map((l) => [l.text.length > 0, l.bytes ?? null])).toEqual([
      [true, null],
      [true, Buffer.from([0xc3, 0x28])],
      [true, null],
    ]);
  });

  it('cuts an endless line at the hard cap instead of buffering it all, losing no byte', () => {
    const s = new LineSplitter(0, 1000);
    const out = s.push(Buffer.alloc(2500, 0x61));
    expect(out.map((l) => l.text.length)).toEqual([1000, 1000]);
    expect(s.partialBytes).toBe(500);
    expect(s.push(Buffer.from('\n'))).toEqual([{ text: 'a'.repeat(500), position: 2501 }]);
  });
});
