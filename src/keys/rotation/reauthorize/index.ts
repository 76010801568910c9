import { randomBytes } from 'node:crypto';
import { durationMs } from '../../../config/schema.js';
import { TuskguardError } from '../../../core/errors.js';
import { newAppName } from '../app-name.js';
import type { ObtainResult, RotationStrategy, StrategyContext } from '../types.js';
import { ConsentLinks } from './links.js';

/**
 * `reauthorize`: user tokens, which only the user can re-issue (FACTS §3: the code flow needs
 * the user signed in). tuskguard registers a NEW app whose redirect URI is its own OAuth
 * callback (a new app, as for client_credentials, so the old token keeps working meanwhile and
 * the reuse rule cannot hand back the old token), then sends the key's owner a signed,
 * expiring consent link. The link redirects to the instance's /oauth/authorize with `state`
 * and a PKCE S256 challenge; the callback (src/api/routes/oauth-callback.ts → flow.ts)
 * exchanges the code, checks the token belongs to the same Mastodon user, and the rotation
 * continues. No answer before the link expires rolls the rotation back.
 */
export const reauthorize: RotationStrategy = {
  id: 'reauthorize',
  kinds: ['user', 'app'],
  async obtain(ctx: StrategyContext): Promise<ObtainResult> {
    const { key, consent, clock } = ctx;
    if (ctx.pending?.token) return { kind: 'minted', secrets: ctx.pending };
    if (consent === null) {
      throw new TuskguardError('CONFIG_INVALID', 'reauthorize rotation needs rotation.public_url and a link secret', {
        hint: `set rotation.public_url in tuskguard.yaml (where owners reach tuskguard's API) and ${ctx.config.link_secret_env} (openssl rand -hex 32)`,
      });
    }
    let secrets = ctx.pending;
    if (secrets === null) {
      const app = await ctx.client.registerApp({
        instance: key.instance, name: newAppName(ctx.config.app_name, key.id, clock.now()), redirectUris: [consent.callbackUrl], scopes: key.scopes,
      });
      secrets = { token: '', client_id: app.clientId, client_secret: app.clientSecret };
      await ctx.store(secrets);
      ctx.setData({ new_client_id: app.clientId, new_app_id: app.id });
    }
    const nonce = ctx.rotation.data.consent_nonce ?? randomBytes(16).toString('base64url');
    const expires = clock.now() + durationMs(ctx.config.consent_ttl);
    ctx.setData({ consent_nonce: nonce, consent_expires_at: new Date(expires).toISOString() });
    const who = ctx.settings.mastodon_user ? ` as ${ctx.settings.mastodon_user}` : '';
    return {
      kind: 'waiting',
      link: consent.link(ctx.rotation.id, expires),
      consentStateHash: ConsentLinks.hashState(consent.state(ctx.rotation.id, nonce)),
      message: `${key.id} is being rotated: sign in to ${key.instance}${who} and approve the new app with the link before ${new Date(expires).toISOString()}. The current token keeps working until the new one is in place.`,
    };
  },
};
