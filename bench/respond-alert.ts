/**
 * Responder latency: finding → policy match → safeguards → outbox (SQLite) → worker → Slack
 * webhook POST received by a local HTTP receiver, with both audit records (action and delivery)
 * appended to the hash chain and audit.log on the way. Findings arrive at a fixed rate, each
 * about a different key so no grouping folds them. Baseline: the same POST sent directly
 * (no policy, no outbox, no audit) at the same rate.
 *
 *   npx tsx bench/respond-alert.ts [--findings N] [--rate PER_SECOND]
 *
 * Prints: respond-alert-p99 <ms> ms baseline=<direct p99 ms> ratio=<r> (p50=<ms> n=<N>)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import type { Finding } from '../src/core/finding.js';
import { ACTIONS } from '../src/respond/actions/registry.js';
import { validatePolicies } from '../src/respond/policies.js';
import { createResponder } from '../src/respond/responder.js';

const { values } = parseArgs({ options: { findings: { type: 'string', default: '1000' }, rate: { type: 'string', default: '50' } } });
const N = Number(values.findings);
const gapMs = 1_000 / Number(values.rate);

const arrivals = new Map<string, number>();
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (c: Buffer) => (body += c.toString('utf8')));
  req.on('end', () => {
    const id = /f-bench-\d+/.exec(body)?.[0];
    if (id) arrivals.set(id, performance.now());
    res.end('ok');
  });
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/services/T/B/bench`;

function finding(i: number): Finding {
  return {
    id: `f-bench-${i}`, rule: 'write-spam', severity: 'high', key: `key-${i}`, fingerprint: `fp_${i}`, group: {},
    at: new Date().toISOString(), detected_at: new Date().toISOString(), summary: `key-${i} made 500 writes within 5m`,
    labels: {}, evidence: { explanation: 'bench', count: 500, threshold: 100 },
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function paced(send: (i: number) => Promise<void>): Promise<number[]> {
  arrivals.clear();
  const sent = new Map<string, number>();
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const due = t0 + i * gapMs;
    if (due > performance.now()) await sleep(due - performance.now());
    sent.set(`f-bench-${i}`, performance.now());
    await send(i);
  }
  while (arrivals.size < N) await sleep(5);
  return [...sent].map(([id, t]) => arrivals.get(id)! - t).sort((a, b) => a - b);
}

const home = mkdtempSync(join(tmpdir(), 'tuskguard-bench-respond-'));
try {
  const direct = await paced(async (i) => {
    void request(url, { method: 'POST', body: JSON.stringify({ text: finding(i).id }) }).then((r) => r.body.dump());
  });
  const responder = createResponder({
    home,
    policies: validatePolicies({ version: 1, policies: [{ id: 'alert', actions: [{ type: 'notify-slack' }] }] }, ACTIONS),
    keyInfo: { get: (id) => ({ id, scopes: ['write:statuses'], labels: {}, kind: 'app', owner: 'bench' }) },
    env: { TUSKGUARD_SLACK_WEBHOOK_URL: url },
  });
  responder.worker.start();
  const full = await paced(async (i) => void (await responder.dispatcher.dispatch(finding(i))));
  await responder.close();
  const p99 = percentile(full, 99);
  const base = percentile(direct, 99);
  console.log(`respond-alert-p99 ${p99.toFixed(1)} ms baseline=${base.toFixed(1)} ratio=${(p99 / base).toFixed(2)} (p50=${percentile(full, 50).toFixed(1)} n=${N})`);
} finally {
  server.close();
  rmSync(home, { recursive: true, force: true });
}
