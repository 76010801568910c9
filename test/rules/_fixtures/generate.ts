import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { type Scenario, render } from './lib.js';
import { VARIANTS, population } from './population.js';
import { RULE_SCENARIOS } from './scenarios.js';

/**
 * Writes every fixture input: test/rules/<rule>/input.log (gzip when large) and keys.json, and
 * test/rules/_hard-negatives/<variant>/. Deterministic: run it again and nothing changes.
 *   npx tsx test/rules/_fixtures/generate.ts
 * expect.json files are written by hand and never generated.
 */
export const GZIP_OVER_BYTES = 300_000;

/** The files a scenario becomes: name → content. */
export function fixtureFiles(name: string, s: Scenario): Record<string, Buffer> {
  const text = render(name, s.reqs);
  const files: Record<string, Buffer> = {};
  if (text.length > GZIP_OVER_BYTES) files['input.log.gz'] = gzipSync(text, { level: 9 });
  else files['input.log'] = Buffer.from(text);
  if (s.keys) files['keys.json'] = Buffer.from(`${JSON.stringify(s.keys, null, 2)}\n`);
  return files;
}

/** Every fixture directory (relative to test/rules) and its scenario. */
export function allFixtures(): Array<[string, Scenario]> {
  return [
    ...Object.entries(RULE_SCENARIOS).map(([rule, make]): [string, Scenario] => [rule, make()]),
    ...VARIANTS.map((v): [string, Scenario] => [join('_hard-negatives', v), population(v)]),
  ];
}

function main(): void {
  const root = fileURLToPath(new URL('../', import.meta.url));
  for (const [dir, scenario] of allFixtures()) {
    const target = join(root, dir);
    mkdirSync(target, { recursive: true });
    for (const stale of ['input.log', 'input.log.gz']) rmSync(join(target, stale), { force: true });
    for (const [file, content] of Object.entries(fixtureFiles(dir, scenario))) writeFileSync(join(target, file), content);
    process.stdout.write(`${dir}: ${scenario.reqs.length} lines\n`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
