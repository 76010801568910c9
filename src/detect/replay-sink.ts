import { errorMessage, TuskguardError } from '../core/errors.js';
import type { Finding } from '../core/finding.js';
import type { Logger } from '../core/logger.js';
import type { DispatchReport } from '../respond/dispatcher.js';
import type { ActionOutcome } from '../respond/types.js';
import type { EventStore } from '../store/types.js';
import { formatFinding } from './explain.js';

/**
 * Where a replay's findings go: always to the output (one JSON object per line, or the human
 * text of explain.ts); unless it is a dry run, first to the store and then to the responder.
 * The order matters: a finding is printed only once it is stored, so what the operator sees
 * is what the store holds.
 */

/** The contract of one JSON finding line: rule, key, fingerprint, severity, at, summary first, then the rest. */
export function findingLine(f: Finding, response?: DispatchReport): Record<string, unknown> {
  const { rule, key, fingerprint, severity, at, summary, evidence, ...rest } = f;
  return { rule, key, fingerprint, severity, at, summary, evidence, ...rest, ...(response ? { response: responseView(response) } : {}) };
}

/** Approval links are bearer credentials (whoever holds one decides): only the id is shown. */
function outcomeView(o: ActionOutcome) {
  const { approval, ...rest } = o;
  return approval ? { ...rest, approval_id: approval.id } : rest;
}

function responseView(r: DispatchReport) {
  return { policies: r.policies, outcomes: r.outcomes.map(outcomeView) };
}

/** Human text of a finding, with what the responder did about it. */
export function findingText(f: Finding, response?: DispatchReport): string {
  let text = formatFinding(f);
  if (response) {
    const policies = response.policies.length ? response.policies.join(', ') : 'no policy matched';
    text += `  response: ${policies}\n`;
    for (const o of response.outcomes) text += `    ${describeOutcome(o)}\n`;
  }
  return `${text}\n`;
}

function describeOutcome(o: ActionOutcome): string {
  const approval = o.approval ? ` [approval ${o.approval.id}]` : '';
  return `${o.policy}: ${o.action} on ${o.target} → ${o.status}: ${o.message}${approval}`;
}

export interface SinkOptions {
  output: 'human' | 'json';
  write: (text: string) => void;
  /** Absent in a dry run. */
  store?: Pick<EventStore, 'writeFindings'> | undefined;
  /** The responder's dispatch; absent in a dry run or when the response is not wired. */
  respond?: ((f: Finding) => Promise<DispatchReport>) | undefined;
  logger: Logger;
  /** Store write attempts before the replay gives up (default 6, backing off from 200 ms). */
  attempts?: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function storeFindings(store: Pick<EventStore, 'writeFindings'>, found: readonly Finding[], o: SinkOptions): Promise<void> {
  const attempts = o.attempts ?? 6;
  for (let i = 1; ; i++) {
    try {
      const r = await store.writeFindings(found);
      for (const f of r.failed) o.logger.error({ finding: f.id, reason: f.reason, err: f.message }, 'the store refused a finding');
      return;
    } catch (e) {
      if (i >= attempts) {
        throw new TuskguardError('STORE_UNAVAILABLE', `findings could not be stored after ${i} attempts: ${errorMessage(e)}`, {
          hint: 'check the store (tuskguard.yaml store:); findings already emitted are listed above; rerun the replay to continue where it stopped',
          cause: e,
        });
      }
      o.logger.warn({ attempt: i, err: errorMessage(e) }, 'storing findings failed; retrying');
      await sleep(200 * 2 ** (i - 1));
    }
  }
}

/** A sink for runReplay: store (retried), respond, print. */
export function findingSink(o: SinkOptions): (found: readonly Finding[]) => Promise<void> {
  const print = (f: Finding, report?: DispatchReport) => o.write(o.output === 'json' ? `${JSON.stringify(findingLine(f, report))}\n` : findingText(f, report));
  return async (found) => {
    if (o.store) {
      try {
        await storeFindings(o.store, found, o);
      } catch (e) {
        // The engine has recorded them as emitted: printed here, they are not lost.
        for (const f of found) print(f);
        throw e;
      }
    }
    for (const f of found) {
      let report: DispatchReport | undefined;
      if (o.respond) {
        try {
          report = await o.respond(f);
        } catch (e) {
          // The dispatcher records action failures itself; this is a failure to decide at all.
          o.logger.error({ finding: f.id, err: errorMessage(e) }, 'the responder failed on a finding');
        }
      }
      print(f, report);
    }
  };
}
