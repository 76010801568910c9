import type { Event } from '../../src/core/event.js';
import { IndexLayout } from '../../src/store/elasticsearch/indices.js';

/**
 * The raw ceiling's documents, serialised once and held off the JavaScript heap.
 *
 * The ceiling indexes pre-built NDJSON; the end-to-end run it is compared with happens in the
 * same process. Held as 300k event objects (about 280 MB of small objects), the documents made
 * every major GC of the end-to-end run mark a heap that `tuskguard ingest` never has, charging
 * the pipeline for the benchmark's own bookkeeping. Here they are one Buffer (external memory,
 * never traced) plus offsets; index names carry a fixed placeholder prefix swapped for the
 * run's prefix while bodies are built, before any clock starts.
 */
const PLACEHOLDER = '\u0000prefix\u0000';

export class PrebuiltBulk {
  private constructor(
    private readonly data: Buffer,
    /** Line pair `i` spans offsets[i] .. offsets[i + 1]. */
    private readonly offsets: Float64Array,
    /** Time of the first document (to create its index before the clock starts). */
    readonly firstMs: number,
  ) {}

  static from(events: readonly Event[]): PrebuiltBulk {
    const layout = new IndexLayout(PLACEHOLDER, 'day');
    const offsets = new Float64Array(events.length + 1);
    const chunks: Buffer[] = [];
    let at = 0;
    events.forEach((e, i) => {
      const index = JSON.stringify(layout.indexFor('events', Date.parse(e['@timestamp'])));
      const pair = Buffer.from(`{"index":{"_index":${index},"_id":${JSON.stringify(e['event.id'])}}}\n${JSON.stringify(e)}\n`);
      chunks.push(pair);
      offsets[i] = at;
      at += pair.length;
    });
    offsets[events.length] = at;
    return new PrebuiltBulk(Buffer.concat(chunks), offsets, events.length ? Date.parse(events[0]!['@timestamp']) : 0);
  }

  get count(): number {
    return this.offsets.length - 1;
  }

  /** The first `n` documents (grid probes). */
  head(n: number): PrebuiltBulk {
    const k = Math.min(n, this.count);
    return new PrebuiltBulk(this.data.subarray(0, this.offsets[k]), this.offsets.slice(0, k + 1), this.firstMs);
  }

  /** Document `i`: its `_id` and its source, parsed back. */
  doc(i: number): { id: string; source: Record<string, unknown> } {
    const [action, source] = this.data.toString('utf8', this.offsets[i], this.offsets[i + 1]).split('\n');
    return { id: (JSON.parse(action!) as { index: { _id: string } }).index._id, source: JSON.parse(source!) as Record<string, unknown> };
  }

  /** NDJSON bodies of `batch` documents each, for the indices under `prefix`. */
  bodies(prefix: string, batch: number): string[] {
    const escaped = JSON.stringify(PLACEHOLDER).slice(1, -1);
    const out: string[] = [];
    for (let i = 0; i < this.count; i += batch) {
      const end = Math.min(i + batch, this.count);
      out.push(this.data.toString('utf8', this.offsets[i], this.offsets[end]).replaceAll(escaped, prefix));
    }
    return out;
  }
}
