import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { ManualClock, systemClock, type Clock } from '../../../src/core/clock.js';
import { createFingerprinter, type Fingerprinter } from '../../../src/core/fingerprint.js';
import { createLogger, type Logger } from '../../../src/core/logger.js';
import { openKeysDb } from '../../../src/keys/db.js';
import { KeyInventory } from '../../../src/keys/inventory.js';
import { LocalKeyEncryptionKey } from '../../../src/keys/kms.js';
import type { Notice } from '../../../src/keys/revocation/types.js';
import type { InventoryItem } from '../../../src/keys/schema.js';
import { Vault } from '../../../src/keys/vault.js';
import { MastodonClient } from '../../../src/mastodon/client.js';
import type { AuditEntry } from '../../../src/respond/audit.js';
import type { ControlDb } from '../../../src/store/control.js';
import { startMastodonSim, type MastodonSim, type SimApp, type SimUser } from '../../mastodon-sim/index.js';
import { tempHome } from '../helpers.js';

/**
 * A revocation/rotation test bench: a Mastodon simulator, a control DB with vault and
 * inventory, a Mastodon client whose logs are captured line by line, and recorders for
 * notices and audit entries. `secrets` collects every token and client secret the bench
 * created or saw; `leaks()` finds any of them in logs, notices, audit entries or extra text.
 */
export class Bench {
  readonly home = tempHome('tg-lifecycle-');
  readonly db: ControlDb = openKeysDb(this.home);
  readonly pepper = `pepper-${randomBytes(16).toString('hex')}`;
  readonly fingerprint: Fingerprinter = createFingerprinter(this.pepper);
  readonly logLines: string[] = [];
  readonly logger: Logger = createLogger({
    level: 'trace',
    destination: new Writable({
      write: (chunk: Buffer, _enc, done) => {
        this.logLines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    }),
  });
  readonly notices: Notice[] = [];
  readonly audit: AuditEntry[] = [];
  readonly secrets = new Set<string>();
  readonly inventory = new KeyInventory(this.db);
  readonly kek = new LocalKeyEncryptionKey(randomBytes(32));
  vault!: Vault;
  sim!: MastodonSim;
  client!: MastodonClient;
  clock: Clock = systemClock;

  static async start(opts: { clock?: ManualClock } = {}): Promise<Bench> {
    const b = new Bench();
    if (opts.clock) b.clock = opts.clock;
    b.vault = await Vault.open(b.db, b.kek, b.logger);
    b.sim = await startMastodonSim({ throttles: { 'throttle_oauth_application_registrations/ip': { limit: 10_000, periodSeconds: 600 } } });
    b.client = new MastodonClient({ timeoutMs: 1_500, logger: b.logger, fingerprint: b.fingerprint });
    return b;
  }

  notifier = (n: Notice): void => {
    this.notices.push(n);
  };

  auditHook = (e: AuditEntry): void => {
    this.audit.push(e);
  };

  remember(...values: string[]): void {
    for (const v of values) if (v) this.secrets.add(v);
  }

  /** Every token and client secret currently in the simulator (new ones minted by rotations too). */
  harvestSimSecrets(): void {
    for (const t of this.sim.state.tokens.values()) this.remember(t.token);
    for (const a of this.sim.state.apps.values()) this.remember(a.secret);
  }

  /** Secrets found in any captured text (expected: none). */
  leaks(...extra: unknown[]): string[] {
    this.harvestSimSecrets();
    const text = [...this.logLines, JSON.stringify(this.notices), JSON.stringify(this.audit), ...extra.map((x) => (typeof x === 'string' ? x : JSON.stringify(x)))].join('\n');
    return [...this.secrets].filter((s) => text.includes(s));
  }

  /** A managed app-only key: a simulator app, a client_credentials token, imported into the inventory. */
  async addAppKey(id: string, over: Partial<InventoryItem> = {}, scopes: string[] = ['read', 'write:statuses']): Promise<{ app: SimApp; token: string }> {
    const app = this.sim.createApp({ name: `app-${id}`, redirectUris: ['urn:ietf:wg:oauth:2.0:oob'], scopes });
    const token = (await this.client.mintAppToken({ instance: this.sim.url, clientId: app.uid, clientSecret: app.secret, scopes })).accessToken;
    await this.importKey({ id, kind: 'app', scopes, token, client_id: app.uid, client_secret: app.secret, ...over });
    return { app, token };
  }

  /** A managed user key issued to `user` through a simulator app. */
  async addUserKey(id: string, user: SimUser, over: Partial<InventoryItem> = {}, scopes: string[] = ['read']): Promise<{ app: SimApp; token: string }> {
    const app = this.sim.createApp({ name: `app-${id}`, redirectUris: ['urn:ietf:wg:oauth:2.0:oob'], scopes });
    const token = this.sim.issueUserToken(app, user, scopes).token;
    await this.importKey({ id, kind: 'user', scopes, token, client_id: app.uid, client_secret: app.secret, ...over });
    return { app, token };
  }

  async importKey(item: Partial<InventoryItem> & Pick<InventoryItem, 'id' | 'token' | 'client_id' | 'client_secret'>): Promise<void> {
    this.remember(item.token, item.client_secret);
    const full: InventoryItem = {
      instance: this.sim.url, kind: 'app', scopes: ['read'], owner: 'team-a', purpose: 'test', labels: {}, ...item,
    } as InventoryItem;
    await this.inventory.upsertMany(this.vault, this.pepper, [full]);
  }

  /** Token state in the simulator: 'live', 'revoked' or 'unknown'. */
  simTokenState(token: string): 'live' | 'revoked' | 'unknown' {
    const t = this.sim.state.findToken(token);
    if (!t) return 'unknown';
    return t.revokedAt ? 'revoked' : 'live';
  }

  async close(): Promise<void> {
    await this.sim.close();
    this.db.close();
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
