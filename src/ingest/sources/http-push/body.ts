import type { Format } from '../../../config/schema.js';
import type { SourceLine } from '../../types.js';
import { LineSplitter } from '../lines.js';

/**
 * Turns a push body into log lines. Accepted shapes, as the common shippers send them:
 *
 * - NDJSON (Fluent Bit `format json_lines`, Vector `framing: newline_delimited`): one JSON value
 *   per line.
 * - a JSON array (Fluent Bit `format json`, Vector `codec: json` with array framing, Filebeat
 *   through an HTTP relay): `[value, …]`.
 * - plain text (`Content-Type: text/plain`, or lines that are not JSON at all): one raw log line
 *   per line.
 *
 * Each JSON value is a record: a string is the raw line; an object carries the raw line in the
 * first of `lineFields` that holds a string (`message` for Vector and Filebeat, `log` for Fluent
 * Bit), or — for `nginx-json` — is itself the structured log line. Anything else is rejected
 * with a reason, to be dead-lettered: nothing is dropped silently.
 */
export interface Rejected {
  /** 1-based record number in the body. */
  position: number;
  reason: string;
  message: string;
  line: string | Buffer;
}

export interface DecodedBody {
  lines: SourceLine[];
  rejected: Rejected[];
  /** Set when the body as a whole is unusable (→ 400); `rejected` then holds its salvaged lines. */
  malformed: string | null;
}

export interface DecodeOptions {
  format: Format;
  lineFields: readonly string[];
  /** Body declared as plain text: never interpret lines as JSON. */
  plainText: boolean;
}

export function decodeBody(body: Buffer, options: DecodeOptions): DecodedBody {
  const text = body.toString('utf8');
  const first = /\S/.exec(text)?.[0];
  if (first === undefined) return { lines: [], rejected: [], malformed: 'the body is empty' };
  if (first === '[' && !options.plainText) return decodeArray(body, text, options);
  return decodeLines(body, options);
}

function decodeArray(body: Buffer, text: string, options: DecodeOptions): DecodedBody {
  let items: unknown;
  try {
    items = JSON.parse(text);
  } catch (e) {
    // Keep every line of the body so the sender's data survives in the dead-letter.
    const rejected = splitLines(body).map((line, i) => ({
      position: i + 1,
      reason: 'malformed-body',
      message: `body is not a valid JSON array: ${(e as Error).message}`,
      line: line.bytes ?? line.text,
    }));
    return { lines: [], rejected, malformed: `the body starts with [ but is not a valid JSON array: ${(e as Error).message}` };
  }
  const out: DecodedBody = { lines: [], rejected: [], malformed: null };
  (items as unknown[]).forEach((item, i) => addRecord(out, item, i + 1, options));
  return out;
}

function decodeLines(body: Buffer, options: DecodeOptions): DecodedBody {
  const out: DecodedBody = { lines: [], rejected: [], malformed: null };
  splitLines(body).forEach((line, i) => {
    const position = i + 1;
    if (line.bytes || options.plainText || line.text.trim() === '') {
      if (line.text.trim() !== '') out.lines.push({ ...line, position });
      return;
    }
    const c = line.text.trimStart()[0];
    if (c !== '{' && c !== '"' && c !== '[') {
      out.lines.push({ text: line.text, position }); // a raw log line sent as text
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(line.text);
    } catch (e) {
      out.rejected.push({ position, reason: 'invalid-json-record', message: `record ${position} is not valid JSON: ${(e as Error).message}`, line: line.text });
      return;
    }
    addRecord(out, value, position, options, line.text);
  });
  return out;
}

function addRecord(out: DecodedBody, value: unknown, position: number, options: DecodeOptions, raw?: string): void {
  if (typeof value === 'string') {
    out.lines.push({ text: value, position });
    return;
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    const field = options.lineFields.find((f) => typeof record[f] === 'string');
    if (field) {
      out.lines.push({ text: record[field] as string, position });
      return;
    }
    if (options.format === 'nginx-json') {
      out.lines.push({ text: raw ?? JSON.stringify(record), position });
      return;
    }
  }
  const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
  out.rejected.push({
    position,
    reason: 'unusable-record',
    message: `record ${position} is ${kind === 'object' ? `an object without a string field ${options.lineFields.join(' or ')}` : kind}; expected a string or an object with the raw line`,
    line: raw ?? JSON.stringify(value) ?? String(value),
  });
}

function splitLines(body: Buffer): SourceLine[] {
  const splitter = new LineSplitter(0, Number.MAX_SAFE_INTEGER);
  const lines = splitter.push(body);
  const last = splitter.flushPartial();
  if (last) lines.push(last);
  return lines;
}
