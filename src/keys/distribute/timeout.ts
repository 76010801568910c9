/**
 * `10s` → 10000 for target timeouts. Local on purpose: the target schemas are part of the
 * config schema, so importing src/config/schema.ts from here would make an import cycle.
 */
export function timeoutMs(text: string): number {
  const m = /^(\d+)(ms|s|m)$/.exec(text);
  if (!m) throw new Error(`not a timeout: ${text}`);
  return Number(m[1]) * { ms: 1, s: 1_000, m: 60_000 }[m[2] as 'ms' | 's' | 'm'];
}
