import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DERIVED_FIELDS } from '../../src/detect/fields.js';
import { RULE_TYPE_NAMES } from '../../src/detect/rules/registry.js';

const readme = readFileSync(new URL('../../rules/README.md', import.meta.url), 'utf8');

describe('rules/README.md', () => {
  it.each(readdirSync(new URL('../../rules/detections/', import.meta.url)).map((f) => f.replace(/\.yaml$/, '')))('documents rule %s', (id) => {
    expect(readme).toContain(`| \`${id}\` |`);
  });
  it.each(RULE_TYPE_NAMES)('documents rule type %s', (type) => {
    expect(readme).toContain(`| \`${type}\` |`);
  });
  it.each(Object.keys(DERIVED_FIELDS))('documents derived field %s', (field) => {
    expect(readme).toContain(`| \`${field}\` |`);
  });
});
