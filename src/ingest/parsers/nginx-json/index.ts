import { parseError, type Event, type ParseError } from '../../../core/event.js';
import { FINGERPRINT_RE } from '../../../core/fingerprint.js';
import { redactSecrets } from '../../../core/redact.js';
import type { ParseContext, ParserEntry } from '../../types.js';
import {
  MAX_LINE_CHARS,
  firstForwardedFor,
  isIpAddress,
  isoFromMs,
  scrubQuery,
  secondsToNs,
  splitUri,
} from '../common.js';
import { eventIdFor } from '../id.js';

/**
 * `nginx-json` (shared/formats/LOG-FORMAT.md §1): one JSON object per line, written by the
 * tuskguard `log_format` with the njs fingerprint. Required: a time (`msec` or `ts`), `ip`,
 * `method`, `uri`, `status`. Wrong types are rejected naming the field; unknown extra fields are
 * ignored, so a site may log more than tuskguard reads.
 */

type Json = Record<string, unknown>;

function wrongType(field: string, want: string, got: unknown): ParseError {
  const kind = got === null ? 'null' : Array.isArray(got) ? 'array' : typeof got;
  return parseError('wrong-type', `field "${field}" must be ${want}, got ${kind}`);
}

/** Optional string field: undefined when absent, `""` or `"-"` (nginx's empty value). */
function optString(o: Json, field: string): string | undefined | ParseError {
  const v = o[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') return wrongType(field, 'a string', v);
  return v === '' || v === '-' ? undefined : v;
}

function optNumber(o: Json, field: string): number | undefined | ParseError {
  const v = o[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) return wrongType(field, 'a number', v);
  return v;
}

function isErr(x: unknown): x is ParseError {
  return typeof x === 'object' && x !== null && (x as ParseError).kind === 'parse-error';
}

function eventTime(o: Json): string | ParseError {
  const msec = optNumber(o, 'msec');
  if (isErr(msec)) return msec;
  if (msec !== undefined) {
    return isoFromMs(Math.round(msec * 1000)) ?? parseError('invalid-time', `field "msec" out of range: ${msec}`);
  }
  const ts = optString(o, 'ts');
  if (isErr(ts)) return ts;
  if (ts === undefined) return parseError('missing-field', 'neither "msec" nor "ts" is present');
  return isoFromMs(Date.parse(ts)) ?? parseError('invalid-time', 'field "ts" is not an ISO 8601 time');
}

function required(o: Json, field: string, kind: 'string' | 'number'): string | number | ParseError {
  const v = o[field];
  if (v === undefined || v === null) return parseError('missing-field', `field "${field}" is missing`);
  if (typeof v !== kind || (kind === 'number' && !Number.isFinite(v))) return wrongType(field, `a ${kind}`, v);
  return v as string | number;
}

/** Parse one nginx-json line. */
export function parseNginxJson(line: string, ctx: ParseContext): Event | ParseError {
  if (line.length > MAX_LINE_CHARS) return parseError('line-too-long', `line has ${line.length} characters`);
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch (e) {
    // V8's message can quote the line (and so a token); keep only the position.
    const at = /position (?<pos>\d+)/.exec((e as Error).message)?.groups?.pos;
    return parseError('invalid-json', at === undefined ? 'not valid JSON' : `not valid JSON (at position ${at})`);
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) {
    return parseError('invalid-json', 'line is JSON but not an object');
  }
  return fromObject(o as Json, line, ctx);
}

function fromObject(o: Json, line: string, ctx: ParseContext): Event | ParseError {
  const time = eventTime(o);
  if (isErr(time)) return time;
  const ip = required(o, 'ip', 'string');
  if (isErr(ip)) return ip;
  if (!isIpAddress(ip as string)) return parseError('wrong-type', 'field "ip" is not an IP address');
  const method = required(o, 'method', 'string');
  if (isErr(method)) return method;
  const uri = required(o, 'uri', 'string');
  if (isErr(uri)) return uri;
  const status = required(o, 'status', 'number');
  if (isErr(status)) return status;
  const rest = optionalFields(o);
  if (isErr(rest)) return rest;
  const { path, query } = splitUri(uri as string);
  // njs already redacted the token; a second pass guards against a misconfigured log_format.
  const scrubbed = query === undefined ? undefined : scrubQuery(query, ctx);
  const fp = rest.fp ?? scrubbed?.fingerprint;
  // Hash the redacted text: not even a digest of a line holding a raw token leaves here.
  const content = scrubbed && scrubbed.query !== query ? redactSecrets(line) : line;
  const event: Event = {
    '@timestamp': time,
    'event.id': eventIdFor(rest.rid, content, ctx.duplicateIndex),
    'event.dataset': 'nginx-json',
    'source.ip': ip as string,
    'http.request.method': method as string,
    'url.path': path,
    'http.response.status_code': status as number,
  };
  if (scrubbed) event['url.query'] = scrubbed.query;
  if (rest.rid !== undefined) event['http.request.id'] = rest.rid;
  if (fp !== undefined) event['tuskguard.fingerprint'] = fp;
  if (rest.clientIp !== undefined) event['client.ip'] = rest.clientIp;
  if (rest.host !== undefined) event['url.domain'] = rest.host;
  if (rest.bytes !== undefined) event['http.response.body.bytes'] = rest.bytes;
  if (rest.rt !== undefined) event['event.duration'] = secondsToNs(rest.rt);
  if (rest.ua !== undefined) event['user_agent.original'] = rest.ua;
  if (ctx.origin) event['log.file.path'] = ctx.origin;
  return event;
}

interface Optional {
  rid: string | undefined;
  host: string | undefined;
  ua: string | undefined;
  fp: string | undefined;
  clientIp: string | undefined;
  bytes: number | undefined;
  rt: number | undefined;
}

function optionalFields(o: Json): Optional | ParseError {
  const rid = optString(o, 'rid');
  if (isErr(rid)) return rid;
  const host = optString(o, 'host');
  if (isErr(host)) return host;
  const ua = optString(o, 'ua');
  if (isErr(ua)) return ua;
  const fp = optString(o, 'fp');
  if (isErr(fp)) return fp;
  if (fp !== undefined && !FINGERPRINT_RE.test(fp)) {
    return parseError('wrong-type', 'field "fp" is not a fingerprint (32 lowercase hex characters)');
  }
  const xff = optString(o, 'xff');
  if (isErr(xff)) return xff;
  const bytes = optNumber(o, 'bytes');
  if (isErr(bytes)) return bytes;
  const rt = optNumber(o, 'rt');
  if (isErr(rt)) return rt;
  const clientIp = xff === undefined ? undefined : firstForwardedFor(xff);
  return { rid, host, ua, fp, clientIp, bytes, rt };
}

/**
 * The value of a top-level `"name":` in a JSON line, as raw text up to the next `,` or `}` (a
 * string value keeps its quotes), or undefined. In valid JSON a `"` inside a string is escaped,
 * so an unescaped `"name"` followed by `:` can only be a key; a nested object with the same key
 * could fool this, which costs only ordering, never the event's own time.
 */
function rawValue(line: string, key: string): string | undefined {
  const at = line.indexOf(key);
  if (at === -1) return undefined;
  let from = at + key.length;
  while (line.charCodeAt(from) === 32) from++;
  if (line.charCodeAt(from) !== 58 /* : */) return undefined;
  from++;
  let to = from;
  while (to < line.length && line.charCodeAt(to) !== 44 /* , */ && line.charCodeAt(to) !== 125 /* } */) to++;
  return line.slice(from, to).trim();
}

/** `msec` (or else `ts`) of an nginx-json line in ms, as parseNginxJson reads it; NaN if unsure. */
export function nginxJsonTime(line: string): number {
  const msec = rawValue(line, '"msec"');
  if (msec !== undefined) {
    if (!/^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/.test(msec)) return Number.NaN;
    const ms = Math.round(Number(msec) * 1000);
    return isoFromMs(ms) === undefined ? Number.NaN : Math.floor(ms);
  }
  const ts = rawValue(line, '"ts"');
  if (ts === undefined || ts.length < 2 || !ts.startsWith('"') || !ts.endsWith('"') || ts.includes('\\')) return Number.NaN;
  return Date.parse(ts.slice(1, -1));
}

export const nginxJson: ParserEntry = {
  id: 'nginx-json',
  parse: parseNginxJson,
  time: nginxJsonTime,
  description: "tuskguard's nginx log_format: one JSON object per line with the njs key fingerprint",
};
