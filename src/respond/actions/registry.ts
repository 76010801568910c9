import type { AnyActionModule } from '../types.js';
import { blockIp } from './block-ip/index.js';
import { notifyEmail } from './notify-email/index.js';
import { notifySlack } from './notify-slack/index.js';
import { revoke } from './revoke/index.js';
import { rotate } from './rotate/index.js';
import { suspendAccount } from './suspend-account/index.js';
import { webhook } from './webhook/index.js';

/**
 * The action registry: one folder per action under actions/, one line here (folder = id =
 * policy `type:`). test/respond/actions/registry.test.ts checks that the two agree.
 */
export const ACTIONS: readonly AnyActionModule[] = [
  notifySlack,
  notifyEmail,
  webhook,
  revoke,
  rotate,
  suspendAccount,
  blockIp,
];

export function actionById(id: string, modules: readonly AnyActionModule[] = ACTIONS): AnyActionModule | null {
  return modules.find((m) => m.id === id) ?? null;
}
