import type { Event } from '../core/event.js';
import { type FieldContext, type FieldKind, type Scalar, fieldGetter, fieldKind, fieldValues } from './fields.js';
import { CidrSet } from './net.js';

/**
 * The filter language: a small declarative condition on one event, compiled once per rule.
 *
 *   filter:
 *     http.response.status_code: 401          # shorthand for { equals: 401 }
 *     tuskguard.key_id: { exists: false }
 *     url.path: { prefix: [/api/v1/admin/, /api/v2/admin/] }
 *     any: [ { source.ip: { cidr: 10.0.0.0/8 } }, { user_agent.name: curl } ]
 *     not: { http.request.method: [GET, HEAD] }  # shorthand for { in: [...] }
 *
 * Keys of one object are ANDed; `any`/`all` take lists of objects; `not` takes one. On a list
 * field (`mastodon.required_scopes`) an operator holds when any element satisfies it.
 * Operators: equals, in, prefix, range {gt,gte,lt,lte}, exists, cidr, regex (≤ 256 chars, no
 * nested quantifiers or back-references; tested on at most the first 8,192 characters).
 */
export type Predicate = (event: Event, ctx: FieldContext) => boolean;

/** A problem in a filter, with the path below the filter's own position in the rule. */
export interface FilterIssue {
  path: Array<string | number>;
  message: string;
}

export const REGEX_MAX_LENGTH = 256;
export const REGEX_INPUT_MAX = 8_192;
const OPERATORS = ['equals', 'in', 'prefix', 'range', 'exists', 'cidr', 'regex'] as const;
const RANGE_KEYS = ['gt', 'gte', 'lt', 'lte'] as const;

type Path = Array<string | number>;

class Compiler {
  readonly issues: FilterIssue[] = [];

  fail(path: Path, message: string): Predicate {
    this.issues.push({ path, message });
    return () => false;
  }

  node(spec: unknown, path: Path): Predicate {
    if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
      return this.fail(path, 'expected an object of field conditions');
    }
    const parts: Predicate[] = [];
    for (const [key, value] of Object.entries(spec)) {
      const at = [...path, key];
      if (key === 'any' || key === 'all') parts.push(this.list(key, value, at));
      else if (key === 'not') {
        const inner = this.node(value, at);
        parts.push((e, c) => !inner(e, c));
      } else parts.push(this.field(key, value, at));
    }
    if (parts.length === 0) return this.fail(path, 'empty filter object: name at least one field or any/all/not');
    return parts.length === 1 ? parts[0]! : (e, c) => parts.every((p) => p(e, c));
  }

  list(kind: 'any' | 'all', value: unknown, path: Path): Predicate {
    if (!Array.isArray(value) || value.length === 0) return this.fail(path, `${kind} expects a non-empty list of filter objects`);
    const parts = value.map((v, i) => this.node(v, [...path, i]));
    return kind === 'any' ? (e, c) => parts.some((p) => p(e, c)) : (e, c) => parts.every((p) => p(e, c));
  }

  field(name: string, spec: unknown, path: Path): Predicate {
    const kind = fieldKind(name);
    if (!kind) return this.fail(path, `unknown field "${name}" (see rules/README.md for the field list)`);
    const cond = normalize(spec);
    const ops = Object.entries(cond);
    if (ops.length === 0) return this.fail(path, 'a field condition needs at least one operator');
    const get = fieldGetter(name);
    const tests: Array<(v: Scalar) => boolean> = [];
    let exists: boolean | undefined;
    for (const [op, arg] of ops) {
      if (op === 'exists') {
        if (typeof arg !== 'boolean') return this.fail([...path, op], 'exists expects true or false');
        exists = arg;
        continue;
      }
      const test = this.operator(op, arg, kind, [...path, op]);
      if (test) tests.push(test);
    }
    return (e, c) => {
      const values = fieldValues(get, e, c);
      if (exists !== undefined && exists !== values.length > 0) return false;
      return tests.every((t) => values.some(t));
    };
  }

  operator(op: string, arg: unknown, kind: FieldKind, path: Path): ((v: Scalar) => boolean) | undefined {
    switch (op) {
      case 'equals':
        if (!this.scalarFits(arg, kind, path)) return undefined;
        return (v) => v === arg;
      case 'in': {
        if (!Array.isArray(arg) || arg.length === 0) return void this.fail(path, 'in expects a non-empty list');
        if (!arg.every((a, i) => this.scalarFits(a, kind, [...path, i]))) return undefined;
        const set = new Set<Scalar>(arg as Scalar[]);
        return (v) => set.has(v);
      }
      case 'prefix': {
        const list = typeof arg === 'string' ? [arg] : arg;
        if (!isStringList(list)) return void this.fail(path, 'prefix expects a string or a list of strings');
        if (!textual(kind)) return void this.fail(path, `prefix needs a text field, not a ${kind} field`);
        return (v) => typeof v === 'string' && list.some((p) => v.startsWith(p));
      }
      case 'range':
        return this.range(arg, kind, path);
      case 'cidr':
        return this.cidr(arg, kind, path);
      case 'regex':
        return this.regex(arg, kind, path);
      default:
        return void this.fail(path, `unknown operator "${op}" (one of ${OPERATORS.join(', ')})`);
    }
  }

  range(arg: unknown, kind: FieldKind, path: Path): ((v: Scalar) => boolean) | undefined {
    if (kind !== 'number') return void this.fail(path, `range needs a number field, not a ${kind} field`);
    if (arg === null || typeof arg !== 'object' || Array.isArray(arg)) return void this.fail(path, 'range expects {gt|gte|lt|lte: number}');
    const r = arg as Record<string, unknown>;
    for (const k of Object.keys(r)) {
      if (!(RANGE_KEYS as readonly string[]).includes(k)) return void this.fail([...path, k], `unknown range bound (one of ${RANGE_KEYS.join(', ')})`);
      if (typeof r[k] !== 'number') return void this.fail([...path, k], 'a range bound must be a number');
    }
    if (Object.keys(r).length === 0) return void this.fail(path, 'range needs at least one bound');
    const { gt, gte, lt, lte } = r as Partial<Record<(typeof RANGE_KEYS)[number], number>>;
    return (v) =>
      typeof v === 'number' &&
      (gt === undefined || v > gt) &&
      (gte === undefined || v >= gte) &&
      (lt === undefined || v < lt) &&
      (lte === undefined || v <= lte);
  }

  cidr(arg: unknown, kind: FieldKind, path: Path): ((v: Scalar) => boolean) | undefined {
    if (kind !== 'ip') return void this.fail(path, `cidr needs an IP field (source.ip, client.ip), not a ${kind} field`);
    const list = typeof arg === 'string' ? [arg] : arg;
    if (!isStringList(list)) return void this.fail(path, 'cidr expects a network or a list of networks');
    try {
      const set = new CidrSet(list);
      return (v) => typeof v === 'string' && set.has(v);
    } catch (e) {
      return void this.fail(path, (e as Error).message);
    }
  }

  regex(arg: unknown, kind: FieldKind, path: Path): ((v: Scalar) => boolean) | undefined {
    if (typeof arg !== 'string') return void this.fail(path, 'regex expects a string');
    if (!textual(kind)) return void this.fail(path, `regex needs a text field, not a ${kind} field`);
    const problem = regexProblem(arg);
    if (problem) return void this.fail(path, problem);
    const re = new RegExp(arg);
    return (v) => typeof v === 'string' && re.test(v.length > REGEX_INPUT_MAX ? v.slice(0, REGEX_INPUT_MAX) : v);
  }

  scalarFits(arg: unknown, kind: FieldKind, path: Path): boolean {
    const want = kind === 'number' ? 'number' : kind === 'boolean' ? 'boolean' : 'string';
    if (typeof arg !== want) {
      this.fail(path, `expected a ${want} for this ${kind} field, got ${JSON.stringify(arg)}`);
      return false;
    }
    return true;
  }
}

function textual(kind: FieldKind): boolean {
  return kind === 'string' || kind === 'strings' || kind === 'ip';
}

function isStringList(x: unknown): x is string[] {
  return Array.isArray(x) && x.length > 0 && x.every((s) => typeof s === 'string');
}

/** Shorthand: a scalar means `equals`, a list means `in`. */
function normalize(spec: unknown): Record<string, unknown> {
  if (Array.isArray(spec)) return { in: spec };
  if (spec !== null && typeof spec === 'object') return spec as Record<string, unknown>;
  return { equals: spec };
}

/**
 * Why a pattern is refused, or undefined when it is acceptable. JavaScript regexes backtrack,
 * so patterns with nested quantifiers (`(a+)+`) or back-references can take exponential time
 * on a hostile line; rules do not need them.
 */
export function regexProblem(pattern: string): string | undefined {
  if (pattern.length > REGEX_MAX_LENGTH) return `regex longer than ${REGEX_MAX_LENGTH} characters`;
  if (/\\[1-9]|\\k</.test(pattern)) return 'regex back-references are not allowed';
  if (/\((?:[^()\\]|\\.)*(?:[+*]|\{\d+,\d*\})(?:[^()\\]|\\.)*\)(?:[+*]|\{\d+,\d*\})/.test(pattern)) {
    return 'nested quantifiers (like (a+)+) are not allowed: they can backtrack for a very long time';
  }
  try {
    new RegExp(pattern);
  } catch (e) {
    return `invalid regex: ${(e as Error).message}`;
  }
  return undefined;
}

/** Compile a filter spec. Returns the predicate, or the issues when the spec is invalid. */
export function compileFilter(spec: unknown): { predicate: Predicate; issues: FilterIssue[] } {
  const c = new Compiler();
  const predicate = spec === undefined ? () => true : c.node(spec, []);
  return { predicate, issues: c.issues };
}
