import { z } from 'zod';
import { SEVERITIES } from '../core/finding.js';
import { durationSchema } from './duration.js';
import { fieldKind } from './fields.js';
import { type FilterIssue, compileFilter } from './filter.js';
import { RULE_TYPES, RULE_TYPE_NAMES, type RuleTypeName } from './rules/registry.js';
import type { CompiledException, Rule, RuleBase, RuleType } from './types.js';

/**
 * The rule file contract (`rules/detections/<id>.yaml`): common keys plus the keys of the
 * rule's type, in one strict object per type, so a misspelt key fails with its path.
 * Filters, exceptions, group-by fields and summary placeholders are compiled here too, so a
 * rule that validates is a rule that runs.
 */
export const exceptionSchema = z.strictObject({
  reason: z.string().min(1).describe('Why these events are allowed (who asked, ticket).'),
  expires: z
    .union([z.iso.date(), z.iso.datetime({ offset: true })])
    .optional()
    .describe('Event time after which the exception no longer applies (YYYY-MM-DD = start of that day, UTC).'),
  match: z.unknown().optional().describe('Filter selecting the allowed events (required).'),
});

export const baseRuleShape = {
  id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'kebab-case, equal to the file name').describe('Rule id (= file name).'),
  description: z.string().min(1).max(2_000).describe('What the rule detects and why it matters; quoted in findings.'),
  enabled: z.boolean().default(true),
  filter: z.unknown().optional().describe('Which events the rule looks at (see rules/README.md).'),
  group_by: z.array(z.string()).max(4).default(['tuskguard.fingerprint']).describe('Fields whose values form a group; [] = one group.'),
  severity: z.enum(SEVERITIES),
  labels: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/), z.string().max(200)).default({}).describe('ATT&CK tactic/technique and free labels.'),
  suppress: durationSchema.optional().describe('After a finding, the group stays quiet this long (default: the window).'),
  summary: z.string().max(500).optional().describe('Sentence template; {placeholders} from the finding.'),
  exceptions: z.array(exceptionSchema).max(1_000).default([]),
};

const RULE_SCHEMAS = Object.fromEntries(
  RULE_TYPE_NAMES.map((name) => [
    name,
    z.strictObject({ ...baseRuleShape, ...RULE_TYPES[name].params, type: z.literal(name) }),
  ]),
) as unknown as Record<RuleTypeName, z.ZodObject>;

/** Placeholders every summary may use besides the type's own figures. */
export const COMMON_PLACEHOLDERS = ['key', 'fingerprint', 'rule', 'group', 'at'] as const;

export interface RuleIssue {
  /** Rule file (or `<inline>`). */
  file: string;
  /** Path of the bad key, e.g. `filter["http.response.status_code"].equals`. */
  path: string;
  message: string;
}

/** `['filter', 'http.response.status_code', 'in', 0]` → `filter["http.response.status_code"].in[0]`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (typeof seg === 'string' && /^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out || '(root)';
}

function zodIssues(error: z.ZodError, shape: Record<string, unknown>): FilterIssue[] {
  return error.issues.flatMap((i): FilterIssue[] => {
    const path = i.path as Array<string | number>;
    if (i.code === 'unrecognized_keys') {
      const allowed = path.length === 0 ? ` (allowed: ${Object.keys(shape).sort().join(', ')})` : '';
      return i.keys.map((k) => ({ path: [...path, k], message: `unknown key${allowed}` }));
    }
    return [{ path, message: i.message }];
  });
}

type Parsed = z.infer<z.ZodObject> & Record<string, unknown>;

/** Every check beyond the schema; issues carry paths from the rule's root. */
function semanticIssues(doc: Parsed, type: RuleType<never>, ruleId: string | undefined): FilterIssue[] {
  const issues: FilterIssue[] = [];
  if (ruleId !== undefined && doc.id !== ruleId) {
    issues.push({ path: ['id'], message: `id "${String(doc.id)}" must equal the file name "${ruleId}"` });
  }
  for (const i of compileFilter(doc.filter).issues) issues.push({ path: ['filter', ...i.path], message: i.message });
  (doc.group_by as string[]).forEach((f, i) => {
    if (!fieldKind(f)) issues.push({ path: ['group_by', i], message: `unknown field "${f}"` });
  });
  (doc.exceptions as Array<{ match: unknown }>).forEach((ex, n) => {
    if (ex.match === undefined) issues.push({ path: ['exceptions', n, 'match'], message: 'an exception needs a `match` filter' });
    else for (const i of compileFilter(ex.match).issues) issues.push({ path: ['exceptions', n, 'match', ...i.path], message: i.message });
  });
  issues.push(...(type.check?.(doc as never) ?? []));
  if (typeof doc.summary === 'string') {
    const allowed = new Set<string>([...COMMON_PLACEHOLDERS, ...type.vars]);
    for (const m of doc.summary.matchAll(/\{([a-z_]+)\}/g)) {
      if (!allowed.has(m[1]!)) issues.push({ path: ['summary'], message: `unknown placeholder {${m[1]}} (one of ${[...allowed].join(', ')})` });
    }
  }
  return issues;
}

/** Filter problems of a document that failed the schema, so one run reports them too. */
function rawFilterIssues(doc: Record<string, unknown>): FilterIssue[] {
  if (doc.filter === undefined) return [];
  return compileFilter(doc.filter).issues.map((i) => ({ path: ['filter', ...i.path], message: i.message }));
}

function expiry(text: string | undefined): number {
  if (!text) return Infinity;
  return Date.parse(text.length === 10 ? `${text}T00:00:00Z` : text);
}

/** Defaults that depend on the type: suppress = the window (or interval, or 1h). */
function defaultSuppress(doc: Parsed): number {
  const w = doc.window ?? doc.interval;
  return typeof w === 'number' ? w : 3_600_000;
}

export type ParseResult = { rule: Rule; issues: [] } | { rule: undefined; issues: RuleIssue[] };

/**
 * Validate and compile one rule document. `ruleId` (the file name without extension) is
 * checked against `id` when given. Never throws for bad input: returns the issues.
 */
export function parseRule(doc: unknown, file = '<inline>', ruleId?: string): ParseResult {
  const fail = (issues: FilterIssue[]): ParseResult => ({
    rule: undefined,
    issues: issues.map((i) => ({ file, path: formatPath(i.path), message: i.message })),
  });
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return fail([{ path: [], message: 'a rule file must hold one mapping (key: value)' }]);
  const typeName = (doc as Record<string, unknown>).type;
  if (typeof typeName !== 'string' || !(RULE_TYPE_NAMES as string[]).includes(typeName)) {
    return fail([{ path: ['type'], message: `unknown rule type ${JSON.stringify(typeName)} (one of ${RULE_TYPE_NAMES.join(', ')})` }]);
  }
  const name = typeName as RuleTypeName;
  const schema = RULE_SCHEMAS[name];
  const parsed = schema.safeParse(doc);
  if (!parsed.success) return fail([...zodIssues(parsed.error, schema.shape), ...rawFilterIssues(doc as Record<string, unknown>)]);
  const data = parsed.data as Parsed;
  const type = RULE_TYPES[name] as RuleType<never>;
  const issues = semanticIssues(data, type, ruleId);
  if (issues.length) return fail(issues);
  return { rule: compile(data, type, file), issues: [] };
}

function compile(data: Parsed, type: RuleType<never>, file: string): Rule {
  const baseKeys = new Set(Object.keys(baseRuleShape).concat('type'));
  const params = Object.fromEntries(Object.entries(data).filter(([k]) => !baseKeys.has(k)));
  const base: RuleBase = {
    id: data.id as string,
    description: data.description as string,
    type: data.type as string,
    severity: data.severity as Rule['severity'],
    group_by: data.group_by as string[],
    labels: data.labels as Record<string, string>,
    suppressMs: (data.suppress as number | undefined) ?? defaultSuppress(data),
    summary: (data.summary as string | undefined) ?? type.summary,
    file,
    enabled: data.enabled as boolean,
  };
  const exceptions: CompiledException[] = (data.exceptions as Array<{ reason: string; expires?: string; match: unknown }>).map((ex) => ({
    reason: ex.reason,
    expires: expiry(ex.expires),
    match: compileFilter(ex.match).predicate,
  }));
  return { ...base, params, filter: compileFilter(data.filter).predicate, exceptions, detector: type.create(params as never, base) };
}
