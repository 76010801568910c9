import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { parseDocument } from 'yaml';
import { TuskguardError } from '../core/errors.js';
import { type RuleIssue, parseRule } from './schema.js';
import type { Rule } from './types.js';

/**
 * Loading rule files: `<id>.yaml` (or `.yml`), one rule per file. Every file is checked and
 * every problem collected, so `rules validate` reports them all at once; the engine's loader
 * refuses to start on any of them (style rule: fail fast at load).
 */
export const RULE_FILE_MAX_BYTES = 1024 * 1024;

export interface LoadResult {
  rules: Rule[];
  issues: RuleIssue[];
  /** Non-fatal remarks (an exception already expired, a disabled rule). */
  warnings: RuleIssue[];
  files: string[];
}

/** Rule files of a directory, sorted by name. */
export function ruleFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => join(dir, f));
}

/** Parse and validate one rule file. */
export function loadRuleFile(file: string, now = Date.now()): Omit<LoadResult, 'files'> {
  const fail = (path: string, message: string) => ({ rules: [], issues: [{ file, path, message }], warnings: [] });
  let text: string;
  try {
    if (statSync(file).size > RULE_FILE_MAX_BYTES) return fail('(file)', `larger than ${RULE_FILE_MAX_BYTES} bytes`);
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return fail('(file)', `cannot read: ${(e as Error).message}`);
  }
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true});
  if (doc.errors.length) {
    return { rules: [], issues: doc.errors.map((e) => ({ file, path: '(yaml)', message: e.message.split('\n')[0]! })), warnings: [] };
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 50 });
  } catch (e) {
    return fail('(yaml)', (e as Error).message);
  }
  const result = parseRule(value, file, basename(file, extname(file)));
  if (!result.rule) return { rules: [], issues: result.issues, warnings: [] };
  const warnings: RuleIssue[] = [];
  result.rule.exceptions.forEach((ex, i) => {
    if (ex.expires < now) warnings.push({ file, path: `exceptions[${i}].expires`, message: `exception "${ex.reason}" has expired` });
  });
  if (!result.rule.enabled) warnings.push({ file, path: 'enabled', message: 'rule is disabled' });
  return { rules: [result.rule], issues: [], warnings };
}

/** Load every rule file of a directory (or one file); collects all issues. */
export function loadRules(path: string, now = Date.now()): LoadResult {
  let files: string[];
  try {
    files = statSync(path).isDirectory() ? ruleFiles(path) : [path];
  } catch (e) {
    return { rules: [], issues: [{ file: path, path: '(file)', message: `cannot read: ${(e as Error).message}` }], warnings: [], files: [] };
  }
  const out: LoadResult = { rules: [], issues: [], warnings: [], files };
  const seen = new Map<string, string>();
  for (const file of files) {
    const r = loadRuleFile(file, now);
    for (const rule of r.rules) {
      const other = seen.get(rule.id);
      if (other) out.issues.push({ file, path: 'id', message: `duplicate rule id "${rule.id}" (also in ${other})` });
      else seen.set(rule.id, file);
    }
    out.rules.push(...r.rules);
    out.issues.push(...r.issues);
    out.warnings.push(...r.warnings);
  }
  return out;
}

/** Load rules for running: throws RULE_INVALID naming every file and path at fault. */
export function loadRulesOrThrow(path: string): Rule[] {
  const r = loadRules(path);
  if (r.issues.length) {
    const lines = r.issues.map((i) => `${i.file}: ${i.path}: ${i.message}`);
    throw new TuskguardError('RULE_INVALID', `invalid rules:\n  ${lines.join('\n  ')}`, {
      hint: `fix the files above; \`tuskguard rules validate ${path}\` rechecks them`,
      details: { issues: r.issues },
    });
  }
  return r.rules.filter((x) => x.enabled);
}
