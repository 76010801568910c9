import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import type { Metrics } from '../core/metrics.js';
import { redactSecrets } from '../core/redact.js';

/**
 * The dead-letter: lines (or records) tuskguard could not turn into stored events, kept with
 * the reason so nothing is lost silently. One NDJSON file per UTC day under
 * `<home>/dead-letter/YYYY-MM-DD.ndjson`.
 *
 * A dead letter never holds a raw token: the line text goes through `redactSecrets`, and a
 * line that is not valid UTF-8 is kept as base64 (`line_b64`) of its redacted latin1 reading,
 * so even bytes that merely look like a token are scrubbed.
 */

/** What a caller hands over; `line` may be the raw bytes when they were not valid UTF-8. */
export interface DeadLetterInput {
  /** Source id (`edge-tail`, `push`, `ingest`). */
  source: string;
  /** Where the line came from (`file:/var/log/nginx/access.log`). */
  origin: string;
  /** Byte offset or line number within the origin, when known. */
  position?: number | undefined;
  /** Stable reason code (`invalid-utf8`, `line-too-long`, `invalid-json`, `store-mapping`, …). */
  reason: string;
  /** Human explanation. */
  message: string;
  line: string | Buffer;
}

/** The record as written, one JSON object per line. */
export interface DeadLetterRecord {
  at: string;
  source: string;
  origin: string;
  position: number | null;
  reason: string;
  message: string;
  /** The line, secrets redacted (absent when `line_b64` is set). */
  line?: string;
  /** Base64 of a line that was not valid UTF-8 (secrets redacted on its latin1 reading). */
  line_b64?: string;
}

export interface DeadLetterOptions {
  home: string;
  metrics: Metrics;
  /** Metric label for `tuskguard_dead_letters_total{component}`. */
  component?: string;
  clock?: Clock;
}

export class DeadLetter {
  readonly dir: string;
  private readonly metrics: Metrics;
  private readonly component: string;
  private readonly clock: Clock;
  private written = 0;
  private dirReady: Promise<unknown> | null = null;
  /** Appends are chained so records of concurrent callers never interleave mid-line. */
  private tail: Promise<void> = Promise.resolve();

  constructor(options: DeadLetterOptions) {
    this.dir = join(options.home, 'dead-letter');
    this.metrics = options.metrics;
    this.component = options.component ?? 'pipeline';
    this.clock = options.clock ?? systemClock;
  }

  /** Records written by this instance since it was created. */
  get count(): number {
    return this.written;
  }

  /** The file today's records go to. */
  pathFor(date: Date = new Date(this.clock.now())): string {
    return join(this.dir, `${date.toISOString().slice(0, 10)}.ndjson`);
  }

  /**
   * Append records and resolve once they are in the file (so a caller may then acknowledge
   * the lines to their source). Counted in `tuskguard_dead_letters_total` by reason.
   */
  async write(inputs: readonly DeadLetterInput[]): Promise<void> {
    if (inputs.length === 0) return;
    const now = new Date(this.clock.now());
    const text = inputs.map((i) => `${JSON.stringify(toRecord(i, now))}\n`).join('');
    const path = this.pathFor(now);
    const run = async (): Promise<void> => {
      this.dirReady ??= mkdir(this.dir, { recursive: true, mode: 0o700 });
      await this.dirReady;
      await appendFile(path, text, { mode: 0o600 });
    };
    const next = this.tail.then(run, run);
    this.tail = next.catch(() => undefined);
    await next;
    this.written += inputs.length;
    for (const i of inputs) this.metrics.deadLetters.inc({ component: this.component, reason: i.reason });
  }

  /** Resolves when every write started so far has finished. */
  async flush(): Promise<void> {
    await this.tail;
  }
}

/** Build the on-disk record (exported for tests and the `deadletter` tooling). */
export function toRecord(input: DeadLetterInput, at: Date): DeadLetterRecord {
  const base = {
    at: at.toISOString(),
    source: input.source,
    origin: input.origin,
    position: input.position ?? null,
    reason: input.reason,
    message: redactSecrets(input.message),
  };
  if (typeof input.line === 'string') return { ...base, line: redactSecrets(input.line) };
  // latin1 maps every byte to one char and back, so redaction keeps the other bytes intact.
  const scrubbed = Buffer.from(redactSecrets(input.line.toString('latin1')), 'latin1');
  return { ...base, line_b64: scrubbed.toString('base64') };
}
