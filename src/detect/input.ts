import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { FORMATS, type Format } from '../config/schema.js';
import { type Event, isParseError } from '../core/event.js';
import type { Fingerprinter } from '../core/fingerprint.js';
import { createEnricher } from '../ingest/enrich/index.js';
import { DuplicateTracker } from '../ingest/parsers/id.js';
import { getParser } from '../ingest/parsers/registry.js';
import { wrongTypedField } from './fields.js';
import type { StaticKeyLookup } from './keys.js';

/**
 * Reading a log file into enriched events for `rules test` and the fixture runner: one file,
 * in file order, plain or gzip (by magic bytes), in a log format or as event NDJSON (`events`:
 * one Event object per line, as `tuskguard parse --output json` prints them). Lines that do
 * not parse are counted by reason, never fatal, and never echoed (they may hold a token).
 */
export const INPUT_FORMATS = [...FORMATS, 'events'] as const;
export type InputFormat = (typeof INPUT_FORMATS)[number];

export interface ReadStats {
  lines: number;
  events: number;
  rejected: Record<string, number>;
}

export interface ReadOptions {
  format: InputFormat;
  /** Key inventory: gives `tuskguard.key_id` to managed fingerprints. */
  keys?: StaticKeyLookup | undefined;
  /** Fingerprints raw `access_token=` values in combined/mastodon lines. */
  fingerprint?: Fingerprinter | null;
}

/** The format a file name suggests: `.ndjson`/`.jsonl` → events, else nginx-json. */
export function guessFormat(file: string): InputFormat {
  return /\.(ndjson|jsonl)(\.gz)?$/.test(file) ? 'events' : 'nginx-json';
}

async function isGzip(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(2), 0, 2, 0);
    return bytesRead === 2 && buffer[0] === 0x1f && buffer[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

function eventFromJson(line: string): Event | string {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    return 'invalid-json';
  }
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return 'invalid-json';
  const e = o as Partial<Event>;
  if (typeof e['@timestamp'] !== 'string' || Number.isNaN(Date.parse(e['@timestamp']))) return 'missing-field';
  if (typeof e['event.id'] !== 'string') return 'missing-field';
  if (wrongTypedField(o as Record<string, unknown>)) return 'wrong-type';
  return e as Event;
}

/** Events of one file, enriched, with `stats` filled as it goes. */
export async function* readEvents(file: string, o: ReadOptions, stats: ReadStats): AsyncGenerator<Event> {
  const raw = createReadStream(file);
  const input = (await isGzip(file)) ? raw.pipe(createGunzip()) : raw;
  const lines = createInterface({ input, crlfDelay: Infinity });
  const enricher = await createEnricher(o.keys ? { keyLookup: o.keys } : {});
  const parser = o.format === 'events' ? undefined : getParser(o.format);
  const dups = new DuplicateTracker();
  const origin = `file:${resolve(file)}`;
  for await (const line of lines) {
    if (line.trim() === '') continue;
    stats.lines++;
    let result: Event | string;
    if (parser) {
      const parsed = parser.parse(line, { fingerprint: o.fingerprint ?? null, origin, duplicateIndex: dups.indexFor(line) });
      result = isParseError(parsed) ? parsed.reason : parsed;
    } else result = eventFromJson(line);
    if (typeof result === 'string') {
      stats.rejected[result] = (stats.rejected[result] ?? 0) + 1;
      continue;
    }
    stats.events++;
    yield enricher.enrich(result);
  }
}

export function isInputFormat(x: string): x is InputFormat {
  return (INPUT_FORMATS as readonly string[]).includes(x);
}

export type { Format };
