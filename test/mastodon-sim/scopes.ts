/**
 * Doorkeeper's scope rules as Mastodon configures them (FACTS.md §1, §2, §6): 47 configured
 * scopes, default `read`, requested scopes compared as exact strings, any-of on endpoints.
 */

export const DEFAULT_SCOPES = ['read'] as const;

const GRANULAR_READ = [
  'accounts', 'blocks', 'bookmarks', 'collections', 'favourites', 'filters', 'follows', 'lists', 'mutes',
  'notifications', 'search', 'statuses',
] as const;
const GRANULAR_WRITE = [
  'accounts', 'blocks', 'bookmarks', 'collections', 'conversations', 'favourites', 'filters', 'follows', 'lists',
  'media', 'mutes', 'notifications', 'reports', 'statuses',
] as const;
const ADMIN_OBJECTS = [
  'accounts', 'reports', 'domain_allows', 'domain_blocks', 'ip_blocks', 'email_domain_blocks',
  'canonical_email_blocks',
] as const;

/** `config/initializers/doorkeeper.rb:72-119`: default + optional scopes, 47 in all. */
export const CONFIGURED_SCOPES: readonly string[] = Object.freeze([
  'profile', 'read', 'write', 'follow', 'push', 'admin:read', 'admin:write',
  ...GRANULAR_READ.map((s) => `read:${s}`),
  ...GRANULAR_WRITE.map((s) => `write:${s}`),
  ...ADMIN_OBJECTS.map((s) => `admin:read:${s}`),
  ...ADMIN_OBJECTS.map((s) => `admin:write:${s}`),
]);

const CONFIGURED = new Set(CONFIGURED_SCOPES);

/** `OAuth::Scopes.from_string`: split on whitespace, drop duplicates, keep order. */
export function scopesFromString(text: string): string[] {
  return [...new Set(text.split(/\s+/).filter((s) => s !== ''))];
}

/** Request parameters may carry scopes as a string or (Rails array params) a list. */
export function scopesParam(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.filter((v) => typeof v === 'string').join(' ');
  return undefined;
}

export function isConfigured(scope: string): boolean {
  return CONFIGURED.has(scope);
}

/**
 * Doorkeeper `ScopeChecker.valid?`: the string is present, has no tab or newline, and every
 * requested scope is a configured scope that (when the app registered any) the app registered,
 * compared as exact strings — `read` does not cover `read:statuses`.
 */
export function scopeStringValid(scopeStr: string, appScopes: readonly string[]): boolean {
  if (scopeStr.trim() === '' || /[\n\r\t]/.test(scopeStr)) return false;
  const allowed = appScopes.length > 0 ? appScopes.filter((s) => CONFIGURED.has(s)) : CONFIGURED_SCOPES;
  return scopesFromString(scopeStr).every((s) => allowed.includes(s));
}

/** BaseRequest#build_scopes: the requested scopes, else the app's scopes that are default scopes. */
export function effectiveRequestScopes(requested: string | undefined, appScopes: readonly string[]): string[] {
  if (requested !== undefined && requested.trim() !== '') return scopesFromString(requested);
  if (appScopes.length === 0) return [...DEFAULT_SCOPES];
  return appScopes.filter((s) => (DEFAULT_SCOPES as readonly string[]).includes(s));
}

/** Doorkeeper `includes_scope?`: any one of the listed scopes, exact string match. */
export function includesAnyScope(held: readonly string[], required: readonly string[]): boolean {
  return required.length === 0 || required.some((s) => held.includes(s));
}

/** Scope sets are equal when they hold the same strings, in any order (token reuse). */
export function sameScopeSet(a: readonly string[], b: readonly string[]): boolean {
  const sa = new Set(a);
  const sb = new Set(b);
  return sa.size === sb.size && [...sa].every((s) => sb.has(s));
}
