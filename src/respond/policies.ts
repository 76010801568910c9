import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { formatZodIssues } from '../config/load.js';
import { durationMs } from '../config/schema.js';
import { TuskguardError } from '../core/errors.js';
import { SEVERITIES, type Finding, type Severity } from '../core/finding.js';
import type { AnyActionModule, KeyInfo } from './types.js';

/**
 * Policies (rules/policies.yaml) map findings to ordered actions. They are data: a strict zod
 * schema validates them at load and every error names the file and the path of the bad key.
 * The `actions` entries are validated by the schemas of the registered action modules.
 */

export const duration = z
  .string()
  .regex(/^\d+(ms|s|m|h|d|w)$/, 'a duration such as 30s, 15m, 1h or 7d')
  .describe('A whole number followed by ms, s, m, h, d or w.');

/** A glob with `*` as the only wildcard (`admin:*`, `token-*`); everything else is literal. */
export const pattern = z.string().min(1).max(200).describe('Exact text, or a pattern with * wildcards.');

const idSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'kebab-case id: lowercase letters, digits and dashes');

/** label → pattern, or a list of patterns (any may match); `*` only asks that the label exist. */
export const labelMatchSchema = z.record(z.string().min(1), z.union([pattern, z.array(pattern).min(1)]));

export const matchSchema = z
  .object({
    rule: z.union([pattern, z.array(pattern).min(1)]).optional().describe('Rule id(s) or patterns; any may match.'),
    severity: z.enum(SEVERITIES).optional().describe('At least this severity.'),
    labels: labelMatchSchema.optional().describe("All must match the finding's labels."),
    key_labels: labelMatchSchema.optional().describe("All must match the key's labels (needs a managed key)."),
    key_scopes: z
      .array(pattern)
      .min(1)
      .optional()
      .describe('The key holds a scope matching any of these (`admin:*`); a parent scope (`write`) covers its children.'),
    key_kind: z.enum(['user', 'app']).optional(),
    managed_key: z.boolean().optional().describe('true: only findings about a managed key; false: only the others.'),
  })
  .strict();
export type PolicyMatch = z.infer<typeof matchSchema>;

export const allowEntrySchema = z
  .object({
    key: z.string().optional().describe('Managed key id.'),
    fingerprint: z.string().optional(),
    rule: pattern.optional(),
    ip: z.string().optional().describe("Exact value of the finding's `source.ip` or `source.network` group field."),
    actions: z.array(z.string()).min(1).optional().describe('Only these actions are suppressed (default: all).'),
    until: z.iso.datetime({ offset: true }).describe('The entry stops applying at this time (ISO 8601).'),
    reason: z.string().min(1).describe('Why (recorded in the audit chain when the entry applies).'),
  })
  .strict()
  .refine((e) => e.key || e.fingerprint || e.rule || e.ip, { message: 'name at least one of key, fingerprint, rule, ip' });
export type AllowEntry = z.infer<typeof allowEntrySchema>;

export const safeguardsSchema = z
  .object({
    revocation_budget: z
      .object({
        max: z.number().int().min(0).describe('Automatic revocations allowed per window; past it the breaker opens.'),
        window: duration,
      })
      .strict()
      .default({ max: 3, window: '1h' }),
    cooldown: duration.default('1h').describe('A contain/revoke action on the same target waits this long before repeating.'),
    approval_ttl: duration.default('24h').describe('Approve/deny links expire after this.'),
    alert_group_interval: duration.default('15m').describe('Alerts of one rule + key within this are folded into a digest.'),
    protected: z
      .object({
        scopes: z.array(pattern).default(['admin:*']).describe('Keys holding a matching scope need approval.'),
        labels: labelMatchSchema.default({ protected: 'true' }).describe('Keys with any matching label need approval.'),
        keys: z.array(z.string()).default([]).describe('Key ids that always need approval.'),
      })
      .strict()
      .default({ scopes: ['admin:*'], labels: { protected: 'true' }, keys: [] }),
    allowlist: z.array(allowEntrySchema).default([]),
  })
  .strict();
export type SafeguardSettings = z.infer<typeof safeguardsSchema>;

export function policyFileSchema(modules: readonly AnyActionModule[]) {
  const schemas = modules.map((m) => m.config) as unknown as [z.ZodObject, ...z.ZodObject[]];
  const action = z.discriminatedUnion('type', schemas);
  const policy = z
    .object({
      id: idSchema,
      description: z.string().optional(),
      enabled: z.boolean().default(true),
      match: matchSchema.default({}),
      actions: z.array(action).min(1),
      on_match: z.enum(['stop', 'continue']).default('stop').describe('stop: later policies are not tried.'),
      dry_run: z.boolean().optional().describe('Overrides the file-wide dry_run for this policy.'),
    })
    .strict();
  return z
    .object({
      version: z.literal(1),
      dry_run: z.boolean().default(false).describe('Simulation for every policy: decide and audit, change and send nothing.'),
      safeguards: safeguardsSchema.default(safeguardsSchema.parse({})),
      policies: z.array(policy),
    })
    .strict()
    .superRefine((file, ctx) => {
      const seen = new Set<string>();
      file.policies.forEach((p, i) => {
        if (seen.has(p.id)) ctx.addIssue({ code: 'custom', message: `duplicate policy id ${p.id}`, path: ['policies', i, 'id'] });
        seen.add(p.id);
      });
    });
}

export interface PolicyAction {
  type: string;
  [k: string]: unknown;
}

export interface Policy {
  id: string;
  description?: string | undefined;
  enabled: boolean;
  match: PolicyMatch;
  actions: PolicyAction[];
  on_match: 'stop' | 'continue';
  dry_run?: boolean | undefined;
}

export interface PolicyFile {
  version: 1;
  dry_run: boolean;
  safeguards: SafeguardSettings;
  policies: Policy[];
}

/** Validate parsed YAML; errors are POLICY_INVALID naming `file` and each bad path. */
export function validatePolicies(raw: unknown, modules: readonly AnyActionModule[], file = '(inline)'): PolicyFile {
  const result = policyFileSchema(modules).safeParse(raw);
  if (!result.success) {
    throw new TuskguardError('POLICY_INVALID', `${file}:\n  ${formatZodIssues(result.error)}`, {
      hint: `fix the keys named above; action types available: ${modules.map((m) => m.id).join(', ')}`,
      details: { file },
    });
  }
  return result.data as PolicyFile;
}

/** Read, parse and validate a policy file. */
export function loadPolicies(file: string, modules: readonly AnyActionModule[]): PolicyFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new TuskguardError('POLICY_INVALID', `cannot read policy file ${file}`, {
      hint: 'pass an existing file (the shipped defaults are rules/policies.yaml)',
      cause: e,
    });
  }
  let raw: unknown;
  try {
    raw = parseYaml(text, { prettyErrors: true });
  } catch (e) {
    throw new TuskguardError('POLICY_INVALID', `${file}: not valid YAML: ${(e as Error).message}`, {
      hint: 'check indentation and quoting near the line shown',
    });
  }
  return validatePolicies(raw, modules, file);
}

// ---- matching ----

const patternCache = new Map<string, RegExp>();

/** Whether `text` matches a `*` glob (anchored, case-sensitive). */
export function globMatch(glob: string, text: string): boolean {
  let re = patternCache.get(glob);
  if (!re) {
    const source = glob.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*');
    re = new RegExp(`^${source}$`, 's');
    if (patternCache.size < 10_000) patternCache.set(glob, re);
  }
  return re.test(text);
}

/**
 * Whether a key scope covers a pattern: the pattern matches the scope itself, or the scope is
 * a parent of what the pattern names (`write` covers `write:statuses` and `write:*`, as
 * Mastodon accepts a parent wherever it accepts the child).
 */
export function scopeCovers(scope: string, glob: string): boolean {
  return globMatch(glob, scope) || glob.startsWith(`${scope}:`);
}

export function labelsMatch(want: Record<string, string | string[]>, have: Readonly<Record<string, string>>): boolean {
  return Object.entries(want).every(([name, expected]) => {
    const value = have[name];
    if (value === undefined) return false;
    return (Array.isArray(expected) ? expected : [expected]).some((g) => globMatch(g, value));
  });
}

export function severityAtLeast(have: Severity, min: Severity): boolean {
  return SEVERITIES.indexOf(have) >= SEVERITIES.indexOf(min);
}

/** Whether one policy's `match` block selects this finding (all conditions must hold). */
export function policyMatches(match: PolicyMatch, finding: Finding, key: KeyInfo | null): boolean {
  if (match.rule !== undefined && !(Array.isArray(match.rule) ? match.rule : [match.rule]).some((g) => globMatch(g, finding.rule))) return false;
  if (match.severity && !severityAtLeast(finding.severity, match.severity)) return false;
  if (match.labels && !labelsMatch(match.labels, finding.labels)) return false;
  if (match.managed_key !== undefined && match.managed_key !== (key !== null)) return false;
  const needsKey = match.key_labels || match.key_scopes || match.key_kind;
  if (!needsKey) return true;
  if (!key) return false;
  if (match.key_kind && key.kind !== match.key_kind) return false;
  if (match.key_labels && !labelsMatch(match.key_labels, key.labels)) return false;
  if (match.key_scopes && !key.scopes.some((s) => match.key_scopes!.some((g) => scopeCovers(s, g)))) return false;
  return true;
}

/** The enabled policies that select this finding, in file order, honouring `on_match: stop`. */
export function selectPolicies(file: PolicyFile, finding: Finding, key: KeyInfo | null): Policy[] {
  const out: Policy[] = [];
  for (const policy of file.policies) {
    if (!policy.enabled || !policyMatches(policy.match, finding, key)) continue;
    out.push(policy);
    if (policy.on_match === 'stop') break;
  }
  return out;
}

/** Milliseconds of the file's safeguard durations, computed once. */
export function safeguardMs(s: SafeguardSettings) {
  return {
    budgetWindow: durationMs(s.revocation_budget.window),
    cooldown: durationMs(s.cooldown),
    approvalTtl: durationMs(s.approval_ttl),
    alertGroupInterval: durationMs(s.alert_group_interval),
  };
}
