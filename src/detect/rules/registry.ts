import type { RuleType } from '../types.js';
import { baseline } from './baseline/index.js';
import { cardinality } from './cardinality/index.js';
import { newTerm } from './new-term/index.js';
import { ratio } from './ratio/index.js';
import { spike } from './spike/index.js';
import { threshold } from './threshold/index.js';

/**
 * The rule types: one folder each under rules/, one line here; the folder name is the YAML
 * `type:`. test/detect/rules/registry.test.ts checks that the folders and this list agree.
 */
export const RULE_TYPES = {
  threshold,
  spike,
  'new-term': newTerm,
  cardinality,
  ratio,
  baseline,
} as const satisfies Record<string, RuleType<never>>;

export type RuleTypeName = keyof typeof RULE_TYPES;

export const RULE_TYPE_NAMES = Object.keys(RULE_TYPES) as RuleTypeName[];
