import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { sourceSchema } from '../../../src/config/schema.js';
import { SOURCES } from '../../../src/ingest/sources/registry.js';

const DIR = fileURLToPath(new URL('../../../src/ingest/sources/', import.meta.url));

describe('source registry', () => {
  it('has one folder per configurable source type, plus replay (run by commands, not config)', () => {
    const folders = readdirSync(DIR, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
    expect(folders).toEqual([...Object.keys(SOURCES), 'replay'].sort());
  });

  it('has one factory per source type of the config schema', () => {
    const types = sourceSchema.options.map((o) => o.shape.type.value).sort();
    expect(Object.keys(SOURCES).sort()).toEqual(types);
  });
});
