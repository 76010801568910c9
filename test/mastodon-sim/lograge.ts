import { randomUUID } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';

/**
 * Mastodon's production request log (FACTS.md §8, formats/LOG-FORMAT.md §3): Ruby
 * `Logger::Formatter` + TaggedLogging with the request id + lograge's key=value line.
 */

const ACRONYMS: Readonly<Record<string, string>> = { oauth: 'OAuth', oembed: 'OEmbed', activitypub: 'ActivityPub' };

/** `api/v1/timelines/home` → `Api::V1::Timelines::HomeController`, with Mastodon's inflection acronyms. */
export function controllerClass(controller: string): string {
  const parts = controller.split('/').map(
    (seg) => ACRONYMS[seg] ?? seg.split('_').map((w) => (w ? w[0]?.toUpperCase() + w.slice(1) : '')).join(''),
  );
  return `${parts.join('::')}Controller`;
}

/** ActionDispatch::RequestId: keep `[A-Za-z0-9_@-]` of the incoming id, at most 255; else a UUID. */
export function requestIdFor(incoming: string | string[] | undefined): string {
  const value = Array.isArray(incoming) ? incoming[0] : incoming;
  if (value === undefined || value.trim() === '') return randomUUID();
  return value.replace(/[^\w\-@]/g, '').slice(0, 255);
}

/** Rails' `request.format.ref` as lograge prints it for the Accept header a client sent. */
export function formatRef(accept: string | undefined): string {
  const first = accept?.split(',')[0]?.split(';')[0]?.trim().toLowerCase();
  if (!first) return 'html';
  if (first === 'application/json') return 'json';
  if (first === 'text/html') return 'html';
  if (first === 'text/plain') return 'text';
  return first;
}

export interface LogrageFields {
  method: string;
  path: string;
  format: string;
  controller: string;
  action: string;
  status: number;
  durationMs: number;
  location?: string | undefined;
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/** `%Y-%m-%dT%H:%M:%S.%6N` in UTC (the container's zone). */
function loggerTime(ms: number, micros: number): string {
  const d = new Date(ms);
  return (
    `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.` +
    `${pad(d.getUTCMilliseconds(), 3)}${pad(micros, 3)}`
  );
}

/** One INFO line with the request-id tag (blank ids are dropped by TaggedLogging). */
export function railsLine(ms: number, pid: number, requestId: string, message: string): string {
  const tag = requestId === '' ? '' : `[${requestId}] `;
  const micros = Math.floor((performance.now() * 1000) % 1000);
  return `I, [${loggerTime(ms, micros)} #${pid}]  INFO -- : ${tag}${message}`;
}

/** lograge's default key=value formatter, fields in its order; timings are plausible, not measured work. */
export function logrageMessage(f: LogrageFields): string {
  const view = (f.durationMs * 0.35).toFixed(2);
  const db = (f.durationMs * 0.2).toFixed(2);
  const allocations = 2000 + Math.floor(f.durationMs * 150);
  const parts = [
    `method=${f.method}`, `path=${f.path}`, `format=${f.format}`, `controller=${f.controller}`,
    `action=${f.action}`, `status=${f.status}`, `allocations=${allocations}`,
    `duration=${f.durationMs.toFixed(2)}`, `view=${view}`, `db=${db}`,
  ];
  if (f.location) parts.push(`location=${f.location}`);
  return parts.join(' ');
}

/** Keeps every line in memory and copies it to the configured file or stream. */
export class RequestLog {
  readonly lines: string[] = [];
  private readonly sink: NodeJS.WritableStream | null;
  private readonly owned: WriteStream | null;

  constructor(target: string | NodeJS.WritableStream | null) {
    this.owned = typeof target === 'string' ? createWriteStream(target, { flags: 'a' }) : null;
    this.sink = this.owned ?? (typeof target === 'string' ? null : target);
  }

  write(line: string): void {
    this.lines.push(line);
    this.sink?.write(`${line}\n`);
  }

  async close(): Promise<void> {
    const owned = this.owned;
    if (owned) await new Promise<void>((resolve) => owned.end(resolve));
  }
}
