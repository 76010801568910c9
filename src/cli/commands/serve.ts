import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { createLogger } from '../../core/logger.js';
import { startService } from '../../main.js';
import { EXIT, action, configOption, outputOption, printJson } from '../output.js';

/**
 * `tuskguard serve`: runs the service until SIGINT/SIGTERM. Logs (pino JSON) go to stderr;
 * stdout gets one line when listening and one when stopped, human or JSON.
 */
export function register(program: Command): void {
  program
    .command('serve')
    .description(
      'Run the service: configured sources → pipeline → store, and the API (GET /healthz, GET /metrics, http-push routes).\n' +
        'Without a config file: embedded SQLite store under $TUSKGUARD_HOME (default ./.tuskguard), API on 127.0.0.1:8787, no sources.',
    )
    .addOption(configOption())
    .addOption(outputOption())
    .addHelpText('after', '\nExit codes: 0 stopped cleanly, 2 configuration error, 3 store unavailable.')
    .action(
      action(async (opts: { config?: string; output: 'human' | 'json' }) => {
        const loaded = loadConfig(opts.config);
        const logger = createLogger({ level: loaded.config.log_level });
        const service = await startService({ loaded, logger });
        const info = {
          status: 'listening',
          url: service.url,
          store: service.store.kind,
          home: loaded.home,
          config: loaded.file,
          sources: service.sources.map((s) => ({ id: s.source.id, type: s.type })),
        };
        if (opts.output === 'json') printJson(info);
        else process.stdout.write(`tuskguard serving on ${service.url} (store: ${info.store}, home: ${loaded.home}, sources: ${info.sources.length})\n`);
        const signal = await new Promise<NodeJS.Signals>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        logger.info({ signal }, 'signal received; a second one stops at once');
        const force = () => process.exit(EXIT.UNAVAILABLE);
        process.once('SIGINT', force);
        process.once('SIGTERM', force);
        await service.close();
        // Anything still holding the event loop (a stuck client connection) must not keep us up.
        setTimeout(() => process.exit(process.exitCode ?? EXIT.OK), 1_000).unref();
        if (opts.output === 'json') printJson({ status: 'stopped', signal });
        else process.stdout.write('tuskguard stopped\n');
        return EXIT.OK;
      }),
    );
}
