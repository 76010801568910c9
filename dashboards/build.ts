import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FAMILIES } from '../src/store/elasticsearch/indices.js';
import { actions } from './definitions/actions.js';
import { findings } from './definitions/findings.js';
import { keyUsage } from './definitions/key-usage.js';
import { dataView, DEFAULT_PREFIX } from './lib/data-views.js';
import { toNdjson, type SavedObject } from './lib/saved-objects.js';

/**
 * Builds dashboards/tuskguard.ndjson, the file analysts import into Kibana.
 *
 *   npx tsx dashboards/build.ts          rewrite the file
 *   npx tsx dashboards/build.ts --check  exit 1 when the file differs from what this builds
 *
 * The NDJSON is committed (operators import it without Node); test/dashboards checks that it
 * matches this builder, so edit the definitions here and rebuild rather than editing the file.
 */

export const NDJSON_PATH = fileURLToPath(new URL('./tuskguard.ndjson', import.meta.url));

/** Every saved object: data views for `prefix`, then the three dashboards with their parts. */
export function buildSavedObjects(prefix = DEFAULT_PREFIX): SavedObject[] {
  return [...FAMILIES.map((family) => dataView(family, prefix)), ...keyUsage(), ...findings(), ...actions()];
}

export function buildNdjson(prefix = DEFAULT_PREFIX): string {
  return toNdjson(buildSavedObjects(prefix));
}

function main(argv: string[]): number {
  const text = buildNdjson();
  if (argv.includes('--check')) {
    const current = readFileSync(NDJSON_PATH, 'utf8');
    if (current === text) return 0;
    console.error(`${NDJSON_PATH} is out of date: run \`npx tsx dashboards/build.ts\` and commit the result`);
    return 1;
  }
  writeFileSync(NDJSON_PATH, text);
  console.log(`wrote ${text.split('\n').length - 1} saved objects to ${NDJSON_PATH}`);
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = main(process.argv.slice(2));
