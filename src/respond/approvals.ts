import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Approval, ApprovalDecision, ApprovalStore, TokenCheck } from './approval-store.js';
import { escapeHtml } from './html.js';

export { ApprovalStore, redactApprovalUrl, signToken, type Approval, type ApprovalDecision } from './approval-store.js';

/**
 * The approve/deny links' HTTP routes, as a fastify plugin for src/api to mount.
 *
 * GET  /approvals/:token  shows what would happen (HTML for browsers, JSON otherwise) and
 *                         changes nothing: Slack unfurlers and mail scanners fetch links.
 * POST /approvals/:token  decides (form or JSON body `{ by?, note? }`), exactly once.
 *
 * Errors: 400 invalid link, 404 unknown approval, 409 already decided, 410 expired.
 */
export interface ApprovalRouteOptions {
  approvals: ApprovalStore;
  /** Runs (approve) or cancels (deny) the held action and audits it; called once per decision. */
  onDecision(approval: Approval, decision: ApprovalDecision, by: string): Promise<{ status: string; message: string }>;
}

const errorSchema = {
  type: 'object',
  required: ['error', 'message'],
  properties: { error: { type: 'string' }, message: { type: 'string' } },
} as const;

const viewSchema = {
  type: 'object',
  required: ['id', 'decision', 'status', 'action', 'target', 'policy', 'rule', 'severity', 'summary', 'reason', 'expires_at'],
  properties: {
    id: { type: 'string' },
    decision: { type: 'string', enum: ['approve', 'deny'] },
    status: { type: 'string' },
    action: { type: 'string' },
    target: { type: 'string' },
    policy: { type: 'string' },
    rule: { type: 'string' },
    severity: { type: 'string' },
    summary: { type: 'string' },
    reason: { type: 'string' },
    expires_at: { type: 'string' },
  },
} as const;

const resultSchema = {
  type: 'object',
  required: ['id', 'decision', 'status', 'outcome'],
  properties: {
    id: { type: 'string' },
    decision: { type: 'string', enum: ['approve', 'deny'] },
    status: { type: 'string' },
    outcome: {
      type: 'object',
      required: ['status', 'message'],
      properties: { status: { type: 'string' }, message: { type: 'string' } },
    },
  },
} as const;

const params = {
  type: 'object',
  required: ['token'],
  properties: { token: { type: 'string', minLength: 1, maxLength: 256 } },
} as const;

const errorResponses = { 400: errorSchema, 404: errorSchema, 409: errorSchema, 410: errorSchema };

const FAILURES = {
  malformed: [400, 'invalid-link', 'this approval link is not valid'],
  'bad-signature': [400, 'invalid-link', 'this approval link is not valid'],
  unknown: [404, 'unknown', 'no such approval (it may have been purged)'],
  decided: [409, 'decided', 'this approval has already been decided'],
  expired: [410, 'expired', 'this approval link has expired; the action was not taken'],
} as const;

function view(a: Approval, decision: ApprovalDecision) {
  return {
    id: a.id,
    decision,
    status: a.status,
    action: a.action,
    target: a.target,
    policy: a.policy,
    rule: a.finding.rule,
    severity: a.finding.severity,
    summary: a.finding.summary,
    reason: a.reason,
    expires_at: new Date(a.expiresAt).toISOString(),
  };
}

function wantsHtml(req: FastifyRequest): boolean {
  return (req.headers.accept ?? '').includes('text/html');
}

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title></head><body style="font-family:sans-serif;max-width:40em;margin:2em auto">
<h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

function sendFailure(req: FastifyRequest, reply: FastifyReply, check: Exclude<TokenCheck, { ok: true }>) {
  const [status, error, message] = FAILURES[check.reason];
  if (wantsHtml(req)) return reply.status(status).type('text/html; charset=utf-8').send(page('Approval', `<p>${escapeHtml(message)}</p>`));
  return reply.status(status).send({ error, message });
}

function confirmPage(a: Approval, decision: ApprovalDecision): string {
  const v = view(a, decision);
  const verb = decision === 'approve' ? 'Approve' : 'Deny';
  const rows = [['Action', `${v.action} on ${v.target}`], ['Why held', v.reason], ['Finding', `${v.rule} (${v.severity}): ${v.summary}`], ['Policy', v.policy], ['Expires', v.expires_at]]
    .map(([k, val]) => `<tr><th align="left">${escapeHtml(k!)}</th><td>${escapeHtml(val!)}</td></tr>`)
    .join('');
  return page(`${verb} ${v.action}?`, `<table>${rows}</table>
<form method="post"><p><label>Your name <input name="by" maxlength="100" required></label></p>
<p><label>Note <input name="note" maxlength="500"></label></p><p><button type="submit">${verb}</button></p></form>`);
}

/** Printable, bounded, single-line text from a form field. */
function clean(text: unknown, max: number): string {
  return typeof text === 'string' ? text.replace(/[\p{Cc}\p{Cf}]/gu, ' ').trim().slice(0, max) : '';
}

export const approvalRoutes: FastifyPluginAsync<ApprovalRouteOptions> = async (app, opts) => {
  // Encapsulated in this plugin: browsers post the confirmation form urlencoded.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 4096 }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  app.get<{ Params: { token: string } }>(
    '/approvals/:token',
    { schema: { params, response: { 200: viewSchema, ...errorResponses } } },
    async (req, reply) => {
      const check = opts.approvals.inspect(req.params.token);
      if (!check.ok) return sendFailure(req, reply, check);
      if (wantsHtml(req)) return reply.type('text/html; charset=utf-8').send(confirmPage(check.approval, check.decision));
      return view(check.approval, check.decision);
    },
  );

  app.post<{ Params: { token: string }; Body: { by?: string; note?: string } | undefined }>(
    '/approvals/:token',
    {
      bodyLimit: 4096,
      // propertyNames, not additionalProperties: false, which fastify's AJV would silently strip.
      schema: {
        params,
        body: { type: 'object', properties: { by: { type: 'string', maxLength: 100 }, note: { type: 'string', maxLength: 500 } }, propertyNames: { enum: ['by', 'note'] } },
        response: { 200: resultSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const by = clean(req.body?.by, 100) || `approval-link@${req.ip}`;
      const check = opts.approvals.consume(req.params.token, by, clean(req.body?.note, 500) || null);
      if (!check.ok) return sendFailure(req, reply, check);
      const outcome = await opts.onDecision(check.approval, check.decision, by);
      const result = { id: check.approval.id, decision: check.decision, status: check.approval.status, outcome };
      if (!wantsHtml(req)) return result;
      return reply.type('text/html; charset=utf-8').send(page(`${check.approval.status}: ${check.approval.action}`, `<p>${escapeHtml(outcome.message)}</p>`));
    },
  );
};
