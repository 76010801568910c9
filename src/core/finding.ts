/** What detection emits. Detection never acts: policies map findings to actions. */

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface Finding {
  /** Deterministic: rule id + group + window, so a replay or restart never re-fires it. */
  id: string;
  /** Rule id (= rule file name). */
  rule: string;
  severity: Severity;
  /** Managed key id, or null for an unknown fingerprint / IP-level rule. */
  key: string | null;
  /** Fingerprint of the key the finding is about, when the rule groups by key. */
  fingerprint: string | null;
  /** The group-by values that identify this finding's group. */
  group: Record<string, string>;
  /** Event time (ISO 8601) of the event that triggered the finding. */
  at: string;
  /** Wall-clock time the finding was produced (ISO 8601). */
  detected_at: string;
  /** One sentence for people: what happened, for which key, compared to what. */
  summary: string;
  /** ATT&CK-style labels and free labels from the rule. */
  labels: Record<string, string>;
  /** Figures and samples that justify the finding; never a raw secret. */
  evidence: {
    explanation: string;
    count?: number;
    threshold?: number;
    baseline?: Record<string, number>;
    values?: string[];
    sample_event_ids?: string[];
    [k: string]: unknown;
  };
}
