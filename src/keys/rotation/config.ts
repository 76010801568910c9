import cron from 'node-cron';
import { z } from 'zod';
import { targetSchema } from '../distribute/registry.js';
import { KEY_ID_RE } from '../schema.js';

/**
 * The `rotation:` and `revocation:` sections of tuskguard.yaml (mounted in
 * src/config/schema.ts). The per-key policy (`max_age`, `strategy`, `grace`) lives with the
 * key in the inventory; this file holds what is site-wide or names local resources: where new
 * keys go, the site command, the consent links' public URL, and the timing of the cut-over.
 */

const duration = z.string().regex(/^\d+(ms|s|m|h|d|w)$/, 'a duration such as 30s, 5m, 2h, 7d or 1w');

export const commandSchema = z
  .object({
    argv: z
      .array(z.string().min(1))
      .min(1)
      .describe('Program and arguments, run without a shell. It prints the new token (or JSON with access_token, client_id, client_secret) on stdout.'),
    timeout: duration.default('60s').describe('Killed (SIGTERM) after this long.'),
    cwd: z.string().optional(),
  })
  .strict();
export type CommandConfig = z.infer<typeof commandSchema>;

export const keyRotationSettingsSchema = z
  .object({
    targets: z.array(z.string()).default([]).describe('Ids from rotation.targets that receive the new key, in order.'),
    command: commandSchema.optional().describe('For strategy `command`: the site command that mints a new token.'),
    quiet_period: duration.optional().describe('Override of rotation.quiet_period for this key.'),
    mastodon_user: z.string().optional().describe('For `reauthorize`: the Mastodon username expected to consent (shown in the request).'),
  })
  .strict();
export type KeyRotationSettings = z.infer<typeof keyRotationSettingsSchema>;

export const rotationConfigSchema = z
  .object({
    public_url: z
      .url({ protocol: /^https?$/ })
      .optional()
      .describe('Base URL of the tuskguard API as key owners reach it (consent links and the OAuth callback /oauth/callback). Needed for `reauthorize`.'),
    link_secret_env: z
      .string()
      .default('TUSKGUARD_LINK_SECRET')
      .describe('Environment variable with the HMAC secret (>= 32 characters) that signs consent links and derives OAuth state and PKCE verifiers.'),
    consent_ttl: duration.default('72h').describe('A consent link expires after this long; the rotation then rolls back.'),
    quiet_period: duration
      .default('1h')
      .describe('The old key is revoked once its fingerprint has not been seen in the events for this long after the new key went out.'),
    grace: duration.default('7d').describe('Longest wait for that silence (the key\'s own rotation.grace wins); then the old key is revoked anyway.'),
    schedule: z
      .string()
      .refine((e) => cron.validate(e), "not a cron expression (e.g. '*/5 * * * *')")
      .default('*/5 * * * *')
      .describe('cron expression: how often `serve` checks max_age policies and advances waiting rotations.'),
    lock_lease: duration.default('10m').describe('Lease of the per-key lock; a crashed holder loses it after this long.'),
    app_name: z.string().min(1).max(40).default('tuskguard').describe('Prefix of the names of apps registered for new keys.'),
    targets: z.array(targetSchema).default([]).describe('Distribution targets (env-file, vault-kv, webhook).'),
    keys: z
      .record(z.string().regex(KEY_ID_RE, 'key ids are kebab-case'), keyRotationSettingsSchema)
      .default({})
      .describe('Per-key settings by key id.'),
  })
  .strict()
  .superRefine((c, ctx) => {
    const ids = new Set<string>();
    for (const [i, t] of c.targets.entries()) {
      if (ids.has(t.id)) ctx.addIssue({ code: 'custom', message: `duplicate target id ${t.id}`, path: ['targets', i, 'id'] });
      ids.add(t.id);
    }
    for (const [key, s] of Object.entries(c.keys)) {
      for (const [i, id] of s.targets.entries()) {
        if (!ids.has(id)) ctx.addIssue({ code: 'custom', message: `unknown target ${id}`, path: ['keys', key, 'targets', i] });
      }
    }
  });
export type RotationConfig = z.infer<typeof rotationConfigSchema>;

export const revocationConfigSchema = z
  .object({
    retry_base: duration.default('5s').describe('First delay before a revocation that could not reach Mastodon is retried.'),
    retry_max: duration.default('10m').describe('Longest delay between retries (exponential backoff with jitter).'),
    max_attempts: z.number().int().min(1).max(100_000).default(500).describe('Attempts before the retry is given up (people are told).'),
  })
  .strict();
export type RevocationConfig = z.infer<typeof revocationConfigSchema>;

/** Defaults, for callers without a loaded config (tests, library use). */
export const DEFAULT_ROTATION_CONFIG: RotationConfig = rotationConfigSchema.parse({});
export const DEFAULT_REVOCATION_CONFIG: RevocationConfig = revocationConfigSchema.parse({});
