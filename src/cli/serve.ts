import type { Command } from 'commander';
import type { Kodah, KodahOptions } from '../app.js';
import { type Config, ConfigError } from '../config.js';
import { createLogger } from '../lib/logger.js';
import { startQueues } from '../queues.js';
import { withDatabase } from './with-database.js';

/**
 * The server's wiring, loaded when a process starts: it brings Fastify, Probot, Stripe and the MCP
 * SDK, a second of CPU that `kodah accounts …` and the other short commands do without.
 */
async function startKodah(options: KodahOptions): Promise<Kodah> {
  return (await import('../app.js')).startKodah(options);
}

/**
 * Runs a long-lived process until SIGTERM/SIGINT, then drains it. The handlers are in place before
 * the process starts: the API answers /healthz before start() has returned, and a signal in that
 * window would otherwise end the process at once, mid-start, with no drain and no exit code.
 */
export async function runUntilSignal(
  start: () => Promise<Pick<Kodah, 'log' | 'stop'>>,
  exit: (code: number) => void = (code) => process.exit(code),
): Promise<void> {
  let onSignal!: (signal: NodeJS.Signals) => void;
  const received = new Promise<NodeJS.Signals>((resolve) => (onSignal = resolve));
  // The first signal drains; a second one finds no handler and ends the process at once.
  const unlisten = () => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  };
  process.once('SIGTERM', onSignal).once('SIGINT', onSignal);
  let kodah;
  try {
    kodah = await start();
  } catch (err) {
    unlisten();
    throw err;
  }
  const signal = await received;
  unlisten();
  kodah.log.info({ signal }, 'shutting down: no new jobs, running ones get the grace period');
  // Should a library leave a handle open, the process still ends: stop() has drained the work.
  const exitSoon = (code: number) => setTimeout(() => exit(code), 5000).unref();
  try {
    await kodah.stop();
    exitSoon(0);
  } catch (err) {
    exitSoon(1);
    kodah.log.error({ err }, 'shutdown failed');
    throw err;
  }
}

/** `start`, `serve`, `worker` and `migrate`: the processes Kodah runs as, and the schema they need. */
export function addServeCommands(program: Command, cfg: () => Config): void {
  program
    .command('start')
    .description('HTTP API and workers in one process (embedded PGlite unless DATABASE_URL is set)')
    .action(async () => runUntilSignal(() => startKodah({ config: cfg(), http: true, workers: true })));

  program
    .command('serve')
    .description('the HTTP API, with workers unless --no-workers')
    .option('--no-workers', 'API only; run `kodah worker` processes against the same DATABASE_URL')
    .action(async (opts: { workers: boolean }) => {
      if (!opts.workers && !cfg().databaseUrl) {
        throw new ConfigError('--no-workers needs DATABASE_URL: the embedded database serves one process, so no worker could reach it');
      }
      return runUntilSignal(() => startKodah({ config: cfg(), http: true, workers: opts.workers }));
    });

  program
    .command('worker')
    .description('workers only, sharing the queue of DATABASE_URL with any number of other processes')
    .action(async () => {
      if (!cfg().databaseUrl) throw new ConfigError('kodah worker needs DATABASE_URL; with the embedded database use `kodah start`');
      return runUntilSignal(() => startKodah({ config: cfg(), http: false, workers: true }));
    });

  program
    .command('migrate')
    .description("apply the database migrations (Kodah's and the queue's) and exit")
    .action(async () => {
      const log = createLogger(cfg().logLevel, process.stderr);
      await withDatabase(cfg(), async (db) => {
        // Starting the queues creates pg-boss's schema and every queue Kodah declares.
        const boss = await startQueues(db, cfg(), log);
        await boss.stop({ graceful: false, close: true });
      });
      process.stderr.write('database is up to date\n');
    });
}
