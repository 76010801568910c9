import type { Format } from '../../config/schema.js';
import type { ParserEntry } from '../types.js';
import { combined } from './combined/index.js';
import { mastodon } from './mastodon/index.js';
import { nginxJson } from './nginx-json/index.js';

/**
 * The parser registry: one folder per parser under this directory, named after its format, and
 * one line here. test/ingest/parsers/registry.test.ts checks that the folders and this table agree.
 */
export const PARSERS: Readonly<Record<Format, ParserEntry>> = Object.freeze({
  'nginx-json': nginxJson,
  combined,
  mastodon,
});

/** The parser for a format. Formats are validated by the config schema, so this cannot miss. */
export function getParser(format: Format): ParserEntry {
  return PARSERS[format];
}
