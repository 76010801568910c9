import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { validateConfig } from '../../src/config/load.js';
import type { Finding } from '../../src/core/finding.js';
import { createFingerprinter } from '../../src/core/fingerprint.js';
import { createLogger, type Logger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import { openKeysDb } from '../../src/keys/db.js';
import { KeyInventory } from '../../src/keys/inventory.js';
import { loadLocalKek } from '../../src/keys/kms.js';
import type { InventoryItem } from '../../src/keys/schema.js';
import { Vault } from '../../src/keys/vault.js';
import { MastodonClient } from '../../src/mastodon/client.js';
import { ACTIONS } from '../../src/respond/actions/registry.js';
import { createResponder, type ResponseHook } from '../../src/respond/index.js';
import { Outbox, type OutboxJob } from '../../src/respond/outbox.js';
import { validatePolicies } from '../../src/respond/policies.js';
import { openControlDb } from '../../src/store/control.js';
import type { MastodonSim, SimUser } from '../mastodon-sim/index.js';
import { startMastodonSim } from '../mastodon-sim/index.js';

/**
 * A bench for the Mastodon-facing actions: a simulator, a temporary data dir whose inventory
 * holds real simulator tokens (imported through the vault under a master key from the env),
 * and the response hook `serve` and `replay` use, with fast retries. Every secret created is
 * remembered; `leaks()` finds any of them in the captured logs or in extra text.
 */
export class MastodonBench {
  readonly home = mkdtempSync(join(tmpdir(), 'tg-respond-mastodon-'));
  readonly pepper = `pepper-${randomBytes(16).toString('hex')}`;
  readonly masterKey = randomBytes(32).toString('hex');
  readonly fingerprint = createFingerprinter(this.pepper);
  readonly secrets = new Set<string>();
  readonly logLines: string[] = [];
  readonly metrics = new Metrics();
  readonly logger: Logger = createLogger({
    level: 'trace',
    destination: new Writable({
      write: (chunk: Buffer, _e, done) => {
        this.logLines.push(chunk.toString('utf8'));
        done();
      },
    }),
  });
  sim!: MastodonSim;
  owner!: SimUser;
  response: ResponseHook | null = null;

  static async start(): Promise<MastodonBench> {
    const b = new MastodonBench();
    b.sim = await startMastodonSim();
    b.owner = b.sim.createUser({ username: 'owner', role: 'Owner' });
    return b;
  }

  env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return {
      TUSKGUARD_MASTER_KEY: this.masterKey,
      TUSKGUARD_PEPPER: this.pepper,
      TUSKGUARD_AUDIT_KEY: 'bench-audit-key-0123456789',
      TUSKGUARD_APPROVAL_SECRET: 'bench-approval-secret-0123456789abcdef',
      TUSKGUARD_PUBLIC_URL: 'https://tuskguard.example.org',
      ...extra,
    };
  }

  /** Import keys into the inventory (through the vault), as `keys import` does. */
  async importKeys(items: InventoryItem[]): Promise<void> {
    const db = openKeysDb(this.home);
    try {
      const vault = await Vault.open(db, loadLocalKek(this.env())!);
      await new KeyInventory(db).upsertMany(vault, this.pepper, items);
    } finally {
      db.close();
    }
    for (const i of items) this.secrets.add(i.token).add(i.client_secret);
  }

  /** An app-only key (client_credentials token) of a new simulator app. */
  async appKey(id: string, scopes = ['read', 'write:statuses'], over: Partial<InventoryItem> = {}): Promise<{ token: string; item: InventoryItem }> {
    const app = this.sim.createApp({ name: `app-${id}`, redirectUris: ['urn:ietf:wg:oauth:2.0:oob'], scopes: scopes.join(' ') });
    const client = new MastodonClient({ timeoutMs: 2_000 });
    const token = (await client.mintAppToken({ instance: this.sim.url, clientId: app.uid, clientSecret: app.secret, scopes })).accessToken;
    return { token, item: this.item(id, token, app.uid, app.secret, 'app', scopes, over) };
  }

  /** A user key of `user` (the owner by default) through a new simulator app. */
  userKey(id: string, user: SimUser, scopes: string[], over: Partial<InventoryItem> = {}): { token: string; item: InventoryItem } {
    const app = this.sim.createApp({ name: `app-${id}`, redirectUris: ['urn:ietf:wg:oauth:2.0:oob'], scopes: scopes.join(' ') });
    const token = this.sim.issueUserToken(app, user, scopes).token;
    return { token, item: this.item(id, token, app.uid, app.secret, 'user', scopes, over) };
  }

  private item(id: string, token: string, clientId: string, secret: string, kind: 'app' | 'user', scopes: string[], over: Partial<InventoryItem>): InventoryItem {
    return { id, instance: this.sim.url, kind, scopes, owner: 'team-a', purpose: 'test', labels: {}, token, client_id: clientId, client_secret: secret, ...over } as InventoryItem;
  }

  /** The response hook over this data dir with the given policies (fast retries). */
  async respond(policies: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): Promise<ResponseHook> {
    await this.response?.close();
    this.response = await createResponder({
      loaded: { config: validateConfig({ home: this.home }), home: this.home, file: null },
      logger: this.logger,
      metrics: this.metrics,
      env: this.env(env),
      policies: validatePolicies({ version: 1, ...policies }, ACTIONS, 'bench-policies.yaml'),
      worker: { pollMs: 10, backoff: { baseMs: 20, maxMs: 100 } },
      mastodonTimeoutMs: 1_500,
    });
    return this.response;
  }

  finding(key: string | null, over: Partial<Finding> = {}): Finding {
    return {
      id: `f-${key ?? 'ip'}-${randomBytes(4).toString('hex')}`,
      rule: 'scope-probing',
      severity: 'high',
      key,
      fingerprint: null,
      group: key ? { 'tuskguard.key_id': key } : {},
      at: new Date().toISOString(),
      detected_at: new Date().toISOString(),
      summary: `${key} was refused on 6 different scoped endpoints within 10m.`,
      labels: {},
      evidence: { explanation: 'six scoped routes refused', count: 6 },
      ...over,
    };
  }

  /** Token state in the simulator. */
  tokenState(token: string): 'live' | 'revoked' | 'unknown' {
    const t = this.sim.state.findToken(token);
    return t ? (t.revokedAt ? 'revoked' : 'live') : 'unknown';
  }

  /** A key's inventory status, read over a handle of its own. */
  keyStatus(id: string): string | undefined {
    const db = openKeysDb(this.home);
    try {
      return new KeyInventory(db).get(id)?.status;
    } finally {
      db.close();
    }
  }

  /** The outbox jobs of `channel` in the data dir, read over a handle of their own. */
  outboxJobs(channel: string): OutboxJob[] {
    const db = openControlDb(this.home);
    try {
      return new Outbox(db).list({ channel });
    } finally {
      db.close();
    }
  }

  /** Secrets found in the captured logs or in `extra` (expected: none). */
  leaks(...extra: unknown[]): string[] {
    for (const t of this.sim.state.tokens.values()) this.secrets.add(t.token);
    const text = [...this.logLines, ...extra.map((x) => (typeof x === 'string' ? x : JSON.stringify(x)))].join('\n');
    return [...this.secrets].filter((s) => text.includes(s));
  }

  async close(): Promise<void> {
    await this.response?.close();
    await this.sim.close();
    rmSync(this.home, { recursive: true, force: true });
  }
}

/** Poll `cond` every 10 ms until true or `ms` passed. */
export async function until(cond: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
