/**
 * Last-resort scrubbing of text that may carry a credential (a dead-lettered line, an upstream
 * error body). It removes values, not lines, so nothing else is lost.
 */
const PATTERNS: ReadonlyArray<[RegExp, string]> = [
  [/([?&;]|\b)(access_token|token|client_secret|code|password)=([^&\s"'#]+)/gi, '$1$2=[REDACTED]'],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/g, '$1 [REDACTED]'],
  [/("(?:access_token|token|client_secret|password|authorization)"\s*:\s*)"[^"]*"/gi, '$1"[REDACTED]"'],
];

export function redactSecrets(text: string): string {
  let out = text;
  for (const [re, replacement] of PATTERNS) out = out.replace(re, replacement);
  return out;
}

/** Redact only the `access_token` parameter of a query string (keeps the rest readable). */
export function redactQuery(query: string): string {
  return query.replace(/(^|[&;])(access_token)=([^&;#]*)/gi, '$1$2=[REDACTED]');
}
