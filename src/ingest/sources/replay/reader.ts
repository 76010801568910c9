import { type ReadStream, createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { Format } from '../../../config/schema.js';
import type { ParserEntry, SourceLine } from '../../types.js';
import { LineSplitter } from '../lines.js';
import { MinHeap } from './heap.js';

/** A line on its way out of the replay, with the event time used to order it. */
export interface TimedLine {
  line: SourceLine;
  /** Event time in ms; a line that does not parse inherits the previous line's time. */
  ts: number;
  /** Order of the line in its file, to keep equal timestamps in file order. */
  seq: number;
  cursor: FileCursor;
}

const earlier = (a: TimedLine, b: TimedLine) => a.ts < b.ts || (a.ts === b.ts && a.seq < b.seq);

/** Whether a file starts with the gzip magic bytes (1f 8b), whatever its name. */
export async function isGzip(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const b = Buffer.alloc(2);
    const { bytesRead } = await fh.read(b, 0, 2, 0);
    return bytesRead === 2 && b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

/**
 * Reads one file (plain or gzip) as a stream of lines in event-time order, within a bounded
 * reorder window: up to `window` lines are held in a heap and the earliest is released
 * first, so a line that is out of place by fewer than `window` lines comes out in order
 * (nginx writes a line when a request ends, so long requests land a little late). Lines
 * further out of place come out late rather than being held without bound.
 */
export class FileCursor {
  readonly origin: string;
  private raw: ReadStream | null = null;
  private readonly heap = new MinHeap<TimedLine>(earlier);
  private iterator: AsyncIterator<Buffer> | null = null;
  private splitter = new LineSplitter(0);
  private ended = false;
  private lineNo = 0;
  private lastTs = Number.NEGATIVE_INFINITY;

  constructor(
    readonly path: string,
    readonly format: Format,
    private readonly parser: ParserEntry,
    private readonly window: number,
  ) {
    this.origin = `file:${resolve(path)}`;
  }

  async open(): Promise<void> {
    const gz = await isGzip(this.path);
    const raw = createReadStream(this.path, { highWaterMark: 256 * 1024 });
    this.raw = raw;
    const stream: Readable = gz ? raw.pipe(createGunzip()) : raw;
    raw.on('error', (e) => stream.destroy(e));
    this.iterator = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  /** Bytes read from disk so far (compressed bytes for .gz), for the progress bar. */
  get bytesRead(): number {
    return this.raw?.bytesRead ?? 0;
  }

  /** The earliest line within the window, or null at the end of the file. */
  async peek(): Promise<TimedLine | null> {
    while (this.heap.size < this.window && !this.ended) await this.readChunk();
    return this.heap.peek() ?? null;
  }

  /**
   * What `peek` would return when that needs no read (the window is full or the file has
   * ended): the earliest line, or null at the end. Undefined when `peek` has to read first.
   */
  ready(): TimedLine | null | undefined {
    if (this.heap.size < this.window && !this.ended) return undefined;
    return this.heap.peek() ?? null;
  }

  /** Remove the line `peek` returned. */
  take(): TimedLine | undefined {
    return this.heap.pop();
  }

  private async readChunk(): Promise<void> {
    const next = await this.iterator!.next();
    if (next.done) {
      this.ended = true;
      const last = this.splitter.flushPartial();
      if (last) this.add(last);
      return;
    }
    for (const line of this.splitter.push(next.value)) this.add(line);
  }

  private add(line: SourceLine): void {
    this.lineNo++;
    // For dead letters a line number means more than a byte offset into decompressed data.
    line.position = this.lineNo;
    if (!line.bytes) {
      // The quick look first; a whole parse only when it cannot tell.
      const quick = this.parser.time?.(line.text) ?? Number.NaN;
      if (!Number.isNaN(quick)) this.lastTs = quick;
      else {
        const parsed = this.parser.parse(line.text, { fingerprint: null, origin: this.origin });
        if (!('kind' in parsed)) this.lastTs = Date.parse(parsed['@timestamp']);
      }
    }
    this.heap.push({ line, ts: this.lastTs, seq: this.lineNo, cursor: this });
  }
}
