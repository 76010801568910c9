import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { AuditEntry } from '../../respond/audit.js';

/**
 * What revocation and rotation tell the outside world: notices for people (an injected
 * notifier: Slack, email, the outbox…) and entries for the responder's audit chain (an
 * injected hook, e.g. `(e) => auditLog.append(e)`). Both carry fingerprints, never secrets.
 */

export const NOTICE_KINDS = [
  'revoke-pending',
  'revoke-completed',
  'revoke-failed',
  'revoke-given-up',
  'consent-requested',
  'rotation-waiting',
  'rotation-completed',
  'rotation-rolled-back',
  'rotation-failed',
  'old-key-still-in-use',
] as const;
export type NoticeKind = (typeof NOTICE_KINDS)[number];

export interface Notice {
  kind: NoticeKind;
  severity: 'info' | 'warning' | 'critical';
  key_id: string;
  /** Fingerprint of the token the notice is about. */
  fingerprint: string;
  /** The key's owner as recorded in the inventory (who should read this). */
  owner: string;
  /** One or two sentences for people; never a secret. */
  message: string;
  /** A link to act on (a signed consent link), when there is one. */
  link?: string;
  details?: Record<string, unknown>;
}

/** Delivers a notice. May be async; a failure is logged and never undoes the work. */
export type Notifier = (notice: Notice) => void | Promise<void>;

/** Records an entry in the audit chain (src/respond/audit.ts `AuditLog.append`). */
export type AuditHook = (entry: AuditEntry) => unknown;

/** A notifier that only logs (warn for warnings, error for critical): the default. */
export function logNotifier(logger: Logger): Notifier {
  return (n) => {
    const fields = { notice: n.kind, key_id: n.key_id, fingerprint: n.fingerprint, owner: n.owner, details: n.details, link: n.link };
    if (n.severity === 'critical') logger.error(fields, n.message);
    else if (n.severity === 'warning') logger.warn(fields, n.message);
    else logger.info(fields, n.message);
  };
}

/** Call the notifier and the audit hook without letting them fail the caller. */
export class Announcer {
  constructor(
    private readonly logger: Logger,
    private readonly notifier: Notifier | undefined,
    private readonly audit: AuditHook | undefined,
  ) {}

  async notify(notice: Notice): Promise<void> {
    if (!this.notifier) return;
    try {
      await this.notifier(notice);
    } catch (e) {
      this.logger.error({ notice: notice.kind, key_id: notice.key_id, error: errorMessage(e) }, 'notifier failed');
    }
  }

  record(entry: AuditEntry): void {
    if (!this.audit) return;
    try {
      this.audit(entry);
    } catch (e) {
      this.logger.error({ action: entry.action, target: entry.target, error: errorMessage(e) }, 'audit hook failed');
    }
  }
}
