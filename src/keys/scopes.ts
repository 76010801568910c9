/**
 * Mastodon's configured OAuth scopes (FACTS.md §6; doorkeeper.rb:72-119), 47 in all. Scopes
 * are compared as exact strings and there is no implicit hierarchy: a parent is accepted only
 * because Mastodon lists it next to the child in every filter.
 */
const READ = ['accounts', 'blocks', 'bookmarks', 'collections', 'favourites', 'filters', 'follows', 'lists', 'mutes', 'notifications', 'search', 'statuses'];
const WRITE = ['accounts', 'blocks', 'bookmarks', 'collections', 'conversations', 'favourites', 'filters', 'follows', 'lists', 'media', 'mutes', 'notifications', 'reports', 'statuses'];
const ADMIN = ['accounts', 'reports', 'domain_allows', 'domain_blocks', 'ip_blocks', 'email_domain_blocks', 'canonical_email_blocks'];

export const PARENT_SCOPES = ['read', 'write', 'follow', 'admin:read', 'admin:write'] as const;

export const KNOWN_SCOPES: ReadonlySet<string> = new Set([
  'profile',
  'read',
  'write',
  'follow',
  'push',
  'admin:read',
  'admin:write',
  ...READ.map((s) => `read:${s}`),
  ...WRITE.map((s) => `write:${s}`),
  ...ADMIN.map((s) => `admin:read:${s}`),
  ...ADMIN.map((s) => `admin:write:${s}`),
]);

const PARENTS: ReadonlySet<string> = new Set(PARENT_SCOPES);

/**
 * True for a broad scope that stands for a family (`read`, `write`, `admin:read`,
 * `admin:write`) or for the legacy `follow`, which spans reads and writes of follows, blocks
 * and mutes. Everything else (`read:statuses`, `profile`, `push`) is granular.
 */
export function isParentScope(scope: string): boolean {
  return PARENTS.has(scope);
}
