import type { TuskguardError } from '../../core/errors.js';
import type { WriteFailure, WriteResult } from '../types.js';
import type { Family } from './indices.js';

/** One document ready for `_bulk`: its action line and source line, already serialised. */
export interface BulkItem {
  id: string;
  kind: Family;
  /**
   * `{"index":{…}}\n{…}\n` as UTF-8. Bytes rather than a string: a request body is then one
   * copy (Buffer.concat) with its length known, instead of a join, a re-scan for
   * Content-Length and an encode; and queued documents sit outside the JS heap, so the young
   * generation's collector does not copy them again and again while they wait.
   */
  body: Buffer;
  /** The submit call waiting for this document; set when queued. */
  ticket?: Ticket;
}

/**
 * Tracks one `submit` call: resolves with the call's WriteResult when every one of its
 * documents is acknowledged or refused, or rejects with the first give-up error (the caller
 * keeps the batch and retries it later; ids make the retry idempotent).
 */
export class Ticket {
  readonly promise: Promise<WriteResult>;
  private remaining: number;
  private written = 0;
  private readonly failed: WriteFailure[];
  private error: TuskguardError | null = null;
  private resolve!: (r: WriteResult) => void;
  private reject!: (e: TuskguardError) => void;

  constructor(documents: number, refused: WriteFailure[]) {
    this.remaining = documents;
    this.failed = [...refused];
    this.promise = new Promise<WriteResult>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    if (documents === 0) this.resolve({ written: 0, failed: this.failed });
  }

  ack(): void {
    this.written++;
    this.done();
  }

  refuse(failure: WriteFailure): void {
    this.failed.push(failure);
    this.done();
  }

  fail(error: TuskguardError): void {
    this.error ??= error;
    this.done();
  }

  private done(): void {
    if (--this.remaining > 0) return;
    if (this.error) this.reject(this.error);
    else this.resolve({ written: this.written, failed: this.failed });
  }
}
