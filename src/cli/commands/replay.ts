import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Option, type Command } from 'commander';
import { type LoadedConfig, loadConfig } from '../../config/load.js';
import { durationMs, FORMATS, type Format } from '../../config/schema.js';
import { TuskguardError } from '../../core/errors.js';
import { createFingerprinter, loadPepper } from '../../core/fingerprint.js';
import { createLogger, type Logger } from '../../core/logger.js';
import { Metrics } from '../../core/metrics.js';
import { loadRulesOrThrow } from '../../detect/load.js';
import { runReplay, type ReplayRunSummary } from '../../detect/replay.js';
import { loadReplayKeys, type ReplayKeys } from '../../detect/replay-keys.js';
import { findingSink } from '../../detect/replay-sink.js';
import { DeadLetter } from '../../ingest/dead-letter.js';
import { createEnricher, type Enricher } from '../../ingest/enrich/index.js';
import { createProgress, detectFormat } from '../../ingest/sources/replay/index.js';
import { createResponder, type ResponseHook } from '../../respond/index.js';
import { type ControlDb, openControlDb } from '../../store/control.js';
import { createStore } from '../../store/index.js';
import type { EventStore } from '../../store/types.js';
import { EXIT, action, configOption, outputOption, type OutputMode } from '../output.js';

/**
 * `tuskguard replay FILE...` — run log files through parse → enrich → detect (→ store the
 * findings and respond, unless --dry-run) on event time, as if they were tailed live.
 * Findings go to stdout (one JSON object per line with --output json); progress and the
 * summary to stderr. Keys come from the inventory under the data dir, the pepper from
 * TUSKGUARD_PEPPER (or pepper_file).
 */
interface ReplayOptions {
  config?: string;
  rules?: string;
  dryRun?: boolean;
  format?: Format;
  /** A directory, false for --no-state, undefined for the default. */
  state?: string | false;
  policies?: string;
  drainTimeout: string;
  output: OutputMode;
}

/** Exit code after SIGINT/SIGTERM: the replay stopped early, its state is saved. */
export const EXIT_STOPPED = 130;


export function register(program: Command): void {
  program
    .command('replay')
    .description(
      'Detect on log files (plain or gzip) in event-time order across files, as the live engine would;\n' +
        'findings are printed, stored and responded to (only printed with --dry-run).',
    )
    .argument('<file...>', 'log files to replay')
    .addOption(configOption())
    .option('-r, --rules <dir>', 'detection rules (default ./rules/detections, else the shipped pack)')
    .option('-n, --dry-run', 'only print findings: no store, no response, no saved state (unless --state)')
    .addOption(new Option('-f, --format <format>', 'format of every file (default: detected per file)').choices([...FORMATS]))
    .option('--state <dir>', 'keep detection state (baselines, emitted findings, position) in <dir>/control.db')
    .option('--no-state', 'keep detection state in memory only: every replay starts from scratch')
    .option('--policies <file>', 'response policies (default $TUSKGUARD_POLICIES, ./rules/policies.yaml, else the shipped file)')
    .option('--drain-timeout <duration>', 'at the end, wait this long for the outbox (revocations, alerts) to drain', '30s')
    .addOption(outputOption())
    .addHelpText(
      'after',
      '\nState: without --dry-run it is kept in the data dir (namespace "replay"), so a replay stopped\n' +
        'half-way (Ctrl-C) continues where it stopped and never repeats a finding; with --dry-run\n' +
        'it is kept only with --state. Events themselves are not stored (that is `tuskguard ingest`).\n' +
        'Keys: `tuskguard keys import` fills the inventory; TUSKGUARD_PEPPER must be the pepper the\n' +
        'fingerprints in the logs were made with.\n' +
        'Response: without --dry-run the policies act (revoke, rotate, alerts…) against the instances the\n' +
        'inventory names (revoke and rotate need TUSKGUARD_MASTER_KEY); the replay then waits up to\n' +
        '--drain-timeout for the outbox, and what is left is resumed by `tuskguard serve`.\n' +
        '\nExit codes: 0 done (with or without findings), 2 usage or rule error, 3 store unavailable,\n' +
        `${EXIT_STOPPED} stopped by a signal (state saved; run again to continue).\n`,
    )
    .action(action(async (files: string[], opts: ReplayOptions) => run(files, opts)));
}

/** ./rules/detections when present, else the pack shipped with tuskguard. */
function rulesDir(given: string | undefined): string {
  if (given !== undefined) {
    if (!existsSync(given)) throw new TuskguardError('USAGE', `no such rule directory: ${given}`, { hint: 'pass the folder holding the *.yaml rule files' });
    return given;
  }
  if (existsSync('rules/detections')) return 'rules/detections';
  return fileURLToPath(new URL('../../../rules/detections', import.meta.url));
}

async function inputs(files: string[], format: Format | undefined): Promise<Array<{ path: string; format: Format }>> {
  return Promise.all(
    files.map(async (path) => {
      if (existsSync(path) && !statSync(path).isFile()) throw new TuskguardError('USAGE', `${path} is not a file`, { hint: 'pass log files, not directories' });
      // detectFormat raises USAGE for a missing or unreadable file, before anything is opened.
      const detected = await detectFormat(path);
      return { path, format: format ?? detected };
    }),
  );
}

function stateDb(opts: ReplayOptions, home: string): ControlDb | undefined {
  if (opts.state === false) return undefined;
  if (typeof opts.state === 'string') return openControlDb(opts.state);
  return opts.dryRun ? undefined : openControlDb(home);
}

interface Wiring {
  store?: EventStore;
  responder?: ResponseHook;
  db?: ControlDb | undefined;
  drainMs: number;
}

async function wire(loaded: LoadedConfig, opts: ReplayOptions, drainMs: number, logger: Logger, metrics: Metrics): Promise<Wiring> {
  const w: Wiring = { db: stateDb(opts, loaded.home), drainMs };
  if (opts.dryRun) return w;
  try {
    w.store = await createStore(loaded, { metrics, logger });
    // Acts against the instances the inventory names: revoke/rotate need the master key and the pepper.
    w.responder = await createResponder({ loaded, logger, metrics, store: w.store, events: w.store, ...(opts.policies ? { policiesFile: opts.policies } : {}) });
    return w;
  } catch (e) {
    await release(w);
    throw e;
  }
}

function drainTimeout(text: string): number {
  try {
    return durationMs(text);
  } catch {
    throw new TuskguardError('USAGE', `--drain-timeout ${JSON.stringify(text)} is not a duration`, { hint: 'e.g. 30s, 2m, or 0s to not wait' });
  }
}

/** Wait for the outbox up to --drain-timeout; what is left stays queued for `tuskguard serve`. */
async function release(w: Wiring): Promise<void> {
  if (w.responder) {
    const d = await w.responder.drain(w.drainMs);
    if (!d.drained) process.stderr.write(`replay: ${d.pending} response job(s) still pending after --drain-timeout; they stay queued and \`tuskguard serve\` resumes them (see \`tuskguard respond outbox\`)
`);
    if (d.dead > 0) process.stderr.write(`replay: ${d.dead} response job(s) dead-lettered (see \`tuskguard respond outbox --status dead\`)
`);
    await w.responder.close();
  }
  await w.store?.close();
  w.db?.close();
}

/** First signal: stop reading, finish what was read, save state. Second: leave at once. */
function onSignals(controller: AbortController): () => void {
  const handler = () => {
    if (controller.signal.aborted) process.exit(EXIT_STOPPED);
    process.stderr.write('replay: stopping after the lines already read (state is saved); press Ctrl-C again to quit at once\n');
    controller.abort();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}

/** The enricher of the config (route table, geo/ASN databases) with the inventory's key ids. */
function enricherFor(loaded: LoadedConfig, keys: ReplayKeys): Promise<Enricher> {
  const { enrich } = loaded.config;
  return createEnricher({
    keyLookup: keys.lookup,
    ...(enrich.geo_mmdb ? { geoMmdb: enrich.geo_mmdb } : {}),
    ...(enrich.asn_mmdb ? { asnMmdb: enrich.asn_mmdb } : {}),
    ...(enrich.endpoint_scopes ? { endpointScopesFile: enrich.endpoint_scopes } : {}),
  });
}

async function run(files: string[], opts: ReplayOptions): Promise<number> {
  const loaded = loadConfig(opts.config);
  const drainMs = drainTimeout(opts.drainTimeout);
  const logger = createLogger({ level: process.env.TUSKGUARD_LOG_LEVEL ?? 'warn' });
  const metrics = new Metrics();
  const rules = loadRulesOrThrow(rulesDir(opts.rules));
  const sources = await inputs(files, opts.format);
  const pepper = loadPepper(loaded.config.pepper_file);
  const keys = loadReplayKeys(loaded.home, pepper);
  if (pepper === null) process.stderr.write('replay: no pepper (TUSKGUARD_PEPPER or pepper_file): findings name fingerprints, not managed keys\n');
  const enricher = await enricherFor(loaded, keys);
  const w = await wire(loaded, opts, drainMs, logger, metrics);
  const controller = new AbortController();
  const unhook = onSignals(controller);
  const sink = findingSink({
    output: opts.output,
    write: (t) => process.stdout.write(t),
    store: w.store,
    respond: w.responder ? (f) => w.responder!.dispatch(f) : undefined,
    logger,
  });
  let summary: ReplayRunSummary;
  try {
    summary = await runReplay({
      files: sources,
      rules,
      keys: keys.lookup,
      enrich: (e) => enricher.enrich(e),
      fingerprint: pepper === null ? null : createFingerprinter(pepper),
      join: { waitMs: durationMs(loaded.config.join.wait), maxPending: loaded.config.join.max_pending },
      state: w.db,
      deadLetter: opts.dryRun ? undefined : new DeadLetter({ home: loaded.home, metrics }),
      onFindings: sink,
      signal: controller.signal,
      progress: createProgress(process.stderr, { label: 'replay' }),
      logger,
      metrics,
    });
  } finally {
    unhook();
    await release(w);
  }
  report(summary, opts, rules.length, keys.count, w.db !== undefined);
  return summary.stopped ? EXIT_STOPPED : EXIT.OK;
}

function report(s: ReplayRunSummary, opts: ReplayOptions, rules: number, keys: number, stateful: boolean): void {
  const mode = opts.dryRun ? 'dry run' : 'stored and responded';
  if (opts.output === 'json') {
    process.stderr.write(`${JSON.stringify({ summary: { ...s, rules, keys, mode, state: stateful } })}\n`);
    return;
  }
  const sev = Object.entries(s.by_severity).map(([k, v]) => `${v} ${k}`).join(', ');
  const rejected = Object.entries(s.rejected).map(([k, v]) => `${v} ${k}`).join(', ');
  const lines = [
    `replay ${s.stopped ? 'stopped' : 'done'} (${mode}): ${s.lines} lines from ${s.files} file(s), ${s.events} events, ${rules} rules, ${keys} managed keys, ${s.seconds} s`,
    `findings: ${s.findings}${sev ? ` (${sev})` : ''}`,
  ];
  if (rejected) lines.push(`rejected lines: ${rejected}${opts.dryRun ? '' : ' (dead-lettered under the data dir)'}`);
  if (s.already_processed) lines.push(`skipped ${s.already_processed} events processed by an earlier replay (saved state)`);
  if (s.late) lines.push(`late events skipped: ${s.late} (more out of order than the lateness bound)`);
  if (s.stopped) lines.push('stopped early: run the same command again to continue where it stopped');
  process.stderr.write(`${lines.join('\n')}\n`);
}
