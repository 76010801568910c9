import type { Event, ParseError } from '../core/event.js';
import type { Fingerprinter } from '../core/fingerprint.js';
import type { Format } from '../config/schema.js';

/**
 * Contracts between sources, parsers and the pipeline.
 *
 * Parsers are pure: `(line, ctx) → Event | ParseError`, no I/O, no clock. They set
 * `event.id` deterministically (see `eventIdFor` in parsers/id.ts): from the request id when
 * the line has one, else from the line's content plus its ordinal among identical lines of
 * the same second — so a replay never duplicates and two genuine identical requests stay two.
 */
export interface ParseContext {
  /** Fingerprints a raw token found in the line (combined/mastodon lines with access_token=). */
  fingerprint: Fingerprinter | null;
  /** Where the line came from (`file:/var/log/x.log`, `http-push:edge`). */
  origin: string;
  /**
   * 0 for the first occurrence of this exact line within its second, 1 for the next, … . A
   * function is called only when the id needs it (a line without a request id), and must return
   * the same ordinal every time it is called for one line: counting identical lines is a map
   * lookup on the whole line, which most lines (those with a request id) can skip.
   */
  duplicateIndex?: number | (() => number);
}

export type Parser = (line: string, ctx: ParseContext) => Event | ParseError;

export interface ParserEntry {
  readonly id: Format;
  readonly parse: Parser;
  /**
   * The line's event time in epoch ms, as `parse` would set `@timestamp`, or NaN when a quick
   * look cannot tell. Only for ordering lines (replay's time-ordered merge): a few string
   * scans instead of a whole parse. Callers fall back to `parse` on NaN.
   */
  readonly time?: (line: string) => number;
  /** One-line description for `--help` and docs. */
  readonly description: string;
}

/** A line as a source hands it over. */
export interface SourceLine {
  /** The raw line without its terminator. May be invalid UTF-8 (then `bytes` is set). */
  text: string;
  /** Original bytes when the line was not valid UTF-8 (dead-lettered with reason invalid-utf8). */
  bytes?: Buffer;
  /** Opaque checkpoint token the source commits once the line is durable (e.g. byte offset). */
  position?: number;
}

/** What a source pushes into the pipeline, in order; `ack` is called once all are durable. */
export interface SourceBatch {
  sourceId: string;
  format: Format;
  origin: string;
  lines: SourceLine[];
  /** Lines longer than this many bytes are dead-lettered (`line-too-long`) unparsed; default 65,536. */
  maxLineBytes?: number;
  /** Called after every line of the batch is stored or dead-lettered. */
  ack?: () => void | Promise<void>;
}

/** The pipeline as sources see it. */
export interface PipelineInput {
  /**
   * Accept a batch. Resolves when the pipeline has room for more (backpressure), not when the
   * batch is durable — that is what `ack` is for. Rejects with PIPELINE_SATURATED only for
   * non-blocking callers (`tryPush`).
   */
  push(batch: SourceBatch): Promise<void>;
  /** Non-blocking variant for push sources: false when saturated (answer 429 + Retry-After). */
  tryPush(batch: SourceBatch): boolean;
  /** Seconds a push client should wait before retrying, when saturated. */
  retryAfterSeconds(): number;
}

/** A running source. */
export interface Source {
  readonly id: string;
  start(input: PipelineInput): Promise<void>;
  /** Stop reading, wait for in-flight acks, persist checkpoints. */
  stop(): Promise<void>;
}
