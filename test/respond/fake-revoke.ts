import { z } from 'zod';
import { ACTIONS } from '../../src/respond/actions/registry.js';
import { defineAction, type AnyActionModule } from '../../src/respond/types.js';

/**
 * A stand-in for the revoke action (it lands with the Mastodon client): impact `revoke`, its
 * work goes through the outbox, and its channel records which keys it "revoked". It lets the
 * dispatcher's safeguards be tested for real until the real action plugs in.
 */
export function fakeRevoke(revoked: string[]) {
  return defineAction({
    id: 'fake-revoke',
    description: 'test double of revoke',
    impact: 'revoke',
    config: z.object({ type: z.literal('fake-revoke') }).strict(),
    target: (f) => f.key,
    async run(ctx) {
      if (ctx.dryRun) return { status: 'dry-run', message: `would revoke ${ctx.target}` };
      const { job } = ctx.outbox.enqueue({ key: ctx.idempotencyKey, channel: 'fake-revoke', payload: { key: ctx.target }, findingId: ctx.finding.id, target: ctx.target });
      return { status: 'queued', message: `revocation of ${ctx.target} queued`, details: { job: job.id } };
    },
    channel: () => ({
      concurrency: 1,
      timeoutMs: 1_000,
      deliver: async (job) => {
        revoked.push((job.payload as { key: string }).key);
        return { confirmed: 401 };
      },
    }),
  });
}

export function modulesWithFake(revoked: string[]): AnyActionModule[] {
  return [...ACTIONS, fakeRevoke(revoked)];
}
