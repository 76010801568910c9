import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/api/app.js';
import { type SourceConfig, sourceSchema } from '../../../src/config/schema.js';
import { silentLogger } from '../../../src/core/logger.js';
import { Metrics } from '../../../src/core/metrics.js';
import { CheckpointStore } from '../../../src/ingest/checkpoints.js';
import { DeadLetter } from '../../../src/ingest/dead-letter.js';
import { Pipeline } from '../../../src/ingest/pipeline.js';
import { type BuiltSource, SOURCES, buildSource } from '../../../src/ingest/sources/registry.js';
import { openControlDb } from '../../../src/store/control.js';
import { MemoryStore, line, testParser } from '../../helpers/ingest-doubles.js';

/**
 * The shared source compliance test (after Vector's): every configurable source counts the
 * lines it delivers under its own id, delivers good and bad lines alike (bad ones end in the
 * dead-letter, counted), and honours shutdown: stop() resolves promptly and `running` turns false.
 */
const TOKEN = 'compliance-token-0123456789';

/** How to feed three lines (two good, one bad) into a running source of each type. */
const FEEDERS: Record<keyof typeof SOURCES, { config: (dir: string) => Record<string, unknown>; feed: (built: BuiltSource, dir: string, app: Awaited<ReturnType<typeof buildApp>>) => Promise<void> }> = {
  'file-tail': {
    config: (dir) => ({ type: 'file-tail', paths: [join(dir, 'in.log')], poll_interval: '20ms' }),
    feed: async (_b, dir) => writeFileSync(join(dir, 'in.log'), `${line(1)}\nbad line\n${line(2)}\n`),
  },
  'http-push': {
    config: () => ({ type: 'http-push', token_env: 'COMPLIANCE_TOKEN' }),
    feed: async (_b, _dir, app) => {
      const res = await app.inject({ method: 'POST', url: '/ingest', payload: `${line(1)}\nbad line\n${line(2)}\n`, headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.statusCode).toBe(200);
    },
  },
};

describe.each(Object.keys(SOURCES) as Array<keyof typeof SOURCES>)('source %s compliance', (type) => {
  it('counts its lines under its id, dead-letters the bad one, and stops promptly', async () => {
    const dir = mkdtempSync(join(tmpdir(), `tg-comp-${type}-`));
    const metrics = new Metrics();
    const store = new MemoryStore();
    const deadLetter = new DeadLetter({ home: dir, metrics });
    const pipeline = new Pipeline({ store, deadLetter, metrics, logger: silentLogger, getParser: () => testParser(), time: 'wall', flushIntervalMs: 5 });
    const db = openControlDb(dir);
    const config: SourceConfig = sourceSchema.parse({ id: `c-${type}`, format: 'nginx-json', ...FEEDERS[type].config(dir) });
    const built = buildSource(config, { checkpoints: new CheckpointStore(db), deadLetter, pipeline, logger: silentLogger, metrics, env: { COMPLIANCE_TOKEN: TOKEN } });
    const app = await buildApp({ metrics, health: async () => ({ ok: true, store: { kind: 'sqlite', reachable: true }, sources: [], in_flight_lines: 0 }), pushSources: built.push ? [built.push] : [] });
    await built.source.start(pipeline);
    expect(built.source.running).toBe(true);
    await FEEDERS[type].feed(built, dir, app);
    for (let i = 0; i < 100 && store.events.size < 2; i++) await new Promise((r) => setTimeout(r, 20));
    expect(store.events.size).toBe(2);
    expect(await metrics.value('tuskguard_lines_total', { source: `c-${type}`, outcome: 'parsed' })).toBe(2);
    expect(await metrics.value('tuskguard_lines_total', { source: `c-${type}`, outcome: 'rejected' })).toBe(1);
    expect(await metrics.value('tuskguard_dead_letters_total', { reason: 'invalid-json' })).toBe(1);
    const t0 = Date.now();
    await Promise.all([built.source.stop(), pipeline.stop()]);
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(built.source.running).toBe(false);
    await app.close();
    db.close();
  });
});
