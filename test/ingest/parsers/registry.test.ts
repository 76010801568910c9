import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FORMATS } from '../../../src/config/schema.js';
import { PARSERS, getParser } from '../../../src/ingest/parsers/registry.js';

const DIR = fileURLToPath(new URL('../../../src/ingest/parsers/', import.meta.url));

describe('parser registry', () => {
  it('has exactly one folder per registered parser, named after its format', () => {
    const folders = readdirSync(DIR, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
    expect(folders).toEqual(Object.keys(PARSERS).sort());
  });

  it('registers every configurable format, each under its own id', () => {
    expect(Object.keys(PARSERS).sort()).toEqual([...FORMATS].sort());
    for (const format of FORMATS) {
      expect(getParser(format).id).toBe(format);
      expect(getParser(format).description.length).toBeGreaterThan(10);
    }
  });
});
