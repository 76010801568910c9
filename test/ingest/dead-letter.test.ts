import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { Metrics } from '../../src/core/metrics.js';
import { DeadLetter, toRecord } from '../../src/ingest/dead-letter.js';

const TOKEN = 'ZA9xq3LmP0-token-that-must-never-appear_77';

describe('DeadLetter', () => {
  it('appends one NDJSON record per line to the file of the UTC day, and counts by reason', async () => {
    const home = mkdtempSync(join(tmpdir(), 'tg-dl-'));
    const metrics = new Metrics();
    const clock = new ManualClock(Date.parse('2026-11-02T23:59:59Z'));
    const dl = new DeadLetter({ home, metrics, clock });
    await dl.write([{ source: 's', origin: 'file:/a', position: 10, reason: 'invalid-json', message: 'bad', line: 'x' }]);
    clock.advance(2_000);
    await dl.write([
      { source: 's', origin: 'file:/a', position: 20, reason: 'invalid-json', message: 'bad', line: 'y' },
      { source: 's', origin: 'file:/a', reason: 'line-too-long', message: 'long', line: 'z' },
    ]);
    const day1 = readFileSync(join(home, 'dead-letter', '2026-11-02.ndjson'), 'utf8').trim().split('\n');
    const day2 = readFileSync(join(home, 'dead-letter', '2026-11-03.ndjson'), 'utf8').trim().split('\n');
    expect(day1.map((l) => JSON.parse(l))).toEqual([
      { at: '2026-11-02T23:59:59.000Z', source: 's', origin: 'file:/a', position: 10, reason: 'invalid-json', message: 'bad', line: 'x' },
    ]);
    expect(day2.map((l) => JSON.parse(l).position)).toEqual([20, null]);
    expect(dl.count).toBe(3);
    expect(await metrics.value('tuskguard_dead_letters_total', { reason: 'invalid-json' })).toBe(2);
    expect(statSync(join(home, 'dead-letter', '2026-11-02.ndjson')).mode & 0o777).toBe(0o600);
  });

  it.each([
    ['a query token', `GET /api/v1/streaming?access_token=${TOKEN}&stream=user`],
    ['a bearer header', `Authorization: Bearer ${TOKEN}`],
    ['a JSON token field', `{"token":"${TOKEN}","n":1}`],
  ])('never keeps a raw token (%s), in text or in base64', (_name, text) => {
    const asText = toRecord({ source: 's', origin: 'o', reason: 'r', message: `near ${text}`, line: text }, new Date(0));
    const invalid = Buffer.concat([Buffer.from(text, 'latin1'), Buffer.from([0xff])]);
    const asBytes = toRecord({ source: 's', origin: 'o', reason: 'r', message: 'm', line: invalid }, new Date(0));
    expect(JSON.stringify(asText)).not.toContain(TOKEN);
    expect(asText.line).toContain('[REDACTED]');
    const decoded = Buffer.from(asBytes.line_b64!, 'base64');
    expect(decoded.toString('latin1')).not.toContain(TOKEN);
    expect(decoded.at(-1)).toBe(0xff); // the other bytes are kept exactly
  });

  it('keeps concurrent writers from interleaving', async () => {
    const home = mkdtempSync(join(tmpdir(), 'tg-dl-'));
    const dl = new DeadLetter({ home, metrics: new Metrics() });
    const big = 'q'.repeat(200_000);
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => dl.write([{ source: 's', origin: 'o', reason: 'r', message: String(i), line: big }])),
    );
    const lines = readFileSync(dl.pathFor(), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(10);
    for (const l of lines) expect(JSON.parse(l).line).toBe(big);
  });
});
