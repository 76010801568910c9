import { createHash } from 'node:crypto';
import { type FileHandle, open } from 'node:fs/promises';
import type { SourceLine } from '../../types.js';
import { LineSplitter } from '../lines.js';

/** Bytes hashed to recognise a file (inode reuse, rewrite in place). */
export const HEAD_BYTES = 256;
const CHUNK_BYTES = 256 * 1024;

export interface Head {
  hash: string;
  len: number;
}

/**
 * One open file being followed. It reads from its own file descriptor, so after a rename it
 * keeps reading the old inode to its end, and after a truncation (copytruncate) it notices the
 * size shrank and starts over at 0.
 */
export class TailedFile {
  /** Set when the path no longer names this inode (renamed or deleted): read to the end, then close. */
  rotated = false;
  /** Wall-clock ms when the file was last seen at its end without growth; null while it grows. */
  idleSince: number | null = null;
  private readPos: number;
  private readonly splitter: LineSplitter;
  private lastSize = 0;
  private readonly buf = Buffer.allocUnsafe(CHUNK_BYTES);

  private constructor(
    readonly id: string,
    public path: string,
    /** `file:<path where it was first opened>`, stable across rotation. */
    readonly origin: string,
    private readonly fh: FileHandle,
    offset: number,
    public head: Head,
    hardCapBytes: number,
  ) {
    this.readPos = offset;
    this.splitter = new LineSplitter(offset, hardCapBytes);
  }

  static async open(id: string, path: string, offset: number | 'end', hardCapBytes: number): Promise<TailedFile> {
    const fh = await open(path, 'r');
    try {
      const size = (await fh.stat()).size;
      const head = await readHead(fh, size);
      return new TailedFile(id, path, `file:${path}`, fh, offset === 'end' ? size : offset, head, hardCapBytes);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  /** Offset just past the last complete line handed out. */
  get position(): number {
    return this.splitter.committedOffset;
  }

  /**
   * Read what was appended since the last call and hand complete lines to `emit` (awaited, so
   * a saturated pipeline stops the reading). Returns whether the file had new bytes.
   */
  async readNew(emit: (lines: SourceLine[]) => Promise<void>, shouldStop: () => boolean): Promise<boolean> {
    const size = (await this.fh.stat()).size;
    if (size < this.readPos || (size > this.lastSize && (await this.rewritten(size)))) this.restart();
    this.lastSize = size;
    let grew = false;
    while (this.readPos < size && !shouldStop()) {
      const { bytesRead } = await this.fh.read(this.buf, 0, Math.min(CHUNK_BYTES, size - this.readPos), this.readPos);
      if (bytesRead === 0) break;
      this.readPos += bytesRead;
      grew = true;
      const lines = this.splitter.push(this.buf.subarray(0, bytesRead));
      if (lines.length) await emit(lines);
    }
    if (this.head.len < HEAD_BYTES && size > this.head.len) this.head = await readHead(this.fh, size);
    return grew;
  }

  /** The unterminated last line of a rotated file that will not grow any more. */
  takePartial(): SourceLine | null {
    return this.splitter.flushPartial();
  }

  async close(): Promise<void> {
    await this.fh.close();
  }

  /** Truncated or rewritten in place: everything in it now is new. */
  private restart(): void {
    this.readPos = 0;
    this.lastSize = 0;
    this.splitter.reset(0);
  }

  /** The first bytes differ from what we hashed: the file was truncated and refilled between polls. */
  private async rewritten(size: number): Promise<boolean> {
    const now = await readHead(this.fh, Math.min(size, this.head.len));
    const changed = now.hash !== this.head.hash;
    if (changed) this.head = await readHead(this.fh, size);
    return changed;
  }
}

/** Hash of the first min(size, HEAD_BYTES) bytes. */
export async function readHead(fh: FileHandle, size: number): Promise<Head> {
  const len = Math.min(size, HEAD_BYTES);
  const buf = Buffer.alloc(len);
  if (len > 0) await fh.read(buf, 0, len, 0);
  return { hash: createHash('sha256').update(buf).digest('hex'), len };
}
