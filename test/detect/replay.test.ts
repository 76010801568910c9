import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTraffic, type Traffic } from '../../bench/traffic/generate.js';
import { writeTraffic } from '../../bench/traffic/render.js';
import { importKeys } from '../../bench/traffic/run.js';
import type { Event } from '../../src/core/event.js';
import type { Finding } from '../../src/core/finding.js';
import { createFingerprinter } from '../../src/core/fingerprint.js';
import { DetectStateStore } from '../../src/detect/state.js';
import { loadRulesOrThrow } from '../../src/detect/load.js';
import { REPLAY_NAMESPACE, runReplay, type ReplayRunOptions } from '../../src/detect/replay.js';
import { loadReplayKeys, type ReplayKeys } from '../../src/detect/replay-keys.js';
import { createEnricher } from '../../src/ingest/enrich/index.js';
import { openControlDb } from '../../src/store/control.js';

const PEPPER = 'test-replay-pepper-0123456789';
const RULES = loadRulesOrThrow('rules/detections');
/** Findings that need learned state: a fresh engine in its learning period cannot produce them. */
const LEARNED = new Set(['key-new-origin', 'off-hours-use', 'new-scope-use', 'read-volume-exfiltration']);

let dir: string;
let traffic: Traffic;
let files: { history: string; week: string; half: string };
let keys: ReplayKeys;
let enrich: (e: Event) => Event;
let uninterrupted: Finding[];

async function replay(paths: string[], extra: Partial<ReplayRunOptions> = {}): Promise<{ findings: Finding[]; summary: Awaited<ReturnType<typeof runReplay>> }> {
  const findings: Finding[] = [];
  const summary = await runReplay({
    files: paths.map((path) => ({ path, format: 'nginx-json' as const })),
    rules: RULES,
    keys: keys.lookup,
    enrich,
    fingerprint: createFingerprinter(PEPPER),
    onFindings: (f) => void findings.push(...f),
    ...extra,
  });
  return { findings, summary };
}

const ids = (fs: readonly Finding[]) => fs.map((f) => f.id).sort();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tg-replay-'));
  traffic = generateTraffic({ seed: 3, pepper: PEPPER, size: 'small' });
  const paths = await writeTraffic(dir, traffic);
  await importKeys(join(dir, 'home'), paths.keys, PEPPER);
  keys = loadReplayKeys(join(dir, 'home'), PEPPER);
  const enricher = await createEnricher({ keyLookup: keys.lookup });
  enrich = (e) => enricher.enrich(e);
  // The first half of the week, cut between two attacks.
  const starts = traffic.labels.attacks.map((a) => Date.parse(a.start)).sort((a, b) => a - b);
  const cut = (starts[5]! + starts[6]!) / 2;
  const week = gunzipSync(readFileSync(paths.week)).toString('utf8').trimEnd().split('\n');
  const half = join(dir, 'half.log');
  writeFileSync(half, `${week.filter((l) => (JSON.parse(l) as { msec: number }).msec * 1000 < cut).join('\n')}\n`);
  files = { history: paths.history, week: paths.week, half };
  uninterrupted = (await replay([files.history, files.week])).findings;
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('runReplay', () => {
  it('finds every injected attack of the generated week, each about its key', () => {
    for (const a of traffic.labels.attacks) {
      const hit = uninterrupted.find((f) => f.rule === a.rule && (a.key ? f.key === a.key || (a.fingerprint !== null && f.fingerprint === a.fingerprint) : f.group['source.network'] === a.group!['source.network']));
      expect(hit, `${a.rule} on ${a.key ?? JSON.stringify(a.group)}`).toBeDefined();
      expect(Date.parse(hit!.at) - Date.parse(a.start)).toBeLessThanOrEqual(5 * 60_000);
    }
  });

  it('after replaying half a file and stopping, replaying the whole file repeats no finding and keeps the baselines', async () => {
    const db = openControlDb(join(dir, 'state-a'));
    try {
      const first = await replay([files.history, files.half], { state: db });
      const stored = new DetectStateStore(db, REPLAY_NAMESPACE);
      expect(stored.maxEventTime()).toBeGreaterThan(Date.parse(traffic.labels.week.from));
      expect(stored.groupCount('key-new-origin')).toBeGreaterThan(0);
      const second = await replay([files.history, files.week], { state: db });
      expect(second.summary.already_processed).toBeGreaterThanOrEqual(first.summary.events - 10);
      // Nothing twice, nothing lost: the two runs together are the uninterrupted run.
      expect(ids(first.findings).filter((id) => ids(second.findings).includes(id))).toEqual([]);
      expect(ids([...first.findings, ...second.findings])).toEqual(ids(uninterrupted));
      // The second run's findings include ones only learned state allows.
      expect(second.findings.some((f) => LEARNED.has(f.rule))).toBe(true);
    } finally {
      db.close();
    }
  }, 120_000);

  it('stops on its signal after the lines already read, and a rerun completes without repeats', async () => {
    const db = openControlDb(join(dir, 'state-b'));
    try {
      const controller = new AbortController();
      const first: Finding[] = [];
      const stopped = await runReplay({
        files: [files.history, files.week].map((path) => ({ path, format: 'nginx-json' as const })),
        rules: RULES, keys: keys.lookup, enrich, state: db, signal: controller.signal,
        onFindings: (f) => {
          first.push(...f);
          controller.abort();
        },
      });
      expect(stopped.stopped).toBe(true);
      expect(stopped.lines).toBeLessThan(traffic.history.length + traffic.week.length);
      const rest = await replay([files.history, files.week], { state: db });
      expect(rest.summary.stopped).toBe(false);
      expect(ids([...first, ...rest.findings])).toEqual(ids(uninterrupted));
    } finally {
      db.close();
    }
  }, 120_000);

  it('counts malformed and hostile lines by reason, without echoing them, and keeps going', async () => {
    const good = gunzipSync(readFileSync(files.week)).toString('utf8').split('\n').slice(0, 500);
    const bad = ['{"ts":', 'not json at all access_token=abcdefghijklmnopqrstuvwxyz012345', `{"a":"${'x'.repeat(10_000)}"}`, 'x'.repeat(70_000)];
    const file = join(dir, 'mixed.log');
    writeFileSync(file, `${[...good.slice(0, 250), ...bad, ...good.slice(250)].join('\n')}\n`);
    const dead: string[] = [];
    const r = await replay([file], { deadLetter: { write: async (inputs) => void dead.push(...inputs.map((i) => i.reason)) } });
    expect(r.summary.events).toBe(500);
    expect(Object.values(r.summary.rejected).reduce((a, b) => a + b, 0)).toBe(4);
    expect(r.summary.rejected['line-too-long']).toBe(1);
    expect(dead.sort()).toEqual(Object.entries(r.summary.rejected).flatMap(([k, n]) => Array(n).fill(k)).sort());
    expect(JSON.stringify(r.summary)).not.toContain('abcdefghijklmnop');
  });

  it('joins Mastodon lines without waiting for itself when more than 20,000 wait for their proxy partner', async () => {
    // 30,000 Mastodon lines within 3 s of event time, none with a proxy line: all wait in the
    // joiner until the end. The pipeline must leave in-flight room for them.
    const t0 = Date.parse('2026-11-02T14:03:05Z');
    const mastodon = Array.from({ length: 30_000 }, (_, i) => {
      const at = new Date(t0 + Math.floor(i / 10)).toISOString().replace('Z', '000');
      return `I, [${at} #12]  INFO -- : [${i.toString(16).padStart(32, '0')}] method=GET path=/api/v1/timelines/home format=*/* controller=Api::V1::Timelines::HomeController action=show status=200 allocations=1 duration=8.00 view=1.00 db=2.00`;
    });
    const file = join(dir, 'production.log');
    writeFileSync(file, `${mastodon.join('\n')}\n`);
    const r = await runReplay({ files: [{ path: file, format: 'mastodon' }], rules: RULES, onFindings: () => undefined });
    expect(r.events).toBe(30_000);
  }, 60_000);

  it('fails with the error of its sink', async () => {
    const err = new Error('store down');
    const run = runReplay({
      files: [files.history, files.week].map((path) => ({ path, format: 'nginx-json' as const })),
      rules: RULES, keys: keys.lookup, enrich,
      onFindings: () => Promise.reject(err),
    });
    await expect(run).rejects.toBe(err);
  }, 60_000);
});

describe('loadReplayKeys', () => {
  it('reads ids, status, scopes and fingerprints of the imported keys', () => {
    const k = traffic.keys.find((x) => x.managed)!;
    expect(keys.count).toBe(traffic.keys.filter((x) => x.managed).length);
    expect(keys.lookup.byFingerprint(k.fp)).toMatchObject({ keyId: k.id, status: 'active', scopes: k.scopes });
    expect(keys.lookup.keyIdFor(k.fp)).toBe(k.id);
    expect(keys.lookup.byFingerprint('0'.repeat(32))).toBeUndefined();
  });

  it('refuses a pepper the fingerprints were not made with, and knows no key without one', () => {
    expect(() => loadReplayKeys(join(dir, 'home'), 'another-pepper-0123456789')).toThrow(expect.objectContaining({ code: 'KEY_FINGERPRINTS_STALE' }));
    expect(loadReplayKeys(join(dir, 'home'), null).count).toBe(0);
    expect(loadReplayKeys(join(dir, 'no-home'), PEPPER).count).toBe(0);
  });
});
