import { Option, type Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { FORMATS, type Format } from '../../config/schema.js';
import { createLogger } from '../../core/logger.js';
import { getParser } from '../../ingest/parsers/registry.js';
import { createProgress, detectFormat, replayFiles } from '../../ingest/sources/replay/index.js';
import { createIngestCore } from '../../main.js';
import { EXIT, action, configOption, outputOption, printJson } from '../output.js';

/** Store writes are retried this many times (about a minute of backoff) before a backfill gives up. */
const MAX_WRITE_ATTEMPTS = 12;

interface IngestOptions {
  config?: string;
  format?: Format;
  output: 'human' | 'json';
}

export function register(program: Command): void {
  program
    .command('ingest')
    .description(
      'Backfill log files (plain or gzip) into the configured store, in event-time order across files, with progress on stderr.\n' +
        'Lines that cannot be stored are dead-lettered with their reason under <home>/dead-letter/.',
    )
    .argument('<file...>', 'log files to ingest')
    .addOption(configOption())
    .addOption(new Option('-f, --format <format>', 'format of every file (default: detected per file from its first line)').choices([...FORMATS]))
    .addOption(outputOption())
    .addHelpText('after', '\nExit codes: 0 done (even when lines were rejected), 2 usage or configuration error, 3 store unavailable.')
    .action(action(async (files: string[], opts: IngestOptions) => run(files, opts)));
}

async function run(files: string[], opts: IngestOptions): Promise<number> {
  const started = Date.now();
  const loaded = loadConfig(opts.config);
  // Logs stay quiet unless asked for: the summary and the progress bar are the output here.
  const logger = createLogger({ level: process.env.TUSKGUARD_LOG_LEVEL ?? 'warn' });
  // Unreadable files fail here, before the store is opened (detectFormat raises USAGE).
  const inputs = await Promise.all(files.map(async (path) => ({ path, format: opts.format ?? (await detectFormat(path)) })));
  if (opts.format) await Promise.all(files.map((path) => detectFormat(path)));
  const core = await createIngestCore({ loaded, logger, time: 'event', retry: { maxAttempts: MAX_WRITE_ATTEMPTS }, join: inputs.some((f) => f.format === 'mastodon') });
  let lines = 0;
  try {
    const progress = createProgress(process.stderr, { label: 'ingest' });
    lines = (await replayFiles({ files: inputs, getParser, sourceId: 'ingest', progress }, core.pipeline)).lines;
    await core.pipeline.stop();
  } finally {
    await core.store.close();
  }
  const rejected = core.deadLetter.count;
  const summary = {
    ingested: lines - rejected,
    rejected,
    dead_letter: rejected > 0 ? core.deadLetter.pathFor() : null,
    files: inputs,
    store: core.store.kind,
    seconds: Math.round((Date.now() - started) / 100) / 10,
  };
  if (opts.output === 'json') printJson(summary);
  else process.stdout.write(`ingested ${summary.ingested}, rejected ${rejected}${rejected > 0 ? ` (dead-lettered to ${summary.dead_letter})` : ''}\n`);
  return EXIT.OK;
}
