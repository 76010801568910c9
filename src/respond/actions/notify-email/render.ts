import { escapeHtml } from '../../html.js';
import type { AlertView } from '../alert.js';

/** Subject, plain text and HTML of one alert email. */
export interface EmailContent {
  subject: string;
  text: string;
  html: string;
}

function facts(view: AlertView): Array<[string, string]> {
  const rows: Array<[string, string]> = [['Severity', view.severity.toUpperCase()]];
  if (view.rule) rows.push(['Rule', view.rule]);
  if (view.key) {
    rows.push(['Key', view.key.id]);
    if (view.key.fingerprint) rows.push(['Fingerprint', view.key.fingerprint]);
    if (view.key.owner) rows.push(['Owner', view.key.owner]);
    if (view.key.scopes.length) rows.push(['Scopes', view.key.scopes.join(' ')]);
  }
  if (view.policy) rows.push(['Policy', view.policy]);
  if (view.findingId) rows.push(['Finding', view.findingId]);
  rows.push(['At', view.at]);
  return rows;
}

function textBody(view: AlertView): string {
  const out = [view.title, '', view.summary, ''];
  for (const [k, v] of facts(view)) out.push(`${k}: ${v}`);
  if (view.explanation || view.figures.length) {
    out.push('', 'Evidence:');
    if (view.explanation) out.push(`  ${view.explanation}`);
    for (const [k, v] of view.figures) out.push(`  ${k}: ${v}`);
    if (view.samples.length) out.push(`  samples: ${view.samples.join(', ')}`);
  }
  if (view.actions.length) {
    out.push('', 'Actions taken:');
    for (const a of view.actions) out.push(`  - ${a.action} -> ${a.target}: ${a.status} (${a.message})`);
  }
  if (view.approval) {
    out.push('', `A person must decide (links expire ${view.approval.expiresAt}):`);
    out.push(`  Approve: ${view.approval.approveUrl}`, `  Deny:    ${view.approval.denyUrl}`);
  }
  out.push('', '-- tuskguard (the key token is never shown, only its fingerprint)');
  return `${out.join('\n')}\n`;
}

function htmlBody(view: AlertView): string {
  const e = escapeHtml;
  const rows = facts(view).map(([k, v]) => `<tr><th align="left">${e(k)}</th><td>${e(v)}</td></tr>`).join('');
  const figures = view.figures.map(([k, v]) => `<li>${e(k)}: <b>${e(v)}</b></li>`).join('');
  const samples = view.samples.length ? `<p>samples: ${view.samples.map((s) => `<code>${e(s)}</code>`).join(', ')}</p>` : '';
  const evidence = view.explanation || figures ? `<h3>Evidence</h3><p>${e(view.explanation)}</p><ul>${figures}</ul>${samples}` : '';
  const actions = view.actions.length
    ? `<h3>Actions taken</h3><ul>${view.actions.map((a) => `<li><code>${e(a.action)}</code> → ${e(a.target)}: <b>${e(a.status)}</b> — ${e(a.message)}</li>`).join('')}</ul>`
    : '';
  const approval = view.approval
    ? `<h3>A person must decide</h3><p><a href="${e(view.approval.approveUrl)}">Approve</a> · <a href="${e(view.approval.denyUrl)}">Deny</a> (links expire ${e(view.approval.expiresAt)})</p>`
    : '';
  return `<!doctype html><html><body style="font-family:sans-serif"><h2>${e(view.title)}</h2><p>${e(view.summary)}</p>
<table>${rows}</table>${evidence}${actions}${approval}
<p style="color:#666">tuskguard: the key token is never shown, only its fingerprint.</p></body></html>`;
}

export function renderEmail(view: AlertView): EmailContent {
  const subject = `[tuskguard] ${view.severity.toUpperCase()} ${view.title}`.replace(/[\r\n]+/g, ' ').slice(0, 200);
  return { subject, text: textBody(view), html: htmlBody(view) };
}
