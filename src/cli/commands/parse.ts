import { createReadStream, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { Option, type Command } from 'commander';
import { FORMATS, type Format } from '../../config/schema.js';
import { loadConfig } from '../../config/load.js';
import { TuskguardError } from '../../core/errors.js';
import { isParseError } from '../../core/event.js';
import { createFingerprinter, loadPepper } from '../../core/fingerprint.js';
import { createEnricher, type Enricher } from '../../ingest/enrich/index.js';
import { DuplicateTracker } from '../../ingest/parsers/id.js';
import { getParser } from '../../ingest/parsers/registry.js';
import type { ParseContext, ParserEntry } from '../../ingest/types.js';
import { EXIT, action, outputOption, type OutputMode } from '../output.js';

/**
 * `tuskguard parse --format F [--output human|json] FILE...` (contract in issue 2): one
 * normalized event per line as JSON on stdout — parsed and enriched with routes and scopes —
 * and on stderr each rejected line as `file:line: reason: message` (never the line itself, which
 * may hold a token) and a closing summary `parsed N, rejected M` (a JSON object with --output
 * json). Exit 0 even when lines were rejected; 2 for a usage error (unknown format, missing file).
 * `-` reads standard input. Files are streamed line by line, never loaded whole.
 */

interface ParseOptions {
  format: Format;
  output: OutputMode;
  config?: string;
}

interface Tally {
  parsed: number;
  rejected: number;
  byReason: Record<string, number>;
}

export function register(program: Command): void {
  program
    .command('parse')
    .description('Parse log files into normalized events (JSON lines on stdout); a summary goes to stderr')
    .addOption(new Option('-f, --format <format>', 'log format of the files').choices(FORMATS).makeOptionMandatory())
    .addOption(outputOption())
    .addOption(new Option('-c, --config <file>', 'config whose enrich.* and pepper_file settings apply (default: none)'))
    .argument('<files...>', 'log files to read; - for standard input')
    .addHelpText(
      'after',
      '\nThe key fingerprint of access_token= query values needs the pepper (TUSKGUARD_PEPPER or\n' +
        'TUSKGUARD_PEPPER_FILE); without it such tokens are only redacted.\n' +
        'Exit codes: 0 done (even with rejected lines), 2 usage error (unknown format, missing file).\n',
    )
    .action(action(async (files: string[], opts: ParseOptions) => run(files, opts)));
}

async function run(files: string[], opts: ParseOptions): Promise<number> {
  checkFiles(files);
  // `tuskguard parse … | head` closes the pipe early: that is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(EXIT.OK);
    throw e;
  });
  const config = opts.config === undefined ? null : loadConfig(opts.config).config;
  const pepper = loadPepper(config?.pepper_file);
  const enricher = await createEnricher({
    geoMmdb: config?.enrich.geo_mmdb,
    asnMmdb: config?.enrich.asn_mmdb,
    endpointScopesFile: config?.enrich.endpoint_scopes,
  });
  const parser = getParser(opts.format);
  const fingerprinter = pepper === null ? null : createFingerprinter(pepper);
  const tally: Tally = { parsed: 0, rejected: 0, byReason: {} };
  const out = new LineWriter(process.stdout);
  for (const file of files) {
    const origin = file === '-' ? 'stdin' : `file:${resolve(file)}`;
    await parseStream(file, { parser, enricher, out, tally, json: opts.output === 'json' }, { fingerprint: fingerprinter, origin });
  }
  await out.flush();
  const summary = { parsed: tally.parsed, rejected: tally.rejected, by_reason: tally.byReason };
  if (opts.output === 'json') process.stderr.write(`${JSON.stringify(summary)}\n`);
  else process.stderr.write(`parsed ${tally.parsed}, rejected ${tally.rejected}\n`);
  return EXIT.OK;
}

function checkFiles(files: string[]): void {
  if (files.filter((f) => f === '-').length > 1) {
    throw new TuskguardError('USAGE', 'standard input (-) can be read only once', { hint: 'name - once' });
  }
  for (const file of files) {
    if (file === '-') continue;
    let isFile = false;
    try {
      isFile = statSync(file).isFile();
    } catch {
      throw new TuskguardError('USAGE', `no such file: ${file}`, { hint: 'check the path; use - to read standard input' });
    }
    if (!isFile) throw new TuskguardError('USAGE', `not a regular file: ${file}`, { hint: 'name log files, not directories' });
  }
}

interface Sinks {
  parser: ParserEntry;
  enricher: Enricher;
  out: LineWriter;
  tally: Tally;
  json: boolean;
}

async function parseStream(file: string, sinks: Sinks, base: ParseContext): Promise<void> {
  const input = file === '-' ? process.stdin : createReadStream(file);
  const lines = createInterface({ input, crlfDelay: Infinity });
  const dups = new DuplicateTracker();
  const name = file === '-' ? '<stdin>' : file;
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line === '') continue;
    const result = sinks.parser.parse(line, { ...base, duplicateIndex: dups.indexFor(line) });
    if (isParseError(result)) {
      sinks.tally.rejected++;
      sinks.tally.byReason[result.reason] = (sinks.tally.byReason[result.reason] ?? 0) + 1;
      const report = sinks.json
        ? JSON.stringify({ file: name, line: n, reason: result.reason, message: result.message })
        : `${name}:${n}: ${result.reason}: ${result.message}`;
      process.stderr.write(`${report}\n`);
      continue;
    }
    sinks.tally.parsed++;
    await sinks.out.write(`${JSON.stringify(sinks.enricher.enrich(result))}\n`);
  }
}

/** Batches small writes into ~64 kB chunks and honours backpressure (large files, slow pipes). */
class LineWriter {
  private buffer: string[] = [];
  private size = 0;

  constructor(private readonly stream: NodeJS.WritableStream) {}

  async write(text: string): Promise<void> {
    this.buffer.push(text);
    this.size += text.length;
    if (this.size >= 65_536) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.buffer.length === 0) return;
    const chunk = this.buffer.join('');
    this.buffer = [];
    this.size = 0;
    if (!this.stream.write(chunk)) await once(this.stream, 'drain');
  }
}
