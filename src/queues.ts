import { PgBoss } from 'pg-boss';
import { indexQueueSpec } from './code-index/index-queue.js';
import type { Config } from './config.js';
import type { Database } from './db/database.js';
import { ensureQueues, type QueueSpec } from './db/queue-spec.js';
import { gitHubQueueSpecs } from './github/github-queues.js';
import { deliveryQueueSpecs } from './jobs/delivery-queues.js';
import { fixQueueSpecs } from './jobs/fix-queue.js';
import type { Logger } from './lib/logger.js';

/**
 * Every queue of Kodah, declared once. Every process creates them all at start (and `kodah
 * migrate` does too), whatever it runs: an API process without workers still sends to the
 * GitHub and index queues, and pg-boss refuses to send to a queue that does not exist.
 */
export function queueSpecs(config: Config): QueueSpec[] {
  return [...fixQueueSpecs(config), indexQueueSpec(config), ...gitHubQueueSpecs(), ...deliveryQueueSpecs(config)];
}

/** Starts pg-boss on the same database as everything else and makes sure every queue exists. */
export async function startQueues(db: Database, config: Config, log: Logger): Promise<PgBoss> {
  const common = {
    useListenNotify: true,
    // The monitor pass is what fails jobs whose worker stopped heartbeating (a killed process).
    superviseIntervalSeconds: config.worker.superviseIntervalS,
    monitorIntervalSeconds: config.worker.superviseIntervalS,
    // Instance bookkeeping is for dashboards; it is noise on the embedded database.
    registerInstance: db.kind === 'postgres',
    openTelemetry: { enabled: false },
  } as const;
  const boss =
    db.kind === 'pglite'
      ? new PgBoss({ ...common, db: db.boss, backend: 'pglite' })
      : new PgBoss({ ...common, connectionString: config.databaseUrl!, max: Math.max(4, config.worker.concurrency + 2) });
  boss.on('error', (err) => log.error({ err }, 'queue error'));
  boss.on('warning', (w) => log.warn({ warning: w.data }, `queue: ${w.message}`));
  await boss.start();
  await ensureQueues(boss, queueSpecs(config), log);
  return boss;
}
