import { describe, expect, it } from 'vitest';
import { bulkItems, requestBody } from '../../src/store/elasticsearch/bulk.js';

const action = (id: string) => `{"index":{"_index":"tg-events-2026.11.24","_id":"${id}"}}\n`;
const doc = (text: string) => JSON.stringify({ 'user_agent.original': text, n: text.length });

function parts(docs: Array<[string, string]>): { ids: string[]; parts: string[] } {
  return { ids: docs.map(([id]) => id), parts: docs.flatMap(([id, text]) => [action(id), doc(text)]) };
}

describe('bulk request bodies', () => {
  const docs: Array<[string, string]> = [
    ['a', 'Tusky/25.2 Android/14'],
    ['b', 'Ünïcödé 🐘 client/1.0'],
    ['c', 'tab\there "quoted" \\ back'],
    ['d', 'x'.repeat(5_000)],
  ];
  const { ids, parts: p } = parts(docs);
  const expected = docs.map(([id, text]) => `${action(id)}${doc(text)}\n`);

  it('serialises each document as action + source + newline, byte-exact with multi-byte text', () => {
    const items = bulkItems('events', ids, p);
    expect(items.map((i) => i.id)).toEqual(ids);
    expect(items.map((i) => i.body.toString('utf8'))).toEqual(expected);
    expect(items.map((i) => i.body.length)).toEqual(expected.map((e) => Buffer.byteLength(e)));
  });

  it('sends consecutive items of one submit as a view of their buffer, without copying', () => {
    const items = bulkItems('events', ids, p);
    const body = requestBody(items.slice(1, 3));
    expect(body.toString('utf8')).toBe(expected.slice(1, 3).join(''));
    expect(body.buffer).toBe(items[1]!.body.buffer);
    expect(body.byteOffset).toBe(items[1]!.body.byteOffset);
  });

  it('copies when items are not consecutive (a retried subset, or two submits)', () => {
    const items = bulkItems('events', ids, p);
    const subset = requestBody([items[0]!, items[2]!]);
    expect(subset.toString('utf8')).toBe(expected[0]! + expected[2]!);
    const other = bulkItems('events', ['z'], [action('z'), doc('zz')]);
    const mixed = requestBody([items[3]!, other[0]!]);
    expect(mixed.toString('utf8')).toBe(`${expected[3]!}${action('z')}${doc('zz')}\n`);
    // A copy: writing into it leaves the submit's buffer alone.
    subset[0] = 0x20;
    expect(items[0]!.body.toString('utf8')).toBe(expected[0]);
    expect(requestBody([]).length).toBe(0);
  });
});
