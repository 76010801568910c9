import { isUtf8 } from 'node:buffer';
import type { SourceLine } from '../types.js';

/**
 * Splits a byte stream into lines for the sources (file-tail, replay, http-push bodies).
 *
 * - A line ends at `\n`; a trailing `\r` is dropped. `position` is the byte offset just past
 *   the terminator, i.e. where reading resumes after this line (the file-tail checkpoint).
 * - The unterminated tail is held until its newline arrives (`partialBytes`), or handed out by
 *   `flushPartial()` when the stream is known to be finished.
 * - Lines that are not valid UTF-8 keep their bytes (`bytes`) so the pipeline can dead-letter
 *   them as `invalid-utf8` without losing a byte.
 * - Memory is bounded: a tail longer than `hardCapBytes` is cut and handed out as a line of its
 *   own (the pipeline dead-letters it as `line-too-long`), so a writer that never sends a
 *   newline cannot grow the buffer without limit. Nothing is dropped.
 */
export class LineSplitter {
  private partial: Buffer[] = [];
  private partialLength = 0;
  /** Stream offset of the first byte not yet handed out as part of a line. */
  private offset: number;

  constructor(
    startOffset = 0,
    private readonly hardCapBytes = 8 * 1024 * 1024,
  ) {
    this.offset = startOffset;
  }

  /** Bytes held for an unterminated last line. */
  get partialBytes(): number {
    return this.partialLength;
  }

  /** Offset just past the last line handed out (a safe resume point). */
  get committedOffset(): number {
    return this.offset;
  }

  /** Feed the next chunk of the stream; returns the lines it completed, in order. */
  push(chunk: Buffer): SourceLine[] {
    const out: SourceLine[] = [];
    let buf = chunk;
    if (this.partialLength > 0) {
      buf = Buffer.concat([...this.partial, chunk], this.partialLength + chunk.length);
      this.partial = [];
      this.partialLength = 0;
    }
    const lastNl = buf.lastIndexOf(10);
    // One validity check for the whole run of complete lines; per line only when it fails.
    const allValid = lastNl >= 0 && isUtf8(buf.subarray(0, lastNl + 1));
    let start = 0;
    while (start <= lastNl) {
      const nl = buf.indexOf(10, start);
      out.push(this.makeLine(buf.subarray(start, nl), nl + 1 - start, allValid));
      start = nl + 1;
    }
    this.hold(buf.subarray(start), out);
    return out;
  }

  /** Hand out the unterminated tail as a line (end of a rotated file or a request body). */
  flushPartial(): SourceLine | null {
    if (this.partialLength === 0) return null;
    const buf = Buffer.concat(this.partial, this.partialLength);
    this.partial = [];
    this.partialLength = 0;
    return this.makeLine(buf, buf.length, false);
  }

  /** Forget the held tail and restart at `offset` (copytruncate). */
  reset(offset: number): void {
    this.partial = [];
    this.partialLength = 0;
    this.offset = offset;
  }

  private hold(rest: Buffer, out: SourceLine[]): void {
    let tail = rest;
    while (tail.length > this.hardCapBytes) {
      out.push(this.makeLine(tail.subarray(0, this.hardCapBytes), this.hardCapBytes, false));
      tail = tail.subarray(this.hardCapBytes);
    }
    if (tail.length > 0) {
      // Copy: the chunk's backing buffer may be reused by the reader.
      this.partial.push(Buffer.from(tail));
      this.partialLength += tail.length;
    }
  }

  private makeLine(raw: Buffer, consumed: number, knownValid: boolean): SourceLine {
    this.offset += consumed;
    const body = raw.length > 0 && raw[raw.length - 1] === 13 ? raw.subarray(0, raw.length - 1) : raw;
    if (knownValid || isUtf8(body)) return { text: body.toString('utf8'), position: this.offset };
    return { text: body.toString('utf8'), bytes: Buffer.from(body), position: this.offset };
  }
}
