import type { z } from 'zod';
import type { Event } from '../core/event.js';
import type { Severity } from '../core/finding.js';
import type { FieldContext, Scalar } from './fields.js';
import type { FilterIssue, Predicate } from './filter.js';

/**
 * What every rule type shares. A rule type is a folder under rules/ exporting a RuleType; the
 * engine owns filtering, exceptions, grouping, suppression, finding ids and persistence, so a
 * rule type only keeps per-group state and says when a group's behaviour is a finding.
 */

/** The common fields of a rule file after validation (durations in milliseconds). */
export interface RuleBase {
  id: string;
  description: string;
  type: string;
  severity: Severity;
  group_by: string[];
  labels: Record<string, string>;
  /** After a finding, the same group stays quiet for this long (event time). */
  suppressMs: number;
  /** Optional sentence template with {placeholders} from the hit's figures. */
  summary?: string | undefined;
  /** Set when the rule is loaded from a file; used in errors. */
  file?: string | undefined;
  enabled: boolean;
}

/** An allowlist entry: events matching `match` are ignored by the rule until `expires`. */
export interface CompiledException {
  reason: string;
  /** Epoch ms (event time) after which the exception no longer applies; Infinity when none. */
  expires: number;
  match: Predicate;
}

/** A validated and compiled rule, ready for the engine. */
export interface Rule<P = Record<string, unknown>> extends RuleBase {
  params: P;
  filter: Predicate;
  exceptions: CompiledException[];
  /** The rule-type implementation bound to this rule's parameters. */
  detector: Detector<unknown>;
}

/** What a detector reports when a group's behaviour is a finding. */
export interface Hit {
  /** Identifies the window or term the hit is about; with rule and group it makes the finding id. */
  windowKey: string;
  /** Start of the window the hit is about (epoch ms), for evidence. */
  windowStart: number;
  /** Figures for the summary template and evidence (count, threshold, distinct…). */
  vars: Record<string, Scalar>;
  /** Why it fired, in words, e.g. "42 matching events in 5m ≥ threshold 10". */
  why: string;
  /** Extra evidence (baseline figures, values); merged into Finding.evidence. */
  evidence?: Record<string, unknown>;
}

/**
 * One rule type's logic, bound to one rule. State is a plain JSON value per group so the engine
 * can persist, restore and evict it; detectors keep no other mutable state.
 */
export interface Detector<S> {
  /**
   * Identifies the layout of the state for these parameters. State saved under another shape
   * (after a rule edit that changes its meaning, e.g. a new window) is discarded on restore.
   */
  readonly shape: string;
  /** State of a group seen for the first time at event time `t`. */
  init(t: number): S;
  /** Account one event (already filtered and grouped) at event time `t`; a Hit when it fires. */
  observe(state: S, event: Event, t: number, ctx: FieldContext): Hit | undefined;
  /**
   * Whether the group's state holds nothing worth keeping at watermark `wm`, so an idle group
   * can be dropped rather than persisted (window rules empty out; learned history never does).
   */
  isEmpty(state: S, wm: number): boolean;
  /** Event-time idle period after which the engine may move the group out of memory. */
  readonly idleMs: number;
}

/** A rule type: the parameters it adds to the rule schema, and how to bind them. */
export interface RuleType<P> {
  /** zod shape of the type's own keys (merged, strict, into the rule schema). */
  readonly params: z.ZodRawShape;
  /** Default summary sentence; placeholders name Hit.vars plus {key}, {rule}, {group}. */
  readonly summary: string;
  /** Names of the figures every Hit of this type sets in `vars` (summary placeholders). */
  readonly vars: readonly string[];
  /** Extra checks across parameters; paths are relative to the rule's root. */
  check?(params: P): FilterIssue[];
  create(params: P, rule: RuleBase): Detector<unknown>;
}
