import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { createLogger } from '../../../src/core/logger.js';
import { Metrics } from '../../../src/core/metrics.js';
import { openKeysDb } from '../../../src/keys/db.js';
import { KeyInventory } from '../../../src/keys/inventory.js';
import { loadLocalKek } from '../../../src/keys/kms.js';
import { inventoryFileSchema } from '../../../src/keys/schema.js';
import { Vault } from '../../../src/keys/vault.js';
import { startService, type Service } from '../../../src/main.js';
import { HttpReceiver } from '../../helpers/slack-receiver.js';
import { startMastodonSim, type MastodonSim } from '../../mastodon-sim/index.js';
import { until } from '../mastodon-bench.js';
import { buildScenario, createKeys, type Scenario } from './scenario.js';

/**
 * `serve` with detection and response: lines pushed over http-push are stored, detected on,
 * and responded to — the abused key is revoked on the simulator, the protected admin key is
 * held, and its approve link (served by tuskguard's API) revokes it once followed. The API's
 * request log never shows an approval token.
 */
const PUSH_TOKEN = 'serve-e2e-push-token-0123456789';

let dir: string;
let sim: MastodonSim;
let slack: HttpReceiver;
let scenario: Scenario;
let service: Service;
const logLines: string[] = [];

const revoked = (id: string) => sim.state.findToken(scenario.keys.find((k) => k.id === id)!.token)?.revokedAt != null;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tg-serve-respond-'));
  [sim, slack] = await Promise.all([startMastodonSim(), HttpReceiver.start()]);
  const pepper = `pepper-${randomBytes(16).toString('hex')}`;
  const env: NodeJS.ProcessEnv = {
    TUSKGUARD_PEPPER: pepper, TUSKGUARD_MASTER_KEY: randomBytes(32).toString('hex'), TUSKGUARD_APPROVAL_SECRET: randomBytes(24).toString('hex'),
    TUSKGUARD_AUDIT_KEY: 'serve-e2e-audit-key', TUSKGUARD_PUBLIC_URL: 'https://tuskguard.example.org', TUSKGUARD_SLACK_WEBHOOK_URL: slack.url(), E2E_PUSH_TOKEN: PUSH_TOKEN,
  };
  scenario = buildScenario(sim, await createKeys(sim, 1), pepper);
  const home = join(dir, 'home');
  const db = openKeysDb(home);
  try {
    await new KeyInventory(db).upsertMany(await Vault.open(db, loadLocalKek(env)!), pepper, inventoryFileSchema.parse(scenario.inventory).keys);
  } finally {
    db.close();
  }
  writeFileSync(join(dir, 'tuskguard.yaml'), [
    `home: ${home}`,
    'api: { port: 0 }',
    'sources:',
    '  - { type: http-push, id: push, format: nginx-json, path: /push, token_env: E2E_PUSH_TOKEN }',
  ].join('\n'));
  const logger = createLogger({ level: 'info', destination: new Writable({ write: (c: Buffer, _e, done) => (logLines.push(c.toString('utf8')), done()) }) });
  service = await startService({ loaded: loadConfig(join(dir, 'tuskguard.yaml')), logger, metrics: new Metrics(), env });
}, 60_000);

afterAll(async () => {
  await service?.close();
  await Promise.all([sim?.close(), slack?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

describe('serve: detection → response', () => {
  it('revokes the abused key from pushed lines, holds the admin key, and its approve link revokes it', async () => {
    const push = await fetch(`${service.url}/push`, { method: 'POST', body: `${scenario.lines.join('\n')}\n`, headers: { authorization: `Bearer ${PUSH_TOKEN}` } });
    expect(push.status).toBe(200);
    await until(() => revoked('bot-1'), 15_000);
    expect(revoked('instance-admin')).toBe(false);
    expect(revoked('feed-reader')).toBe(false);
    expect((await service.store.searchFindings({})).map((f) => `${f.rule}:${f.key}`).sort()).toEqual(['admin-mass-action:instance-admin', 'scope-probing:bot-1']);

    await until(() => slack.requests.some((r) => r.raw.includes('/approvals/v1.')), 10_000);
    const body = slack.requests.map((r) => r.raw).find((b) => b.includes('/approvals/v1.'))!;
    const link = /https:\/\/tuskguard\.example\.org(\/approvals\/v1\.[^"]+?\.approve\.[^"]+)"/.exec(body)![1]!;
    const view = await fetch(`${service.url}${link}`, { headers: { accept: 'application/json' } });
    expect(view.status).toBe(200);
    expect(await view.json()).toMatchObject({ action: 'revoke', target: 'instance-admin', decision: 'approve' });
    expect(revoked('instance-admin')).toBe(false); // looking is not deciding
    const decided = await fetch(`${service.url}${link}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ by: 'alice' }) });
    expect(decided.status).toBe(200);
    await until(() => revoked('instance-admin'), 10_000);

    const token = link.split('/').pop()!;
    const logs = logLines.join('');
    expect(logs).toContain('/approvals/[REDACTED]');
    expect(logs).not.toContain(token);
  }, 60_000);
});
