import { randomBytes } from 'node:crypto';
import type { Cidr } from './ip.js';

/**
 * The simulator's records, shaped after Mastodon's tables (users, accounts, user_roles,
 * oauth_applications, oauth_access_tokens, oauth_access_grants, ip_blocks).
 */

/** `app/models/user_role.rb` permission flags. */
export const PERMISSIONS = [
  'administrator', 'view_devops', 'view_audit_log', 'view_dashboard', 'manage_reports', 'manage_federation',
  'manage_settings', 'manage_blocks', 'manage_taxonomies', 'manage_appeals', 'manage_users', 'manage_invites',
  'manage_rules', 'manage_announcements', 'manage_custom_emojis', 'manage_webhooks', 'invite_users',
  'manage_roles', 'manage_user_access', 'delete_user_data',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

export interface SimRole {
  readonly id: number;
  readonly name: string;
  readonly permissions: readonly Permission[];
}

const MODERATOR: Permission[] = ['view_dashboard', 'view_audit_log', 'manage_users', 'manage_reports', 'manage_taxonomies'];

/** The roles `db/seeds` creates; `Owner` carries `administrator`, which implies every permission. */
export const ROLE_PRESETS: Readonly<Record<'Owner' | 'Admin' | 'Moderator', readonly Permission[]>> = {
  Owner: ['administrator'],
  Admin: [
    ...MODERATOR, 'view_devops', 'manage_user_access', 'delete_user_data', 'manage_federation', 'manage_settings',
    'manage_blocks', 'manage_appeals', 'manage_rules', 'manage_announcements', 'manage_custom_emojis',
    'manage_webhooks', 'manage_invites',
  ],
  Moderator: MODERATOR,
};

export function roleCan(role: SimRole | null, permission: Permission): boolean {
  if (!role) return false;
  return role.permissions.includes('administrator') || role.permissions.includes(permission);
}

export interface SimUser {
  /** `users.id`: what `/oauth/token/info` calls `resource_owner_id`. */
  readonly id: number;
  readonly accountId: string;
  email: string;
  role: SimRole | null;
  disabled: boolean;
  confirmed: boolean;
  approved: boolean;
}

export interface SimAccount {
  /** `accounts.id`, a snowflake string, never equal to the user id. */
  readonly id: string;
  readonly username: string;
  readonly userId: number;
  readonly createdAt: Date;
  suspendedAt: Date | null;
  /** Only local suspensions can be undone over the API (`unsuspend`). */
  suspensionOrigin: 'local' | 'remote' | null;
  silencedAt: Date | null;
  sensitizedAt: Date | null;
  strikes: number;
}

export interface SimApp {
  readonly id: number;
  readonly name: string;
  /** `client_id`. */
  readonly uid: string;
  /** `client_secret`. */
  readonly secret: string;
  readonly redirectUris: readonly string[];
  /** Registered scopes; tokens can only be issued for subsets, compared as exact strings. */
  readonly scopes: readonly string[];
  readonly website: string | null;
  readonly createdAt: Date;
}

export interface SimToken {
  /** `oauth_access_tokens.id`: never returned by any API; the per-token throttle key. */
  readonly id: number;
  readonly token: string;
  readonly appId: number;
  /** null for app-only (client_credentials) tokens. */
  readonly userId: number | null;
  readonly scopes: readonly string[];
  /** Epoch seconds. */
  readonly createdAt: number;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
  lastUsedIp: string | null;
}

export interface SimGrant {
  readonly code: string;
  readonly appId: number;
  readonly userId: number;
  readonly redirectUri: string;
  readonly scopes: readonly string[];
  readonly codeChallenge: string | null;
  readonly codeChallengeMethod: string | null;
  /** Epoch ms; Doorkeeper's default `authorization_code_expires_in` is 10 minutes. */
  readonly expiresAt: number;
  revokedAt: Date | null;
}

export const SEVERITIES = ['sign_up_requires_approval', 'sign_up_block', 'no_access'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface SimIpBlock {
  readonly id: string;
  cidr: Cidr;
  severity: Severity;
  comment: string;
  readonly createdAt: Date;
  expiresAt: Date | null;
}

/** Something the real server would have done out of band (Redis kill, email, worker job). */
export interface SimSideEffect {
  readonly kind: 'streaming-kill' | 'canonical-email-block' | 'strike' | 'email';
  readonly tokenId?: number;
  readonly accountId?: string;
  readonly at: Date;
}

/** `SecureRandom.urlsafe_base64(32)`: 43 characters of A-Z a-z 0-9 - _, no prefix. */
export function urlsafeToken(): string {
  return randomBytes(32).toString('base64url');
}
