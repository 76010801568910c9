import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RULE_TYPE_NAMES } from '../../../src/detect/rules/registry.js';

describe('rule type registry', () => {
  it('lists exactly the folders under src/detect/rules', () => {
    const dir = fileURLToPath(new URL('../../../src/detect/rules/', import.meta.url));
    const folders = readdirSync(dir).filter((f) => statSync(join(dir, f)).isDirectory());
    expect([...RULE_TYPE_NAMES].sort()).toEqual(folders.sort());
  });
});
