import { createHmac, randomBytes } from 'node:crypto';
import { systemClock, type Clock } from '../core/clock.js';
import { TuskguardError } from '../core/errors.js';
import type { Finding } from '../core/finding.js';
import type { ControlDb } from '../store/control.js';
import { safeEqual } from './canonical.js';
import { ensureRespondSchema, statementCache } from './db.js';
import type { PolicyAction } from './policies.js';
import type { ApprovalLinks } from './types.js';

/**
 * Held actions waiting for a person. Each approval has two signed, expiring links (approve and
 * deny); the token is `v1.<id>.<decision>.<exp>.<mac>`, the mac being base64url HMAC-SHA256 under
 * TUSKGUARD_APPROVAL_SECRET over `tuskguard-approval:v1:<id>:<decision>:<exp>`. Tokens are not
 * stored: they are recomputed to verify, and consuming one flips the approval's status once,
 * atomically, so a link works once and its twin stops working too.
 */
export const APPROVAL_DECISIONS = ['approve', 'deny'] as const;
export type ApprovalDecision = (typeof APPROVAL_DECISIONS)[number];
export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired';

export interface ApprovalRequest {
  finding: Finding;
  policy: string;
  action: string;
  /** The action's policy entry, run as is once approved. */
  config: PolicyAction;
  keyId: string | null;
  target: string;
  /** Why a person must decide (protected scope or label). */
  reason: string;
}

export interface Approval extends ApprovalRequest {
  id: string;
  status: ApprovalStatus;
  createdAt: number;
  expiresAt: number;
  decidedAt: number | null;
  decidedBy: string | null;
  note: string | null;
}

export type TokenCheck =
  | { ok: true; approval: Approval; decision: ApprovalDecision }
  | { ok: false; reason: 'malformed' | 'bad-signature' | 'expired' | 'unknown' | 'decided'; approval?: Approval };

export const MIN_SECRET_LENGTH = 32;

/** `v1.<id>.<decision>.<exp>.<mac>`; bounded parts, so a hostile 10 kB path cannot make it slow. */
const TOKEN_RE = /^v1\.(?<id>[A-Za-z0-9_-]{1,32})\.(?<decision>approve|deny)\.(?<exp>\d{1,12})\.(?<mac>[A-Za-z0-9_-]{43})$/;

function tokenMac(secret: string, id: string, decision: ApprovalDecision, expSeconds: number): string {
  return createHmac('sha256', secret).update(`tuskguard-approval:v1:${id}:${decision}:${expSeconds}`).digest('base64url');
}

/** The token of one link; about 90 characters, under fastify's default 100 for a path parameter. */
export function signToken(secret: string, id: string, decision: ApprovalDecision, expSeconds: number): string {
  return `v1.${id}.${decision}.${expSeconds}.${tokenMac(secret, id, decision, expSeconds)}`;
}

/** Replace the token in an approval URL (for request logs): the link is a bearer credential. */
export function redactApprovalUrl(url: string): string {
  return url.replace(/(\/approvals\/)v1\.[^/?#\s]+/g, '$1[REDACTED]');
}

interface Row {
  id: string;
  status: ApprovalStatus;
  created_at: number;
  expires_at: number;
  finding: string;
  policy: string;
  action: string;
  config: string;
  key_id: string | null;
  target: string;
  reason: string;
  decided_at: number | null;
  decided_by: string | null;
  note: string | null;
}

function toApproval(r: Row): Approval {
  return {
    id: r.id,
    status: r.status,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    finding: JSON.parse(r.finding) as Finding,
    policy: r.policy,
    action: r.action,
    config: JSON.parse(r.config) as PolicyAction,
    keyId: r.key_id,
    target: r.target,
    reason: r.reason,
    decidedAt: r.decided_at,
    decidedBy: r.decided_by,
    note: r.note,
  };
}

export class ApprovalStore {
  private readonly sql: ReturnType<typeof statementCache>;
  private readonly clock: Clock;

  constructor(
    readonly db: ControlDb,
    private readonly options: { secret: string; publicUrl: string; ttlMs: number; clock?: Clock },
  ) {
    if (options.secret.length < MIN_SECRET_LENGTH) {
      throw new TuskguardError('SECRET_MISSING', `the approval secret must be at least ${MIN_SECRET_LENGTH} characters`, {
        hint: 'set TUSKGUARD_APPROVAL_SECRET to a long random value (e.g. `openssl rand -hex 32`)',
      });
    }
    ensureRespondSchema(db);
    this.sql = statementCache(db);
    this.clock = options.clock ?? systemClock;
  }

  /** Hold an action for a person; returns the approval and its two links. */
  create(request: ApprovalRequest): { approval: Approval; links: ApprovalLinks } {
    const id = randomBytes(16).toString('base64url');
    const now = this.clock.now();
    // Whole seconds, so the expiry in the token and in the row are the same instant.
    const expiresAt = Math.floor((now + this.options.ttlMs) / 1000) * 1000;
    this.sql(
        `INSERT INTO respond_approvals (id, status, created_at, expires_at, finding, policy, action, config, key_id, target, reason)
         VALUES (?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(id, now, expiresAt, JSON.stringify(request.finding), request.policy, request.action, JSON.stringify(request.config), request.keyId, request.target, request.reason);
    const approval = this.get(id)!;
    return { approval, links: this.links(approval) };
  }

  links(approval: Approval): ApprovalLinks {
    const exp = Math.floor(approval.expiresAt / 1000);
    const base = this.options.publicUrl.replace(/\/+$/, '');
    return {
      id: approval.id,
      approveUrl: `${base}/approvals/${signToken(this.options.secret, approval.id, 'approve', exp)}`,
      denyUrl: `${base}/approvals/${signToken(this.options.secret, approval.id, 'deny', exp)}`,
      expiresAt: new Date(approval.expiresAt).toISOString(),
    };
  }

  get(id: string): Approval | null {
    const row = this.sql('SELECT * FROM respond_approvals WHERE id = ?').get(id) as Row | undefined;
    return row ? toApproval(row) : null;
  }

  list(filter: { status?: ApprovalStatus; limit?: number } = {}): Approval[] {
    const where = filter.status ? 'WHERE status = ?' : '';
    const args = filter.status ? [filter.status] : [];
    const rows = this.sql(`SELECT * FROM respond_approvals ${where} ORDER BY created_at DESC LIMIT ?`).all(...args, filter.limit ?? 100);
    return (rows as Row[]).map(toApproval);
  }

  /** Check a token without using it (the confirmation page). */
  inspect(token: string): TokenCheck {
    const m = TOKEN_RE.exec(token)?.groups;
    if (!m) return { ok: false, reason: 'malformed' };
    const { id, exp, mac } = m as { id: string; exp: string; mac: string };
    const decision = m.decision as ApprovalDecision;
    if (!safeEqual(mac, tokenMac(this.options.secret, id, decision, Number(exp)))) return { ok: false, reason: 'bad-signature' };
    const approval = this.get(id);
    if (!approval) return { ok: false, reason: 'unknown' };
    if (approval.status !== 'pending') return { ok: false, reason: approval.status === 'expired' ? 'expired' : 'decided', approval };
    if (Number(exp) * 1000 <= this.clock.now() || approval.expiresAt <= this.clock.now()) return { ok: false, reason: 'expired', approval };
    return { ok: true, approval, decision };
  }

  /** Verify and use a token: the approval is decided exactly once. */
  consume(token: string, by: string, note: string | null = null): TokenCheck {
    const check = this.inspect(token);
    if (!check.ok) return check;
    const status: ApprovalStatus = check.decision === 'approve' ? 'approved' : 'denied';
    const now = this.clock.now();
    const changed = this.sql(
        `UPDATE respond_approvals SET status = ?, decided_at = ?, decided_by = ?, note = ?
         WHERE id = ? AND status = 'pending' AND expires_at > ?`,
      )
      .run(status, now, by, note, check.approval.id, now).changes;
    if (changed !== 1) return { ok: false, reason: 'decided', approval: this.get(check.approval.id)! };
    return { ok: true, approval: this.get(check.approval.id)!, decision: check.decision };
  }

  /** Mark pending approvals past their expiry as expired; returns them (to audit). */
  expireStale(): Approval[] {
    const now = this.clock.now();
    const rows = this.sql(`UPDATE respond_approvals SET status = 'expired', decided_at = ? WHERE status = 'pending' AND expires_at <= ? RETURNING *`)
      .all(now, now) as Row[];
    return rows.map(toApproval);
  }
}
