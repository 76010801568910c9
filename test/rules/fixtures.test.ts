import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { Finding } from '../../src/core/finding.js';
import { DetectionEngine } from '../../src/detect/engine.js';
import { type ReadStats, readEvents } from '../../src/detect/input.js';
import { parseKeyInventory } from '../../src/detect/keys.js';
import { loadRuleFile, loadRulesOrThrow } from '../../src/detect/load.js';
import type { Rule } from '../../src/detect/types.js';
import { allFixtures, fixtureFiles } from './_fixtures/generate.js';

/**
 * The rule pack's fixtures: for each rule, test/rules/<rule>/input.log(.gz) (nginx-json lines,
 * run through the real parser and enrichment) must yield exactly the findings in expect.json;
 * test/rules/_hard-negatives/* must yield no finding from any rule.
 */
const ROOT = fileURLToPath(new URL('./', import.meta.url));
const RULES_DIR = fileURLToPath(new URL('../../rules/detections/', import.meta.url));

interface Expected {
  rule: string;
  findings: Array<{ rule: string; key: string | null; fingerprint: string | null; severity: string; at: string; group?: Record<string, string> }>;
  quiet: string[];
}

function inputOf(dir: string): string {
  const plain = join(dir, 'input.log');
  return existsSync(plain) ? plain : join(dir, 'input.log.gz');
}

async function run(dir: string, rules: Rule[]): Promise<{ findings: Finding[]; stats: ReadStats }> {
  const keysFile = join(dir, 'keys.json');
  const keys = existsSync(keysFile) ? parseKeyInventory(readFileSync(keysFile, 'utf8')) : undefined;
  const engine = new DetectionEngine({ rules, keys });
  const stats: ReadStats = { lines: 0, events: 0, rejected: {} };
  const findings: Finding[] = [];
  for await (const e of readEvents(inputOf(dir), { format: 'nginx-json', keys }, stats)) findings.push(...engine.process(e));
  findings.push(...engine.flush());
  return { findings, stats };
}

function project(f: Finding) {
  const base = { rule: f.rule, key: f.key, fingerprint: f.fingerprint, severity: f.severity, at: f.at };
  return f.fingerprint ? base : { ...base, group: f.group };
}

const ruleDirs = readdirSync(ROOT).filter((d) => !d.startsWith('_') && statSync(join(ROOT, d)).isDirectory());
const ruleIds = readdirSync(RULES_DIR).filter((f) => f.endsWith('.yaml')).map((f) => f.replace(/\.yaml$/, ''));

describe('rule pack fixtures', () => {
  it('every rule has a fixture directory and every fixture a rule', () => {
    expect(ruleDirs.sort()).toEqual(ruleIds.sort());
  });

  it.each(ruleDirs)('%s: yields exactly the expected findings', async (id) => {
    const loaded = loadRuleFile(join(RULES_DIR, `${id}.yaml`));
    expect(loaded.issues).toEqual([]);
    const expected = JSON.parse(readFileSync(join(ROOT, id, 'expect.json'), 'utf8')) as Expected;
    const { findings, stats } = await run(join(ROOT, id), loaded.rules);
    expect(stats.rejected).toEqual({});
    expect(findings.map(project)).toEqual(expected.findings);
    for (const f of findings) {
      expect(f.summary.length).toBeGreaterThan(20);
      expect(f.summary).not.toMatch(/\{[a-z_]+\}/);
      expect(f.evidence.why).toBeTruthy();
      expect(f.evidence.sample_event_ids?.length).toBeGreaterThan(0);
    }
  });
});

describe('hard negatives', () => {
  const variants = readdirSync(join(ROOT, '_hard-negatives'));

  it.each(variants)('%s: no rule of the pack fires', async (variant) => {
    const { findings, stats } = await run(join(ROOT, '_hard-negatives', variant), loadRulesOrThrow(RULES_DIR));
    expect(stats.events).toBeGreaterThan(5_000);
    expect(findings.map((f) => `${f.rule} ${f.key} ${f.at}: ${f.summary}`)).toEqual([]);
  });
});

describe('fixture inputs', () => {
  it('are exactly what test/rules/_fixtures/generate.ts writes (regenerate after editing a scenario)', () => {
    for (const [dir, scenario] of allFixtures()) {
      for (const [file, content] of Object.entries(fixtureFiles(dir, scenario))) {
        const committed = readFileSync(join(ROOT, dir, file));
        const text = (b: Buffer) => (file.endsWith('.gz') ? gunzipSync(b) : b).toString('utf8');
        expect(text(committed) === text(content), `${dir}/${file} differs from the generator`).toBe(true);
      }
    }
  });
});

describe('hard negatives are not quiet by accident', () => {
  it('the same population with attacks injected on 28 Oct makes the pack fire on the right keys', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { population } = await import('./_fixtures/population.js');
    const { at, every, render, UA, ROUTE } = await import('./_fixtures/lib.js');
    const base = population('server-move');
    const reqs = [
      ...base.reqs,
      // office-reader: a read every second for 10 minutes at 10:00.
      ...every(at('2026-10-28T10:00:00Z'), at('2026-10-28T10:10:00Z'), 1_000, (t, k) => ({ t, key: 'office-reader', ip: '203.0.113.57', ua: UA.feed, uri: ROUTE.accountStatuses(k) })),
      // poster-bot's token used from a new network with curl.
      { t: at('2026-10-28T12:00:00Z'), key: 'poster-bot', ip: '198.51.100.5', ua: UA.curl, uri: ROUTE.home },
      // phone-app (used 08-23) at 03:00, six times, from its usual network and client.
      ...every(at('2026-10-28T03:00:00Z'), at('2026-10-28T03:12:00Z'), 2 * 60_000, (t) => ({ t, key: 'phone-app', ip: '192.0.2.27', ua: UA.ivory, uri: ROUTE.home })),
    ];
    const dir = mkdtempSync(join(tmpdir(), 'tg-armed-'));
    writeFileSync(join(dir, 'input.log'), render('armed', reqs));
    writeFileSync(join(dir, 'keys.json'), JSON.stringify(base.keys));
    const { findings } = await run(dir, loadRulesOrThrow(RULES_DIR));
    const fired = new Set(findings.map((f) => `${f.rule} ${f.key}`));
    // The poster-bot's token read its home timeline: a new origin and, for a key that only
    // ever wrote, a new scope (read:statuses).
    expect([...fired].sort()).toEqual(
      ['read-volume-exfiltration office-reader', 'key-new-origin poster-bot', 'new-scope-use poster-bot', 'off-hours-use phone-app'].sort(),
    );
  });
});
