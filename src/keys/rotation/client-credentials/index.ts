import { newAppName, OOB_REDIRECT } from '../app-name.js';
import type { ObtainResult, RotationStrategy, StrategyContext } from '../types.js';

/**
 * `client_credentials`: app-only tokens, fully automatic.
 *
 * Mastodon REUSES tokens (FACTS §3, doorkeeper `reuse_access_token`): asking the same app for a
 * token with the same scopes returns the token it already has. Re-minting through the key's
 * own app would therefore need the old token revoked first, leaving every consumer without a
 * working token until it picks up the new one: an outage by construction.
 *
 * So each rotation registers a NEW app (`POST /api/v1/apps`, exactly the key's scopes) and
 * mints the new token from it. Old and new tokens then coexist: consumers move over during the
 * grace period and the old token is revoked (with the OLD app's credentials) only once its
 * fingerprint has gone quiet. The costs, accepted on purpose:
 *   - one app registration per rotation (5 per 10 minutes per IP, FACTS §7/§10), so a mass
 *     rotation of many keys is spread out by the scheduler's cadence;
 *   - the old app stays registered with no live token: no API deletes an app (FACTS §3), and
 *     an app without tokens grants nothing;
 *   - the key's client_id changes with every rotation (it is stored with the new secrets).
 *
 * Resumable: the new app's credentials are sealed in the vault before the token is minted, and
 * minting again from the same app returns the same token (the reuse rule works for us here).
 */
export const clientCredentials: RotationStrategy = {
  id: 'client_credentials',
  kinds: ['app'],
  async obtain(ctx: StrategyContext): Promise<ObtainResult> {
    const { key, client, clock } = ctx;
    let secrets = ctx.pending;
    if (secrets === null) {
      const app = await client.registerApp({
        instance: key.instance, name: newAppName(ctx.config.app_name, key.id, clock.now()), redirectUris: [OOB_REDIRECT], scopes: key.scopes,
      });
      secrets = { token: '', client_id: app.clientId, client_secret: app.clientSecret };
      await ctx.store(secrets);
      ctx.setData({ new_client_id: app.clientId, new_app_id: app.id });
      ctx.logger.info({ key_id: key.id, rotation: ctx.rotation.id, app_id: app.id }, 'rotation: new app registered');
    }
    if (secrets.token === '') {
      const issued = await client.mintAppToken({ instance: key.instance, clientId: secrets.client_id, clientSecret: secrets.client_secret, scopes: key.scopes });
      secrets = { ...secrets, token: issued.accessToken };
      await ctx.store(secrets);
    }
    return { kind: 'minted', secrets };
  },
};
