/**
 * Detection quality on generated weeks (issue 4 §6): for each seed, bench/traffic writes two
 * weeks of ordinary history and one labelled week (tens of keys with purpose profiles, one
 * attack per rule of the pack, hard negatives), its keys are imported as `keys import` does,
 * and the files are replayed through the real pipeline and engine as `tuskguard replay
 * --dry-run` does. Findings are scored against the labels (bench/traffic/score.ts).
 *
 *   npx tsx bench/detect-quality.ts                  (3 seeds, about 30 s each on 2 cores)
 *   npx tsx bench/detect-quality.ts --seeds 1,2,3,4,5 --size small --keep /tmp/q
 *
 * Lines (`name figure unit baseline=<x> ratio=<y>`), over all seeds:
 *   detect-recall           attacks detected by their rule, right key, within 5 min; baseline 1
 *   detect-precision        findings about an attack while it ran / all findings; baseline 1
 *   detect-ttd-p50/-p95     event time from an attack's start to its finding; baseline = the
 *                           5-minute requirement (ratio < 1 is inside it)
 *   detect-false-alarming   high/critical findings on hard negatives or benign keys; baseline 0
 * Per-seed details (each attack, each false positive) go to stderr and bench/out/detect-quality.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadRules } from '../src/detect/load.js';
import { generateTraffic } from './traffic/generate.js';
import type { PopulationSize } from './traffic/population.js';
import { writeTraffic } from './traffic/render.js';
import { importKeys, replayDry } from './traffic/run.js';
import { DETECT_WITHIN_MS, describeScore, lookbackOf, percentile, type Score, scoreFindings } from './traffic/score.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '1,2,3' },
    size: { type: 'string', default: 'full' },
    rules: { type: 'string', default: 'rules/detections' },
    keep: { type: 'string' },
  },
});
const seeds = values.seeds.split(',').map(Number);
const size: PopulationSize = values.size === 'small' ? 'small' : 'full';
const pack = loadRules(values.rules).rules;
const packRules = pack.map((r) => r.id);
const lookback = lookbackOf(pack);

interface SeedResult {
  seed: number;
  lines: number;
  seconds: number;
  score: Score;
}

async function runSeed(seed: number): Promise<SeedResult> {
  const dir = values.keep ? join(values.keep, `seed-${seed}`) : mkdtempSync(join(tmpdir(), `tg-quality-${seed}-`));
  const pepper = `bench-quality-pepper-${seed}-0123456789`;
  try {
    const traffic = generateTraffic({ seed, pepper, size, packRules });
    const paths = await writeTraffic(dir, traffic);
    const home = join(dir, 'home');
    await importKeys(home, paths.keys, pepper);
    const started = Date.now();
    const run = await replayDry([paths.history, paths.week], home, pepper, values.rules);
    const seconds = (Date.now() - started) / 1000;
    if (values.keep) writeFileSync(join(dir, 'findings.ndjson'), run.findings.map((f) => JSON.stringify(f)).join('\n') + '\n');
    const score = scoreFindings(traffic.labels, run.findings, lookback);
    process.stderr.write(
      `seed ${seed}: ${run.summary.lines} lines in ${seconds.toFixed(1)} s, ${score.findings} findings, ` +
        `recall ${score.recall.toFixed(3)}, precision ${score.precision.toFixed(3)}, alarming false positives ${score.alarming}\n` +
        `${describeScore(score).join('\n')}\n`,
    );
    if (traffic.labels.uncovered.length) process.stderr.write(`  rules with no generated attack: ${traffic.labels.uncovered.join(', ')}\n`);
    return { seed, lines: run.summary.lines, seconds, score };
  } finally {
    if (!values.keep) rmSync(dir, { recursive: true, force: true });
  }
}

function line(name: string, figure: number, unit: string, baseline: number, digits = 3): void {
  const ratio = baseline === 0 ? (figure === 0 ? '1.00' : 'inf') : (figure / baseline).toFixed(2);
  console.log(`${name} ${figure.toFixed(digits)} ${unit} baseline=${baseline} ratio=${ratio}`);
}

const results: SeedResult[] = [];
for (const seed of seeds) results.push(await runSeed(seed));
const attacks = results.flatMap((r) => r.score.attacks);
const findings = results.reduce((s, r) => s + r.score.findings, 0);
const truePositives = results.reduce((s, r) => s + r.score.truePositives, 0);
const ttd = attacks.filter((a) => a.ttdMs !== null).map((a) => a.ttdMs! / 1000);
line('detect-recall', attacks.filter((a) => a.detected).length / attacks.length, 'ratio', 1);
line('detect-precision', findings ? truePositives / findings : 1, 'ratio', 1);
line('detect-ttd-p50', percentile(ttd, 50), 's', DETECT_WITHIN_MS / 1000, 0);
line('detect-ttd-p95', percentile(ttd, 95), 's', DETECT_WITHIN_MS / 1000, 0);
line('detect-false-alarming', results.reduce((s, r) => s + r.score.alarming, 0), 'findings', 0, 0);
const lines = results.reduce((s, r) => s + r.lines, 0);
const seconds = results.reduce((s, r) => s + r.seconds, 0);
process.stderr.write(`${seeds.length} seeds (${size}): ${attacks.length} attacks, ${findings} findings, ${lines} lines replayed at ${Math.round(lines / seconds)} lines/s\n`);
mkdirSync('bench/out', { recursive: true });
writeFileSync('bench/out/detect-quality.json', `${JSON.stringify({ size, seeds, results }, null, 2)}\n`);
