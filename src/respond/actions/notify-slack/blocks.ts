import type { AlertView } from '../alert.js';

/**
 * Block Kit for one alert. Slack limits: header text 150 chars, section text 3,000, at most
 * 10 fields per section and 50 blocks per message; text is escaped for mrkdwn (& < >), so a
 * value from a log line cannot inject a link or a mention.
 */
export function mrkdwnEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const SEVERITY_ICON = { low: ':information_source:', medium: ':warning:', high: ':rotating_light:', critical: ':rotating_light:' } as const;

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function field(label: string, value: string): { type: 'mrkdwn'; text: string } {
  return { type: 'mrkdwn', text: cut(`*${label}*\n${mrkdwnEscape(value)}`, 2000) };
}

function keyFields(view: AlertView) {
  const fields = [field('Severity', view.severity.toUpperCase())];
  if (view.rule) fields.push(field('Rule', view.rule));
  if (view.key) {
    fields.push(field('Key', view.key.id));
    if (view.key.fingerprint) fields.push(field('Fingerprint', view.key.fingerprint));
    if (view.key.owner) fields.push(field('Owner', view.key.owner));
    if (view.key.scopes.length) fields.push(field('Scopes', view.key.scopes.join(' ')));
  }
  if (view.policy) fields.push(field('Policy', view.policy));
  if (view.findingId) fields.push(field('Finding', view.findingId));
  fields.push(field('At', view.at));
  return fields.slice(0, 10);
}

function evidenceText(view: AlertView): string | null {
  const lines = view.figures.map(([k, v]) => `• ${mrkdwnEscape(k)}: *${mrkdwnEscape(v)}*`);
  if (view.explanation) lines.unshift(mrkdwnEscape(view.explanation));
  if (view.samples.length) lines.push(`samples: ${view.samples.map((s) => `\`${mrkdwnEscape(s.replace(/`/g, "'"))}\``).join(', ')}`);
  return lines.length ? cut(`*Evidence*\n${lines.join('\n')}`, 3000) : null;
}

function actionsText(view: AlertView): string | null {
  if (!view.actions.length) return null;
  const lines = view.actions.map((a) => `• \`${a.action}\` → ${a.target}: *${a.status}* — ${mrkdwnEscape(a.message)}`);
  return cut(`*Actions taken*\n${lines.join('\n')}`, 3000);
}

/** The webhook body: Block Kit blocks plus a plain `text` fallback for notifications. */
export function slackMessage(view: AlertView): { text: string; blocks: unknown[] } {
  const headline = `${SEVERITY_ICON[view.severity]} [${view.severity.toUpperCase()}] ${view.title}`;
  const blocks: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: cut(`[${view.severity.toUpperCase()}] ${view.title}`, 150), emoji: true } },
    { type: 'section', text: { type: 'mrkdwn', text: cut(mrkdwnEscape(view.summary), 3000) } },
    { type: 'section', fields: keyFields(view) },
  ];
  const evidence = evidenceText(view);
  if (evidence) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: evidence } });
  const actions = actionsText(view);
  if (actions) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: actions } });
  if (view.approval) {
    blocks.push(
      { type: 'section', text: { type: 'mrkdwn', text: `*A person must decide* (links expire ${view.approval.expiresAt})` } },
      {
        type: 'actions',
        elements: [
          { type: 'button', style: 'danger', text: { type: 'plain_text', text: 'Approve' }, url: view.approval.approveUrl, action_id: 'approve' },
          { type: 'button', text: { type: 'plain_text', text: 'Deny' }, url: view.approval.denyUrl, action_id: 'deny' },
        ],
      },
    );
  }
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: 'tuskguard: the key token is never shown, only its fingerprint.' }] });
  return { text: cut(`${headline}: ${view.summary}`, 3000), blocks };
}
