import { systemClock, type Clock } from '../../core/clock.js';
import { TuskguardError, errorMessage } from '../../core/errors.js';
import type { Fingerprinter } from '../../core/fingerprint.js';
import { silentLogger, type Logger } from '../../core/logger.js';
import type { Metrics } from '../../core/metrics.js';
import type { RevokeResult } from '../../mastodon/client-types.js';
import { isRetryable } from '../../mastodon/errors.js';
import type { ControlDb } from '../../store/control.js';
import { KeyInventory } from '../inventory.js';
import type { KeyRecord } from '../schema.js';
import type { Vault } from '../vault.js';
import { RevocationRecords, setKeyStatus, vaultVersions, type RevocationRow, type Verification } from './records.js';
import { Announcer, type AuditHook, type Notifier } from './types.js';

/**
 * Revocation of managed keys: the one service `keys revoke`, the API and the responder call.
 *
 * The token, client id and secret are decrypted from the vault only for the Mastodon call and
 * only in memory. Mastodon must then answer 401 for the token on `/oauth/token/info` (FACTS §5;
 * the three quirk endpoints that keep accepting revoked tokens are never used as proof).
 * Revoking a revoked key is a no-op that says so. When Mastodon cannot be reached the key is
 * marked `revoke-pending`, the retry queue takes over with backoff, and people are told.
 * During a rotation the vault holds two versions of a key; both are revoked.
 */

/** The part of MastodonClient revocation needs. */
export interface RevocationClient {
  revoke(input: { instance: string; clientId: string; clientSecret: string; token: string }): Promise<RevokeResult>;
}

/** Where pending revocations go to be retried (the outbox in production; see retry.ts). */
export interface RevocationRetryQueue {
  /** Make sure revocation `revocationId` is retried (first try after `delayMs`, default the base delay); idempotent. */
  schedule(revocationId: number, keyId: string, delayMs?: number): void;
}

export interface RevocationDeps {
  db: ControlDb;
  vault: Vault;
  fingerprint: Fingerprinter;
  client: RevocationClient;
  retry?: RevocationRetryQueue;
  notifier?: Notifier;
  audit?: AuditHook;
  logger?: Logger;
  clock?: Clock;
  /** Counts `tuskguard_errors_total{component="keys",stage="revoke-pending"|"revoke-failed"}`. */
  metrics?: Metrics;
}

export interface RevokeRequest {
  keyId: string;
  /** Why, in the operator's or the policy's words (recorded and audited). */
  reason: string;
  /** Who: `cli:<user>`, `api:<principal>`, `responder`, `rotation:<id>`. */
  actor: string;
  findingId?: string | null;
}

export type RevokeOutcome = 'revoked' | 'already-revoked' | 'pending' | 'failed';

export interface RevokeReport {
  key_id: string;
  fingerprint: string;
  outcome: RevokeOutcome;
  revocation_id: number | null;
  /** One sentence for people. */
  message: string;
  verification: Verification | null;
  /** The coded error behind `pending` or `failed` (secret-free). */
  error?: { code: string; message: string; hint?: string | undefined };
}

/**
 * Attempts running in this process, by control DB (its file; an in-memory DB by its handle) and
 * revocation id (see `attempt`).
 */
const attemptsInFlight = new Map<string | ControlDb, Map<number, Promise<RevokeReport>>>();

export class RevocationService {
  readonly records: RevocationRecords;
  readonly inventory: KeyInventory;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly announce: Announcer;

  constructor(private readonly deps: RevocationDeps) {
    this.logger = deps.logger ?? silentLogger;
    this.clock = deps.clock ?? systemClock;
    this.inventory = new KeyInventory(deps.db, this.logger);
    this.records = new RevocationRecords(deps.db);
    this.announce = new Announcer(this.logger, deps.notifier, deps.audit);
  }

  private now(): string {
    return new Date(this.clock.now()).toISOString();
  }

  /** Revoke a key now (or mark it revoke-pending when Mastodon is unreachable). See the class comment. */
  async revokeKey(req: RevokeRequest): Promise<RevokeReport> {
    if (!req.reason.trim()) throw new TuskguardError('USAGE', 'a revocation needs a reason', { hint: 'pass --reason "why"' });
    if (!req.actor.trim()) throw new TuskguardError('USAGE', 'a revocation needs an actor', { hint: 'name who asks for it' });
    const key = this.inventory.require(req.keyId);
    if (key.status === 'revoked') return this.alreadyRevoked(key);
    const open = this.records.pendingFor(key.id);
    const id = open?.id ?? this.records.open({ keyId: key.id, fingerprint: key.fingerprint, actor: req.actor, reason: req.reason, at: this.now() });
    // Marked before Mastodon is called: a crash mid-call leaves a pending key that `serve` retries.
    setKeyStatus(this.deps.db, key.id, 'revoke-pending', this.now());
    return this.attempt(id, req.findingId ?? null);
  }

  /** Retry a pending revocation (the retry queue calls this). A finished one is reported as it is. */
  async retry(revocationId: number): Promise<RevokeReport> {
    const row = this.records.get(revocationId);
    if (!row) throw new TuskguardError('KEY_NOT_FOUND', `no revocation #${revocationId}`, { hint: 'it may have been removed with its key' });
    if (row.outcome !== 'pending') return this.reportOf(row, row.outcome === 'revoked' ? 'revoked' : 'failed', 'already settled');
    return this.attempt(revocationId, null);
  }

  private alreadyRevoked(key: KeyRecord): RevokeReport {
    const last = this.records.lastRevoked(key.id);
    const when = last?.completed_at ?? key.status_changed_at;
    return {
      key_id: key.id, fingerprint: key.fingerprint, outcome: 'already-revoked', revocation_id: last?.id ?? null,
      message: `${key.id} was already revoked at ${when}; nothing was done`, verification: last?.verification ?? null,
    };
  }

  /**
   * One attempt per revocation at a time in this process. After a restart the responder's
   * `revoke` job and the start-up retry job can both hold the same pending revocation, and each
   * goes through its own service over its own handle on the control DB: without this both would
   * call Mastodon and both complete it (two audit records, two notices). A caller that arrives
   * while an attempt runs gets that attempt's report; one that arrives after it sees the key
   * revoked (or the revocation settled) and calls nothing.
   */
  private attempt(revocationId: number, findingId: string | null): Promise<RevokeReport> {
    const db = this.deps.db;
    const scope = db.memory ? db : db.name;
    const running = attemptsInFlight.get(scope) ?? new Map<number, Promise<RevokeReport>>();
    const joined = running.get(revocationId);
    if (joined) return joined;
    const attempt = this.attemptNow(revocationId, findingId).finally(() => {
      running.delete(revocationId);
      if (running.size === 0) attemptsInFlight.delete(scope);
    });
    running.set(revocationId, attempt);
    attemptsInFlight.set(scope, running);
    return attempt;
  }

  private async attemptNow(revocationId: number, findingId: string | null): Promise<RevokeReport> {
    const row = this.records.get(revocationId)!;
    const key = this.inventory.require(row.key_id);
    const attempts = (row.verification?.attempts ?? 0) + 1;
    const tokens: Verification['tokens'] = [];
    for (const version of vaultVersions(this.deps.db, key.id)) {
      const secrets = await this.deps.vault.get(key.id, version);
      if (secrets.token === '') continue; // a reauthorize rotation still waiting for consent
      let result: RevokeResult;
      try {
        result = await this.deps.client.revoke({ instance: key.instance, clientId: secrets.client_id, clientSecret: secrets.client_secret, token: secrets.token });
      } catch (e) {
        const verification = this.verification(tokens, attempts, e);
        return isRetryable(e) ? this.defer(row, key, verification, findingId) : this.fail(row, key, verification, e, findingId);
      }
      tokens.push({ version, fingerprint: this.deps.fingerprint(secrets.token), status: result.status, confirmed: result.confirmed });
    }
    const verification = this.verification(tokens, attempts);
    // Accepted but not yet answering 401 (or the check itself failed): retry; revoking twice is harmless (RFC 7009).
    if (!tokens.every((t) => t.confirmed)) return this.defer(row, key, verification, findingId);
    return this.complete(row, key, verification, findingId);
  }

  private verification(tokens: Verification['tokens'], attempts: number, e?: unknown): Verification {
    const last = e === undefined ? undefined : { code: (e as { code?: string }).code ?? 'ERROR', message: errorMessage(e) };
    return { method: 'GET /oauth/token/info', tokens, attempts, checked_at: this.now(), last_error: last };
  }

  private complete(row: RevocationRow, key: KeyRecord, v: Verification, findingId: string | null): RevokeReport {
    const now = this.now();
    this.deps.db.transaction(() => {
      this.records.update(row.id, 'revoked', v, now);
      setKeyStatus(this.deps.db, key.id, 'revoked', now);
    })();
    this.logger.info({ key_id: key.id, fingerprint: key.fingerprint, revocation_id: row.id, attempts: v.attempts }, 'key revoked and 401 confirmed');
    this.announce.record({
      actor: row.actor, action: 'key.revoke', reason: row.reason, target: key.id, finding_id: findingId, result: 'done',
      details: { fingerprint: key.fingerprint, revocation_id: row.id, verification: v },
    });
    if (v.attempts > 1) {
      void this.announce.notify({
        kind: 'revoke-completed', severity: 'info', key_id: key.id, fingerprint: key.fingerprint, owner: key.owner,
        message: `${key.id} is now revoked (Mastodon confirmed 401 after ${v.attempts} attempts)`, details: { revocation_id: row.id },
      });
    }
    return this.reportOf({ ...row, verification: v }, 'revoked', `${key.id} revoked; Mastodon answers 401 for its token`);
  }

  private defer(row: RevocationRow, key: KeyRecord, v: Verification, findingId: string | null): RevokeReport {
    this.records.update(row.id, 'pending', v, null);
    this.deps.metrics?.errors.inc({ component: 'keys', stage: 'revoke-pending' });
    setKeyStatus(this.deps.db, key.id, 'revoke-pending', this.now());
    this.deps.retry?.schedule(row.id, key.id);
    const why = v.last_error?.message ?? 'Mastodon has not yet confirmed the 401';
    this.logger.warn({ key_id: key.id, fingerprint: key.fingerprint, revocation_id: row.id, attempts: v.attempts, error: v.last_error }, 'revocation pending: will retry');
    if (v.attempts === 1) {
      this.announce.record({
        actor: row.actor, action: 'key.revoke', reason: row.reason, target: key.id, finding_id: findingId, result: 'pending',
        details: { fingerprint: key.fingerprint, revocation_id: row.id, error: v.last_error },
      });
      void this.announce.notify({
        kind: 'revoke-pending', severity: 'warning', key_id: key.id, fingerprint: key.fingerprint, owner: key.owner,
        message: `${key.id} could not be revoked yet (${why}); it is marked revoke-pending and retried with backoff. The token still works until then.`,
        details: { revocation_id: row.id, retried: this.deps.retry !== undefined },
      });
    }
    return {
      ...this.reportOf({ ...row, verification: v }, 'pending', `${key.id} is revoke-pending: ${why}; ${this.deps.retry ? 'retried with backoff by `tuskguard serve`' : 'retry with `tuskguard keys revoke`'}`),
      ...(v.last_error ? { error: v.last_error } : {}),
    };
  }

  private fail(row: RevocationRow, key: KeyRecord, v: Verification, e: unknown, findingId: string | null): RevokeReport {
    const now = this.now();
    this.deps.db.transaction(() => {
      this.records.update(row.id, 'failed', v, now);
      // The token still works: say so rather than leave the key looking half-dead.
      setKeyStatus(this.deps.db, key.id, 'active', now);
    })();
    const err = e instanceof TuskguardError ? e : new TuskguardError('REVOCATION_FAILED', errorMessage(e));
    this.deps.metrics?.errors.inc({ component: 'keys', stage: 'revoke-failed' });
    this.logger.error({ key_id: key.id, fingerprint: key.fingerprint, revocation_id: row.id, code: err.code }, 'revocation failed');
    this.announce.record({
      actor: row.actor, action: 'key.revoke', reason: row.reason, target: key.id, finding_id: findingId, result: 'failed',
      details: { fingerprint: key.fingerprint, revocation_id: row.id, error: v.last_error },
    });
    void this.announce.notify({
      kind: 'revoke-failed', severity: 'critical', key_id: key.id, fingerprint: key.fingerprint, owner: key.owner,
      message: `${key.id} could NOT be revoked: ${err.message}. The token is still live; act by hand (FACTS §4: the user in the web UI, a password reset, or an admin suspension).`,
      details: { revocation_id: row.id, code: err.code },
    });
    return {
      ...this.reportOf({ ...row, verification: v }, 'failed', `${key.id} could not be revoked: ${err.message}`),
      error: { code: err.code, message: err.message, hint: err.hint },
    };
  }

  private reportOf(row: RevocationRow, outcome: RevokeOutcome, message: string): RevokeReport {
    return { key_id: row.key_id, fingerprint: row.fingerprint, outcome, revocation_id: row.id, message, verification: row.verification };
  }
}
