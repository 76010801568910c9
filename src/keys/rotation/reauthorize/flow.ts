import { TuskguardError } from '../../../core/errors.js';
import type { RotationCore } from '../core.js';
import { patch } from '../core.js';
import { beginRollback } from '../rollback.js';
import type { RotationRow } from '../store.js';
import { ConsentLinks } from './links.js';

/**
 * The two HTTP steps of a `reauthorize` rotation (served by src/api/routes/oauth-callback.ts):
 *
 * 1. `consentRedirect`: the owner opens the signed link; tuskguard checks signature and expiry
 *    and sends the browser to the instance's `/oauth/authorize` for the NEW app with
 *    `state` and a PKCE S256 challenge (and `force_login`, so the owner signs in knowingly).
 * 2. `callback`: Mastodon redirects back with `code` and `state`. The state finds the rotation
 *    (by its SHA-256) and is then cleared, so it works once; the code is exchanged with the
 *    new app's credentials and the PKCE verifier; the token goes straight into the vault and
 *    the rotation continues (verify, distribute, cut-over). A denial rolls the rotation back.
 */
export interface CallbackResult {
  rotation: RotationRow;
  /** One sentence for the owner's browser. */
  message: string;
}

export class ConsentFlow {
  constructor(
    private readonly core: RotationCore,
    private readonly links: ConsentLinks,
    /** Continue the rotation after the token arrived (the engine's advance). */
    private readonly advance: (rotationId: string) => Promise<RotationRow>,
    /** Run `fn` holding the key's lock (the scheduler may be checking the consent's expiry). */
    private readonly locked: <T>(keyId: string, fn: () => Promise<T>) => Promise<T>,
  ) {}

  private awaiting(id: string): RotationRow {
    const r = this.core.store.get(id);
    const status = r ? this.core.inventory.get(r.key_id)?.status : undefined;
    // A key revoked meanwhile gets no new token, whatever the link says.
    if (!r || r.state !== 'awaiting-consent' || !r.data.consent_nonce || !r.data.new_client_id || status === 'revoked' || status === 'revoke-pending') {
      throw new TuskguardError('CONSENT_INVALID', 'this rotation is not waiting for consent (it finished, expired or was cancelled)', {
        hint: 'see `tuskguard keys rotation status`; ask for a new link if needed',
      });
    }
    return r;
  }

  /** Where to send the owner's browser for a consent link's query (`r`, `exp`, `sig`). */
  consentRedirect(query: Record<string, unknown>): string {
    const id = this.links.verifyLink(query, this.core.clock.now());
    const r = this.awaiting(id);
    const key = this.core.inventory.require(r.key_id);
    const nonce = r.data.consent_nonce!;
    const url = new URL('/oauth/authorize', `${key.instance}/`);
    url.search = new URLSearchParams({
      response_type: 'code', client_id: r.data.new_client_id!, redirect_uri: this.links.callbackUrl, scope: key.scopes.join(' '),
      state: this.links.state(r.id, nonce), code_challenge: ConsentLinks.challenge(this.links.verifier(r.id, nonce)),
      code_challenge_method: 'S256', force_login: 'true',
    }).toString();
    return url.toString();
  }

  /** Handle Mastodon's redirect back (`code` + `state`, or `error`). */
  async callback(query: Record<string, unknown>): Promise<CallbackResult> {
    const state = typeof query.state === 'string' ? query.state : '';
    const found = state ? this.core.store.byConsentState(ConsentLinks.hashState(state)) : null;
    if (!found) {
      throw new TuskguardError('CONSENT_INVALID', 'unknown or already used OAuth state', { hint: 'start again from the consent link; each link works once' });
    }
    const denied = typeof query.error === 'string';
    const code = typeof query.code === 'string' ? query.code : '';
    if (!denied && code === '') throw new TuskguardError('CONSENT_INVALID', 'the callback has no code', { hint: 'start again from the consent link' });
    await this.locked(found.key_id, async () => {
      const r = this.awaiting(found.id);
      if (!denied) return this.exchange(r, code);
      patch(this.core, r, { consent_state_hash: null });
      beginRollback(this.core, r, `the owner did not approve the new app (${String(query.error).slice(0, 60)})`);
    });
    const rotation = await this.advance(found.id);
    const message = denied
      ? 'Consent was declined: the rotation is rolled back and the current key stays active.'
      : rotation.state === 'rolling-back' || rotation.state === 'rolled-back'
        ? `The new key could not be put in place (${rotation.error ?? 'see the rotation status'}); the current key stays active.`
        : 'Thank you: the new key is stored and being put in place.';
    return { rotation, message };
  }

  private async exchange(r: RotationRow, code: string): Promise<void> {
    const { core } = this;
    const key = core.inventory.require(r.key_id);
    const pending = await core.vault.get(key.id, r.new_version);
    // The state works once, whatever happens next.
    patch(core, r, { consent_state_hash: null });
    try {
      const issued = await core.client.exchangeCode({
        instance: key.instance, clientId: pending.client_id, clientSecret: pending.client_secret, code,
        redirectUri: this.links.callbackUrl, codeVerifier: this.links.verifier(r.id, r.data.consent_nonce!),
      });
      await core.vault.put(key.id, r.new_version, { ...pending, token: issued.accessToken });
      patch(core, r, { state: 'minted', new_fingerprint: core.fingerprint(issued.accessToken) });
    } catch (e) {
      beginRollback(core, r, `the authorization code could not be exchanged: ${(e as Error).message}`);
    }
  }
}
