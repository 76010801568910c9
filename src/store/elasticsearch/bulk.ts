import type { Client } from '@elastic/elasticsearch';
import { setTimeout as sleep } from 'node:timers/promises';
import { TuskguardError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { Metrics } from '../../core/metrics.js';
import type { WriteFailure, WriteResult } from '../types.js';
import { isRetryable, statusOf, unavailable } from './connection.js';
import type { Family } from './indices.js';
import { Ticket, type BulkItem } from './ticket.js';

export interface BulkWriterOptions {
  client: Client;
  /** For error messages only (already free of credentials when shown). */
  urls: readonly string[];
  maxDocs: number;
  maxBytes: number;
  concurrency: number;
  maxRetries: number;
  /** Backpressure: `submit` waits while this many documents are queued or in flight. */
  maxBufferedDocs: number;
  /** First backoff step; doubles per attempt up to `maxBackoffMs`, with jitter. */
  retryBaseMs: number;
  maxBackoffMs: number;
  metrics: Metrics;
  logger: Logger;
}

/** Item statuses inside a bulk response that mean "try this document again later". */
const RETRY_ITEM = new Set([429, 502, 503, 504]);

interface ItemResult {
  status: number;
  error?: { type?: string; reason?: string; caused_by?: { reason?: string } };
}

/**
 * Bulk indexing with bounded memory. Documents queue as ready NDJSON; whenever one of the
 * `concurrency` bulk slots is free, the queue's head is sent as one batch of at most `maxDocs`
 * documents and `maxBytes` bytes. Nothing lingers on a timer: an idle slot sends at once (the
 * pipeline already batches by time, and detection waits on the acknowledgement), while under
 * load the queue fills behind the busy slots, so batches grow to the caps by themselves.
 * A failed request (no answer, 429, 5xx) or a retryable item (429/50x in a 200 answer) is
 * retried with exponential backoff and jitter, holding its slot (that is the backpressure);
 * other item failures are permanent and reported, not retried.
 */
export class BulkWriter {
  private queue: BulkItem[] = [];
  /** Queued plus in-flight documents: what backpressure bounds. */
  private buffered = 0;
  private active = 0;
  private blocked = 0;
  private waiters: (() => void)[] = [];

  constructor(private readonly o: BulkWriterOptions) {}

  /** Documents queued or in flight right now (for tests and the in-flight gauge). */
  get bufferedDocs(): number {
    return this.buffered;
  }

  /**
   * Queue documents and resolve once every one is acknowledged or permanently refused.
   * Waits first while the buffer is full. Rejects with STORE_UNAVAILABLE when retries run out.
   */
  async submit(items: BulkItem[], refused: WriteFailure[] = []): Promise<WriteResult> {
    const ticket = new Ticket(items.length, refused);
    let next = 0;
    while (next < items.length) {
      if (this.buffered >= this.o.maxBufferedDocs) {
        await this.waitForRoom();
        continue;
      }
      const take = Math.min(items.length - next, this.o.maxBufferedDocs - this.buffered);
      for (const item of items.slice(next, next + take)) this.push(item, ticket);
      next += take;
      this.pump();
    }
    return ticket.promise;
  }

  /** Send everything queued, wait for every bulk and every blocked submit to finish. */
  async drain(): Promise<void> {
    this.pump();
    while (this.buffered > 0 || this.active > 0 || this.blocked > 0) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
      this.pump();
    }
  }

  private push(item: BulkItem, ticket: Ticket): void {
    item.ticket = ticket;
    this.queue.push(item);
    this.buffered++;
  }

  private async waitForRoom(): Promise<void> {
    this.blocked++;
    try {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    } finally {
      this.blocked--;
    }
  }

  private wake(): void {
    for (const resolve of this.waiters.splice(0)) resolve();
  }

  private pump(): void {
    while (this.active < this.o.concurrency && this.queue.length > 0) {
      const batch = this.cut();
      this.active++;
      void this.send(batch).finally(() => {
        this.active--;
        this.buffered -= batch.length;
        this.wake();
        this.pump();
      });
    }
  }

  private cut(): BulkItem[] {
    let n = 0;
    let bytes = 0;
    while (n < this.queue.length && n < this.o.maxDocs) {
      const b = this.queue[n]!.body.length;
      if (n > 0 && bytes + b > this.o.maxBytes) break;
      bytes += b;
      n++;
    }
    const batch = this.queue.splice(0, n);
    return batch;
  }

  /** One batch to completion: every item ends acknowledged, refused or rejected. */
  private async send(batch: BulkItem[]): Promise<void> {
    let pending = batch;
    for (let attempt = 0; pending.length > 0; attempt++) {
      let items: ItemResult[] | null;
      try {
        items = await this.request(pending);
      } catch (e) {
        if (isRetryable(e) && attempt < this.o.maxRetries) {
          await this.backoff(attempt, { status: statusOf(e) ?? 'connection', docs: pending.length });
          continue;
        }
        this.reject(pending, e);
        return;
      }
      pending = this.settle(pending, items);
      if (pending.length === 0) return;
      if (attempt >= this.o.maxRetries) {
        this.reject(pending, new Error(`${pending.length} documents still rejected with 429/50x after ${attempt} retries`));
        return;
      }
      await this.backoff(attempt, { status: 'item', docs: pending.length });
    }
  }

  /** POST _bulk; null items means every item succeeded. */
  private async request(batch: BulkItem[]): Promise<ItemResult[] | null> {
    const end = this.o.metrics.bulkSeconds.startTimer({ store: 'elasticsearch' });
    try {
      const body = requestBody(batch);
      const res = (await this.o.client.transport.request(
        { method: 'POST', path: '/_bulk', querystring: { filter_path: 'errors,items.*.status,items.*.error' }, bulkBody: body },
        { maxRetries: 0 },
      )) as { errors?: boolean; items?: Record<string, ItemResult>[] };
      if (!res.errors) return null;
      return (res.items ?? []).map((entry) => Object.values(entry)[0] ?? { status: 500 });
    } finally {
      end();
    }
  }

  /** Acknowledge and refuse what is final; return the items to retry. */
  private settle(batch: BulkItem[], items: ItemResult[] | null): BulkItem[] {
    const retry: BulkItem[] = [];
    const written = new Map<string, number>();
    batch.forEach((item, i) => {
      const result = items?.[i] ?? { status: items ? 500 : 200 };
      if (result.status < 300) {
        written.set(item.kind, (written.get(item.kind) ?? 0) + 1);
        item.ticket!.ack();
      } else if (RETRY_ITEM.has(result.status)) {
        retry.push(item);
      } else {
        this.o.metrics.errors.inc({ component: 'store-elasticsearch', stage: 'item' });
        item.ticket!.refuse(itemFailure(item.id, result));
      }
    });
    // One increment per kind and batch: a labelled inc per document costs more than the ack.
    for (const [kind, n] of written) this.o.metrics.eventsWritten.inc({ store: 'elasticsearch', kind }, n);
    return retry;
  }

  private reject(items: BulkItem[], e: unknown): void {
    this.o.metrics.errors.inc({ component: 'store-elasticsearch', stage: 'bulk' });
    const error = e instanceof TuskguardError ? e : unavailable(e, this.o.urls, `bulk write of ${items.length} documents`);
    this.o.logger.error({ code: error.code, docs: items.length, message: error.message }, 'bulk write gave up');
    for (const item of items) item.ticket!.fail(error);
  }

  private async backoff(attempt: number, info: { status: number | string; docs: number }): Promise<void> {
    this.o.metrics.storeRetries.inc({ store: 'elasticsearch' });
    const step = Math.min(this.o.maxBackoffMs, this.o.retryBaseMs * 2 ** attempt);
    // Equal jitter: never less than half a step (real backoff), never in lock-step with peers.
    const delay = step / 2 + Math.random() * (step / 2);
    this.o.logger.warn({ ...info, attempt: attempt + 1, delayMs: Math.round(delay) }, 'bulk write retried');
    await sleep(delay);
  }
}

/** A permanent per-item failure, with a stable reason code. */
export function itemFailure(id: string, result: ItemResult): WriteFailure {
  const type = result.error?.type ?? 'unknown';
  const reason =
    type === 'mapper_parsing_exception' || type === 'document_parsing_exception' || type.endsWith('_parse_exception')
      ? 'mapping'
      : result.status === 413
        ? 'too-large'
        : 'rejected';
  const detail = [result.error?.reason, result.error?.caused_by?.reason].filter(Boolean).join(': ');
  return { id, reason, message: `Elasticsearch ${result.status} ${type}${detail ? `: ${detail}` : ''}`.slice(0, 2_000) };
}

/**
 * The NDJSON body of a batch: when the items are consecutive views of one buffer (one submit,
 * see ElasticsearchStore), a view over their span; otherwise a copy of them all.
 */
export function requestBody(batch: readonly BulkItem[]): Buffer {
  const first = batch[0]?.body;
  if (!first) return Buffer.alloc(0);
  let end = first.byteOffset + first.length;
  for (let i = 1; i < batch.length; i++) {
    const b = batch[i]!.body;
    if (b.buffer !== first.buffer || b.byteOffset !== end) return Buffer.concat(batch.map((item) => item.body));
    end += b.length;
  }
  return Buffer.from(first.buffer, first.byteOffset, end - first.byteOffset);
}

/**
 * One submit's documents as consecutive views of one UTF-8 buffer: `parts` holds each
 * document's action line and source, `ids[i]` belongs to parts 2i and 2i+1. Written in place,
 * exactly sized: concatenating strings per document made V8 flatten a copy of each only to
 * encode it, and a buffer per document meant a pool allocation each and a copy of all of them
 * into the request body. A bulk request cut from consecutive items of one submit (the usual
 * case: the pipeline submits whole bulks) is sent as a view of this buffer, with no copy.
 */
export function bulkItems(kind: Family, ids: readonly string[], parts: readonly string[]): BulkItem[] {
  const lengths = parts.map((p) => Buffer.byteLength(p));
  let total = 0;
  for (const n of lengths) total += n;
  const buf = Buffer.allocUnsafe(total + ids.length);
  const items: BulkItem[] = new Array(ids.length);
  let at = 0;
  for (let i = 0; i < ids.length; i++) {
    const start = at;
    buf.write(parts[2 * i]!, at);
    at += lengths[2 * i]!;
    buf.write(parts[2 * i + 1]!, at);
    at += lengths[2 * i + 1]!;
    buf[at++] = 10;
    items[i] = { id: ids[i]!, kind, body: buf.subarray(start, at) };
  }
  return items;
}
