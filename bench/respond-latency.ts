/**
 * Response latency (issue 5 §7): from the log line that triggers a finding to the revoke call
 * reaching Mastodon (the simulator receives POST /oauth/revoke) and to the confirmed 401
 * (the responder appends the `key.revoke` record holding the 401 verification), p50 and p99,
 * while 5,000 lines/s stream through. Target: under 1 s at p99 for the call.
 *
 *   npx tsx bench/respond-latency.ts                       (30 s at 5,000 lines/s, 1 attack/s)
 *   npx tsx bench/respond-latency.ts --seconds 60 --rate 5000 --attacks-per-second 2
 *
 * In one process, wired as `serve` wires them (createIngestCore + startLiveResponse): the
 * ingest pipeline (parse, enrich, batched writes to the embedded SQLite store), the detection
 * engine with the shipped rule pack (state in the control DB), the responder (policy → budget →
 * outbox → key revocation service → vault → Mastodon client), and the Mastodon simulator on a
 * local port. A worker thread writes the lines (as nginx would, outside tuskguard's thread) in
 * 20 ms slices and hands each slice to the pipeline as a push source would: benign reads of
 * 500 managed keys, each from its own address; every 1/attacks-per-second one more managed app
 * key (a real simulator token) is refused on five admin endpoints, one per slice, and the fifth
 * refusal is the trigger (scope-probing, high → revoke). The trigger's time is taken in the
 * worker when its slice is handed over (both threads use performance.timeOrigin + now()).
 * The first 3 s are warm-up.
 *
 * Prints four lines: respond-revoke-call-p50/p99 (baseline=1000, the requirement) and
 * respond-revoke-confirmed-p50/p99 (baseline: a direct MastodonClient.revoke — revoke plus
 * the token/info check — on fresh tokens, in the same process); details on stderr.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { validateConfig } from '../src/config/load.js';
import { fingerprint } from '../src/core/fingerprint.js';
import { silentLogger } from '../src/core/logger.js';
import { Metrics } from '../src/core/metrics.js';
import type { SourceLine } from '../src/ingest/types.js';
import { openKeysDb } from '../src/keys/db.js';
import { KeyInventory } from '../src/keys/inventory.js';
import { loadLocalKek } from '../src/keys/kms.js';
import { inventoryFileSchema } from '../src/keys/schema.js';
import { Vault } from '../src/keys/vault.js';
import { createIngestCore } from '../src/main.js';
import { MastodonClient } from '../src/mastodon/client.js';
import type { AuditLog } from '../src/respond/audit.js';
import { startLiveResponse } from '../src/respond/live.js';
import { openControlDb } from '../src/store/control.js';
import { startMastodonSim, type MastodonSim } from '../test/mastodon-sim/index.js';
import { PROBED_ROUTES } from '../test/respond/e2e/scenario.js';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '30' }, rate: { type: 'string', default: '5000' }, 'attacks-per-second': { type: 'string', default: '1' } },
});
const SECONDS = Math.min(60, Number(values.seconds));
const RATE = Number(values.rate);
const ATTACK_EVERY_MS = 1000 / Number(values['attacks-per-second']);
const SLICE_MS = 20;
const WARMUP_MS = 3_000;
const BENIGN = 500;
const now = () => performance.timeOrigin + performance.now();

interface Attacker { n: number; id: string; token: string; fp: string; clientId: string; secret: string }

function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? Number.NaN;
}

async function attackers(sim: MastodonSim, n: number, pepper: string): Promise<Attacker[]> {
  const client = new MastodonClient({ timeoutMs: 5_000 });
  const out: Attacker[] = [];
  for (let i = 0; i < n; i++) {
    const app = sim.createApp({ name: `bench-${i}`, redirectUris: ['urn:ietf:wg:oauth:2.0:oob'], scopes: 'read write:statuses' });
    const { accessToken } = await client.mintAppToken({ instance: sim.url, clientId: app.uid, clientSecret: app.secret, scopes: ['read', 'write:statuses'] });
    out.push({ n: i, id: `attacked-${i}`, token: accessToken, fp: fingerprint(pepper, accessToken), clientId: app.uid, secret: app.secret });
  }
  return out;
}

async function importKeys(home: string, env: NodeJS.ProcessEnv, sim: MastodonSim, attacked: Attacker[], benign: string[]): Promise<void> {
  const item = (id: string, token: string, clientId: string, secret: string) => ({ id, instance: sim.url, kind: 'app', scopes: ['read', 'write:statuses'], owner: 'bench', purpose: 'bench', token, client_id: clientId, client_secret: secret });
  const keys = [...attacked.map((a) => item(a.id, a.token, a.clientId, a.secret)), ...benign.map((t, i) => item(`benign-${i}`, t, randomBytes(20).toString('hex'), randomBytes(20).toString('hex')))];
  const db = openKeysDb(home);
  try {
    await new KeyInventory(db).upsertMany(await Vault.open(db, loadLocalKek(env)!), env.TUSKGUARD_PEPPER!, inventoryFileSchema.parse({ keys }).keys);
  } finally {
    db.close();
  }
}

/**
 * Note, per key, when the dispatcher queued its revocation (`revoke` record: detection and the
 * policy are done) and when the responder recorded the 401 Mastodon confirmed (`key.revoke`).
 */
function observeAudit(audit: AuditLog, decided: Map<string, number>, confirmed: Map<string, number>): void {
  const append = audit.append.bind(audit);
  audit.append = (entry) => {
    const t = now();
    const key = entry.target ?? '';
    if (entry.action === 'revoke' && entry.result === 'queued' && !decided.has(key)) decided.set(key, t);
    if (entry.action === 'key.revoke' && entry.result === 'done' && !confirmed.has(key)) confirmed.set(key, t);
    return append(entry);
  };
}

/** The line writer, as a worker's source (plain JS): one message per slice, `{ batch, trigger, at }`, then `{ done }`. */
const WRITER = String.raw`
const { workerData: w, parentPort } = require('node:worker_threads');
const now = () => performance.timeOrigin + performance.now();
let rid = 0;
const line = (at, ip, method, uri, status, ua, fp) => JSON.stringify({
  ts: new Date(at).toISOString().replace('Z', '+00:00'), msec: at / 1000, ip, xff: '', rid: (++rid).toString(16).padStart(32, '0'),
  host: 'social.example', method, uri, status, bytes: 512, rt: 0.02, ua, fp });
const t0 = now();
const active = [];
let lines = 0, next = 0, slice = 0;
function tick() {
  const elapsed = now() - t0;
  if (elapsed >= w.seconds * 1000) return parentPort.postMessage({ done: lines });
  const at = Date.now();
  const batch = [];
  let trigger = null;
  while (next < w.attackers.length && elapsed >= next * w.attackEveryMs) active.push({ i: next++, step: 0 });
  for (const x of active) {
    if (x.step >= w.routes.length - 1) continue;
    batch.push(line(at, '198.18.' + (x.i >> 8) + '.' + (x.i & 255), 'GET', w.routes[x.step], 403, 'curl/8.5', w.attackers[x.i]));
    if (++x.step === 5) trigger = x.i;
  }
  const due = Math.round((w.rate * elapsed) / 1000) - lines;
  for (let i = batch.length; i < due; i++) {
    const k = (slice * 97 + i) % w.benign.length;
    batch.push(line(at, '10.' + (k >> 8) + '.' + (k & 255) + '.7', 'GET', '/api/v1/timelines/home?limit=40', 200, 'Tusky/25.2', w.benign[k]));
  }
  lines += batch.length;
  parentPort.postMessage({ batch, trigger, at: now() });
  slice++;
  setTimeout(tick, Math.max(0, t0 + slice * w.sliceMs - now()));
}
tick();
`;

/** Run the writer for SECONDS, pushing its slices in order; returns trigger times per attacked key and the line count. */
async function stream(push: (lines: SourceLine[]) => Promise<void>, attacked: Attacker[], benignFps: string[]): Promise<{ triggers: Map<string, number>; lines: number }> {
  const triggers = new Map<string, number>();
  const workerData = { seconds: SECONDS, rate: RATE, sliceMs: SLICE_MS, attackEveryMs: ATTACK_EVERY_MS, routes: PROBED_ROUTES, attackers: attacked.map((a) => a.fp), benign: benignFps };
  const worker = new Worker(WRITER, { eval: true, workerData });
  let chain = Promise.resolve();
  const lines = await new Promise<number>((resolve, reject) => {
    worker.on('message', (m: { batch?: string[]; trigger?: number | null; at?: number; done?: number }) => {
      if (m.done !== undefined) return resolve(m.done);
      if (typeof m.trigger === 'number') triggers.set(attacked[m.trigger]!.id, m.at!);
      const batch = m.batch!.map((text) => ({ text }));
      // In order; and yield after each push as a source does between reads (I/O), so timers run.
      chain = chain.then(() => push(batch)).then(() => new Promise((r) => setImmediate(r)));
    });
    worker.on('error', reject);
  });
  await chain;
  await worker.terminate();
  return { triggers, lines };
}

/** Direct revoke + confirmation with MastodonClient on fresh tokens: the cost of Mastodon itself. */
async function baseline(sim: MastodonSim, pepper: string, n: number): Promise<{ call: number[]; confirmed: number[] }> {
  const keys = await attackers(sim, n, pepper);
  const client = new MastodonClient({ timeoutMs: 5_000 });
  const call: number[] = [];
  const confirmed: number[] = [];
  for (const k of keys) {
    const start = now();
    const seen = onRevoke(sim, k.token);
    await client.revoke({ instance: sim.url, clientId: k.clientId, clientSecret: k.secret, token: k.token });
    confirmed.push(now() - start);
    call.push((await seen) - start);
  }
  return { call, confirmed };
}

const revokeWatchers = new Map<string, (t: number) => void>();
function onRevoke(sim: MastodonSim, token: string): Promise<number> {
  return new Promise((resolve) => revokeWatchers.set(token, resolve));
}

function watchRevocations(sim: MastodonSim, byToken: Map<string, string>, called: Map<string, number>): void {
  const original = sim.state.revokeToken.bind(sim.state);
  sim.state.revokeToken = (token) => {
    const t = now();
    const id = byToken.get(token.token);
    if (id && !called.has(id)) called.set(id, t);
    revokeWatchers.get(token.token)?.(t);
    original(token);
  };
}

async function main(): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'tg-bench-respond-'));
  const pepper = `bench-pepper-${randomBytes(8).toString('hex')}`;
  const policies = join(home, 'policies.yaml');
  writeFileSync(policies, JSON.stringify({ version: 1, safeguards: { revocation_budget: { max: 100_000, window: '1h' } }, policies: [{ id: 'revoke-high', match: { severity: 'high', managed_key: true }, actions: [{ type: 'revoke' }] }] }));
  const env: NodeJS.ProcessEnv = { TUSKGUARD_PEPPER: pepper, TUSKGUARD_MASTER_KEY: randomBytes(32).toString('hex'), TUSKGUARD_POLICIES: policies, TUSKGUARD_AUDIT_KEY: 'bench-audit-key' };
  const sim = await startMastodonSim({ throttles: { 'throttle_oauth_application_registrations/ip': { limit: 100_000, periodSeconds: 600 } } });
  const attacked = await attackers(sim, Math.ceil((SECONDS * 1000) / ATTACK_EVERY_MS) + 1, pepper);
  const benign = Array.from({ length: BENIGN }, () => randomBytes(32).toString('base64url'));
  await importKeys(home, env, sim, attacked, benign);
  const confirmed = new Map<string, number>();
  const called = new Map<string, number>();
  watchRevocations(sim, new Map(attacked.map((a) => [a.token, a.id])), called);
  const base = await baseline(sim, pepper, 50);

  const metrics = new Metrics();
  const loaded = { config: validateConfig({ home }), home, file: null };
  const core = await createIngestCore({ loaded, logger: silentLogger, metrics, env, time: 'wall', join: false });
  const control = openControlDb(home);
  const live = await startLiveResponse({ loaded, logger: silentLogger, metrics, store: core.store, pipeline: core.pipeline, control, lifecycle: null, env });
  const decided = new Map<string, number>();
  observeAudit(live.response.responder.audit, decided, confirmed);
  const push = (lines: SourceLine[]) => core.pipeline.push({ sourceId: 'bench', format: 'nginx-json', origin: 'bench', lines });
  const run = await stream(push, attacked, benign.map((t) => fingerprint(pepper, t)));
  const deadline = now() + 10_000;
  while (confirmed.size < run.triggers.size && now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await core.pipeline.stop();
  await live.close();
  await core.store.close();
  control.close();
  await sim.close();
  rmSync(home, { recursive: true, force: true });
  report(run, { decided, called, confirmed }, base);
}

function report(run: { triggers: Map<string, number>; lines: number }, at: Record<'decided' | 'called' | 'confirmed', Map<string, number>>, base: { call: number[]; confirmed: number[] }): void {
  const t0 = Math.min(...run.triggers.values());
  const timed = [...run.triggers].filter(([, t]) => t - t0 >= WARMUP_MS);
  const lat = (m: Map<string, number>, from?: Map<string, number>) => timed.flatMap(([id, t]) => (m.has(id) && (!from || from.has(id)) ? [m.get(id)! - (from ? from.get(id)! : t)] : []));
  const call = lat(at.called);
  const conf = lat(at.confirmed);
  const line = (name: string, v: number, b: number) => console.log(`${name} ${v.toFixed(1)} ms baseline=${b.toFixed(1)} ratio=${(v / b).toFixed(2)}`);
  line('respond-revoke-call-p50', percentile(call, 50), 1000);
  line('respond-revoke-call-p99', percentile(call, 99), 1000);
  line('respond-revoke-confirmed-p50', percentile(conf, 50), percentile(base.confirmed, 50));
  line('respond-revoke-confirmed-p99', percentile(conf, 99), percentile(base.confirmed, 99));
  const split = (xs: number[]) => `p50 ${percentile(xs, 50).toFixed(0)} / p99 ${percentile(xs, 99).toFixed(0)} ms`;
  process.stderr.write(
    `${run.lines} lines in ${SECONDS} s (${Math.round(run.lines / SECONDS)} lines/s), ${timed.length} attacks timed, ${timed.length - call.length} never called, ${timed.length - conf.length} never confirmed\n` +
      `  line → revocation queued (ingest + detection + policy): ${split(lat(at.decided))}; queued → revoke call (outbox + vault + client): ${split(lat(at.called, at.decided))}\n` +
      `  direct revoke call p99 ${percentile(base.call, 99).toFixed(1)} ms; load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}\n`,
  );
}

await main();
