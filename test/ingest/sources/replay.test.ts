import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createProgress, detectFormat, isGzip, replayFiles } from '../../../src/ingest/sources/replay/index.js';
import type { PipelineInput, SourceBatch } from '../../../src/ingest/types.js';
import { line, testParser } from '../../helpers/ingest-doubles.js';

const at = (s: number) => new Date(Date.UTC(2026, 10, 2, 14, 0, s)).toISOString();

function recorder() {
  const batches: SourceBatch[] = [];
  const input: PipelineInput = {
    push: async (b) => void batches.push(b),
    tryPush: () => true,
    retryAfterSeconds: () => 1,
  };
  const ns = () => batches.flatMap((b) => b.lines.map((l) => (JSON.parse(l.text) as { n: number }).n));
  return { batches, input, ns };
}

describe('replay', () => {
  it('merges files in event-time order, reading .gz by magic bytes whatever the name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-replay-'));
    const a = join(dir, 'proxy.log');
    const b = join(dir, 'mastodon.log.1'); // gzip without a .gz name
    writeFileSync(a, [line(1, {}, at(1)), line(3, {}, at(3)), line(5, {}, at(5))].join('\n') + '\n');
    writeFileSync(b, gzipSync([line(2, {}, at(2)), line(4, {}, at(4)), line(6, {}, at(6))].join('\n'))); // no final newline
    expect(await isGzip(b)).toBe(true);
    const r = recorder();
    const summary = await replayFiles(
      { files: [{ path: a, format: 'nginx-json' }, { path: b, format: 'mastodon' }], getParser: testParser },
      r.input,
    );
    expect(r.ns()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(summary).toMatchObject({ files: 2, lines: 6 });
    expect(r.batches.map((x) => x.format)).toEqual(['nginx-json', 'mastodon', 'nginx-json', 'mastodon', 'nginx-json', 'mastodon']);
    expect(r.batches[1]!.origin).toBe(`file:${b}`);
  });

  it('puts lines back in order within the reorder window, keeps a bad line right after its predecessor', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-replay-'));
    const f = join(dir, 'a.log');
    writeFileSync(f, [line(2, {}, at(2)), line(1, {}, at(1)), 'garbage', line(3, {}, at(3)), ''].join('\n'));
    const r = recorder();
    await replayFiles({ files: [{ path: f, format: 'nginx-json' }], getParser: testParser, reorderWindow: 10 }, r.input);
    const texts = r.batches.flatMap((b) => b.lines.map((l) => [l.text.startsWith('{') ? JSON.parse(l.text).n : l.text, l.position]));
    expect(texts).toEqual([
      [1, 2],
      ['garbage', 3], // inherits the time of the line before it in the file
      [2, 1],
      [3, 4],
    ]);
  });

  it('batches lines of one file up to batchLines and carries maxLineBytes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-replay-'));
    const f = join(dir, 'a.log');
    writeFileSync(f, Array.from({ length: 25 }, (_, i) => line(i, {}, at(i))).join('\n'));
    const r = recorder();
    await replayFiles({ files: [{ path: f, format: 'nginx-json' }], getParser: testParser, batchLines: 10, maxLineBytes: 500 }, r.input);
    expect(r.batches.map((b) => b.lines.length)).toEqual([10, 10, 5]);
    expect(r.batches.every((b) => b.maxLineBytes === 500)).toBe(true);
  });

  it('fails with a usage error naming a missing file', async () => {
    await expect(replayFiles({ files: [{ path: '/nonexistent/x.log', format: 'combined' }], getParser: testParser }, recorder().input)).rejects.toMatchObject({
      code: 'USAGE',
      message: expect.stringContaining('/nonexistent/x.log'),
    });
  });

  it('prints plain progress lines when stderr is not a terminal', () => {
    let out = '';
    const sink = Object.assign(new Writable({ write: (c, _e, cb) => ((out += String(c)), cb()) }), { isTTY: false }) as unknown as NodeJS.WriteStream;
    const p = createProgress(sink, { label: 'ingest', intervalMs: 0 });
    p.start(2 * 1_048_576);
    p.update(1_048_576, 500);
    p.stop();
    expect(out).toMatch(/^ingest: 50% \(1\.0 of 2\.0 MB\), 500 lines, \d+ lines\/s\n/);
    expect(out.trim().split('\n').at(-1)).toMatch(/^ingest: 100% \(2\.0 of 2\.0 MB\), 500 lines/);
  });

  it.each([
    ['{"ts":"2026-11-02T14:03:05+00:00","ip":"203.0.113.7"}', 'nginx-json'],
    ['I, [2026-11-02T14:03:05.123456 #12]  INFO -- : [4f1c] method=GET path=/', 'mastodon'],
    ['203.0.113.7 - - [02/Nov/2026:14:03:05 +0000] "GET / HTTP/1.1" 200 5 "-" "x"', 'combined'],
  ])('detects the format of %s', async (first, format) => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-replay-'));
    const f = join(dir, 'x');
    writeFileSync(f, gzipSync(`\n${first}\n`));
    expect(await detectFormat(f)).toBe(format);
  });
});
