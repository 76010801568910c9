import { z } from 'zod';
import { KNOWN_SCOPES } from './scopes.js';

/**
 * The key inventory contract (formats/LOG-FORMAT.md §4): what `keys import` reads and what the
 * inventory stores. Strict: an unknown or misspelt field fails with its path.
 */

export const KEY_STATUSES = ['active', 'revoke-pending', 'revoked', 'rotating'] as const;
export type KeyStatus = (typeof KEY_STATUSES)[number];

export const KEY_KINDS = ['user', 'app'] as const;
export type KeyKind = (typeof KEY_KINDS)[number];

export const ROTATION_STRATEGIES = ['client_credentials', 'reauthorize', 'command'] as const;

export const KEY_ID_RE = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

const duration = z
  .string()
  .regex(/^\d+(ms|s|m|h|d|w)$/, 'expected a duration such as 30m, 12h, 90d or 2w')
  .describe('A whole number followed by ms, s, m, h, d or w.');

// RFC 6750 b64token characters. The message never echoes the value (it is a secret).
const secret = (what: string) =>
  z.string({ error: `${what} must be a string` }).regex(/^[A-Za-z0-9._~+/=-]{16,512}$/, {
    message: `${what} must be 16 to 512 characters from A-Z a-z 0-9 . _ ~ + / = -`,
  });

export const rotationSchema = z
  .object({
    max_age: duration.optional().describe('Rotate once the key is this old (run by the scheduler).'),
    strategy: z.enum(ROTATION_STRATEGIES).optional().describe('How a new token is obtained.'),
    grace: duration.optional().describe('How long the old key may stay live after the new one is out.'),
  })
  .strict();
export type RotationPolicy = z.infer<typeof rotationSchema>;

const scopeSchema = z.string().refine((s) => KNOWN_SCOPES.has(s), {
  message: 'not a Mastodon scope (see FACTS.md §6; `read:reports` and `crypto` are not valid)',
});

/** Everything about a key except its secrets. */
export const keyMetadataSchema = z
  .object({
    id: z.string().max(64).regex(KEY_ID_RE, 'id must be kebab-case: lowercase letters, digits and single dashes'),
    instance: z
      .url({ protocol: /^https?$/, error: 'instance must be an http(s) base URL such as https://social.example' })
      .transform((u) => u.replace(/\/+$/, '')),
    kind: z.enum(KEY_KINDS),
    scopes: z
      .array(scopeSchema)
      .min(1, 'at least one scope')
      .refine((a) => new Set(a).size === a.length, 'scopes must not repeat'),
    owner: z.string().trim().min(1).max(200),
    purpose: z.string().trim().min(1).max(500),
    rotation: rotationSchema.optional(),
    labels: z
      .record(z.string().regex(/^[a-z0-9][a-z0-9_./-]{0,62}$/, 'label names: lowercase, digits, _ . / -'), z.string().max(200))
      .default({}),
  })
  .strict();
export type KeyMetadata = z.infer<typeof keyMetadataSchema>;

function strategyFitsKind(item: { kind: KeyKind; rotation?: RotationPolicy | undefined }): boolean {
  // FACTS.md §3: only app-only tokens can be re-minted without a person.
  return !(item.kind === 'user' && item.rotation?.strategy === 'client_credentials');
}
const STRATEGY_MESSAGE = {
  message: 'client_credentials rotation only works for app tokens; use reauthorize or command for user tokens',
  path: ['rotation', 'strategy'],
};

/** One item of an inventory file: metadata plus the three secrets. */
export const inventoryItemSchema = keyMetadataSchema
  .extend({
    token: secret('token'),
    client_id: secret('client_id'),
    client_secret: secret('client_secret'),
  })
  .strict()
  .refine(strategyFitsKind, STRATEGY_MESSAGE);
export type InventoryItem = z.infer<typeof inventoryItemSchema>;

export const keyMetadataInputSchema = keyMetadataSchema.refine(strategyFitsKind, STRATEGY_MESSAGE);

/** The file's top level. Duplicate ids are checked by the reader, on the raw items, so they
 * are reported together with every other issue. */
export const inventoryFileSchema = z.object({ keys: z.array(inventoryItemSchema).min(1, 'the file lists no keys') }).strict();

/** A stored key: metadata, lifecycle and fingerprint. Never holds a secret. */
export interface KeyRecord extends Omit<KeyMetadata, 'rotation'> {
  rotation: RotationPolicy | null;
  status: KeyStatus;
  /** HMAC fingerprint of the token under the current pepper (32 hex). */
  fingerprint: string;
  /** Vault version holding the current secrets. */
  secret_version: number;
  created_at: string;
  updated_at: string;
  status_changed_at: string;
  /** When the current token was stored (null if its vault record is missing). */
  token_stored_at: string | null;
}

/** One revocation attempt (written by the revocation work; read by `keys show`). */
export interface RevocationRecord {
  key_id: string;
  fingerprint: string;
  actor: string;
  reason: string;
  requested_at: string;
  completed_at: string | null;
  outcome: 'pending' | 'revoked' | 'failed';
  verification: unknown;
}
