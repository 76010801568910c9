import { randomBytes } from 'node:crypto';
import { fingerprint } from '../../../src/core/fingerprint.js';
import { MastodonClient } from '../../../src/mastodon/client.js';
import type { MastodonSim } from '../../mastodon-sim/index.js';

/**
 * An attack on a small instance, as nginx-json access-log lines (formats/LOG-FORMAT.md) whose
 * `fp` is the keyed fingerprint of real simulator tokens:
 *
 * - `instance-admin` (a user key of the instance Owner with admin:read admin:write: protected)
 *   makes 16 successful admin account actions within two minutes → admin-mass-action, critical;
 * - `bot-1` … `bot-N` (app keys with read write:statuses) each probe six admin endpoints and
 *   are refused with 403 → scope-probing, high; one after another, three minutes apart;
 * - `feed-reader` reads its home timeline once a minute throughout (nothing must happen to it).
 */
export interface ScenarioKey {
  id: string;
  token: string;
  clientId: string;
  clientSecret: string;
  kind: 'app' | 'user';
  scopes: string[];
}

export interface Scenario {
  keys: ScenarioKey[];
  /** The inventory file for `tuskguard keys import`. */
  inventory: { keys: Array<Record<string, unknown>> };
  lines: string[];
  /** Index in `lines` of the line at which each key's attack is detected. */
  triggers: Map<string, number>;
}

export const PROBED_ROUTES = [
  '/api/v1/admin/accounts',
  '/api/v1/admin/reports',
  '/api/v1/admin/ip_blocks',
  '/api/v1/admin/domain_blocks',
  '/api/v1/admin/canonical_email_blocks',
  '/api/v1/admin/email_domain_blocks',
];

const T0 = Date.parse('2026-11-02T10:00:00Z');
export function nginxLine(at: number, o: { ip: string; method: string; uri: string; status: number; ua: string; fp: string }): string {
  return JSON.stringify({
    ts: new Date(at).toISOString().replace('Z', '+00:00'), msec: at / 1000, ip: o.ip, xff: '', rid: randomBytes(16).toString('hex'),
    host: 'social.example', method: o.method, uri: o.uri, status: o.status, bytes: 512, rt: 0.02, ua: o.ua, fp: o.fp,
  });
}

/** Simulator apps and tokens for the scenario's keys (`bots` abused app keys). */
export async function createKeys(sim: MastodonSim, bots: number): Promise<ScenarioKey[]> {
  const owner = sim.createUser({ username: `owner-${randomBytes(3).toString('hex')}`, role: 'Owner' });
  const client = new MastodonClient({ timeoutMs: 5_000 });
  const adminApp = sim.createApp({ name: 'moderation-tool', redirectUris: ['urn:ietf:wg:oauth:2.0:oob'], scopes: 'admin:read admin:write' });
  const admin = sim.issueUserToken(adminApp, owner, ['admin:read', 'admin:write']);
  const keys: ScenarioKey[] = [{ id: 'instance-admin', token: admin.token, clientId: adminApp.uid, clientSecret: adminApp.secret, kind: 'user', scopes: ['admin:read', 'admin:write'] }];
  const appKey = async (id: string, scopes: string[]) => {
    const app = sim.createApp({ name: id, redirectUris: ['urn:ietf:wg:oauth:2.0:oob'], scopes: scopes.join(' ') });
    const t = await client.mintAppToken({ instance: sim.url, clientId: app.uid, clientSecret: app.secret, scopes });
    keys.push({ id, token: t.accessToken, clientId: app.uid, clientSecret: app.secret, kind: 'app', scopes });
  };
  for (let i = 1; i <= bots; i++) await appKey(`bot-${i}`, ['read', 'write:statuses']);
  await appKey('feed-reader', ['read']);
  return keys;
}

export function buildScenario(sim: MastodonSim, keys: ScenarioKey[], pepper: string): Scenario {
  const fp = (id: string) => fingerprint(pepper, keys.find((k) => k.id === id)!.token);
  // `trigger`: the line at which the rule's threshold is reached (15 admin actions, 5 refused routes).
  const timed: Array<{ at: number; line: string; key: string; trigger: boolean }> = [];
  for (let m = 0; m < 60; m++) {
    timed.push({ at: T0 + m * 60_000, key: 'feed-reader', trigger: false, line: nginxLine(T0 + m * 60_000, { ip: '192.0.2.10', method: 'GET', uri: '/api/v1/timelines/home?limit=40', status: 200, ua: 'feedreader/3.1', fp: fp('feed-reader') }) });
  }
  for (let i = 0; i < 16; i++) {
    const at = T0 + 5 * 60_000 + i * 7_000;
    timed.push({ at, key: 'instance-admin', trigger: i === 14, line: nginxLine(at, { ip: '198.51.100.23', method: 'POST', uri: `/api/v1/admin/accounts/${1000 + i}/action`, status: 200, ua: 'python-requests/2.32', fp: fp('instance-admin') }) });
  }
  const bots = keys.filter((k) => k.id.startsWith('bot-'));
  bots.forEach((bot, b) => {
    PROBED_ROUTES.forEach((uri, r) => {
      const at = T0 + (10 + b * 3) * 60_000 + r * 10_000;
      timed.push({ at, key: bot.id, trigger: r === 4, line: nginxLine(at, { ip: `203.0.113.${10 + b}`, method: 'GET', uri, status: 403, ua: 'curl/8.5', fp: fp(bot.id) }) });
    });
  });
  timed.sort((a, b) => a.at - b.at);
  const triggers = new Map<string, number>();
  timed.forEach((t, i) => t.trigger && triggers.set(t.key, i));
  const inventory = {
    keys: keys.map((k) => ({
      id: k.id, instance: sim.url, kind: k.kind, scopes: k.scopes, owner: k.id === 'instance-admin' ? 'trust-and-safety' : 'platform-team',
      purpose: k.id === 'instance-admin' ? 'moderation tooling' : 'automation', token: k.token, client_id: k.clientId, client_secret: k.clientSecret,
    })),
  };
  return { keys, inventory, lines: timed.map((t) => t.line), triggers };
}
