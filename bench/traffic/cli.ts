/**
 * Write a generated instance to a directory:
 *
 *   npx tsx bench/traffic/cli.ts --seed 1 --out /tmp/week [--size small] [--pepper P]
 *
 * then, to see what tuskguard makes of it:
 *
 *   export TUSKGUARD_HOME=/tmp/week/home TUSKGUARD_PEPPER=<P> TUSKGUARD_MASTER_KEY=$(openssl rand -hex 32)
 *   tuskguard keys import /tmp/week/keys.yaml
 *   tuskguard replay --dry-run --output json /tmp/week/history.log.gz /tmp/week/week.log.gz
 *
 * and compare with /tmp/week/labels.json (bench/detect-quality.ts does all of this and scores it).
 */
import { parseArgs } from 'node:util';
import { loadRules } from '../../src/detect/load.js';
import { generateTraffic } from './generate.js';
import type { PopulationSize } from './population.js';
import { writeTraffic } from './render.js';

/** The pepper used when none is given (a simulation's, never a real one). */
export const DEFAULT_PEPPER = 'bench-traffic-pepper-not-a-secret';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    out: { type: 'string' },
    size: { type: 'string', default: 'full' },
    pepper: { type: 'string', default: process.env.TUSKGUARD_PEPPER ?? DEFAULT_PEPPER },
    rules: { type: 'string', default: 'rules/detections' },
  },
});
if (!values.out) {
  process.stderr.write('usage: npx tsx bench/traffic/cli.ts --seed N --out DIR [--size full|small] [--pepper P]\n');
  process.exit(2);
}
const size: PopulationSize = values.size === 'small' ? 'small' : 'full';
const started = Date.now();
const packRules = loadRules(values.rules).rules.map((r) => r.id);
const traffic = generateTraffic({ seed: Number(values.seed), pepper: values.pepper, size, packRules });
const paths = await writeTraffic(values.out, traffic);
const l = traffic.labels;
process.stdout.write(
  `wrote ${traffic.history.length} + ${traffic.week.length} lines, ${l.keys.filter((k) => k.managed).length} managed keys, ` +
    `${l.attacks.length} attacks, ${l.negatives.length} hard negatives in ${((Date.now() - started) / 1000).toFixed(1)} s\n` +
    `${Object.values(paths).join('\n')}\n`,
);
if (l.uncovered.length) process.stdout.write(`rules without an attack: ${l.uncovered.join(', ')}\n`);
