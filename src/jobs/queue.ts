import { PgBoss, type Queue } from 'pg-boss';
import { ensureIndexQueue } from '../code-index/index-queue.js';
import type { Config } from '../config.js';
import type { Database, Queryable } from '../db/database.js';
import type { Logger } from '../lib/logger.js';

export const FIX_QUEUE = 'kodah-fix';
/** Where pg-boss puts a fix job whose retries ran out without our handler settling it (a dead worker). */
export const FIX_DEAD_LETTER_QUEUE = 'kodah-fix-dead';

export interface FixJobData {
  jobId: string;
}

/** Starts pg-boss on the same database as everything else and makes sure the queues exist. */
export async function startQueue(db: Database, config: Config, log: Logger): Promise<PgBoss> {
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

  const fix: Omit<Queue, 'name'> = {
    retryLimit: config.worker.retries,
    retryDelay: 2,
    retryBackoff: true,
    retryDelayMax: 60,
    expireInSeconds: config.worker.jobTimeoutS,
    heartbeatSeconds: config.worker.heartbeatS,
    deadLetter: FIX_DEAD_LETTER_QUEUE,
    notify: true,
  };
  await ensureQueue(boss, FIX_DEAD_LETTER_QUEUE, { retryLimit: 10, retryDelay: 5, retryBackoff: true, notify: true });
  await ensureQueue(boss, FIX_QUEUE, fix);
  await ensureIndexQueue(boss, config);
  return boss;
}

async function ensureQueue(boss: PgBoss, name: string, options: Omit<Queue, 'name'>): Promise<void> {
  if (await boss.getQueue(name)) {
    // Settings follow the configuration of the latest process to start.
    const { notify: _n, ...updatable } = options;
    await boss.updateQueue(name, updatable);
  } else {
    await boss.createQueue(name, options);
  }
}

/** Enqueues a fix job in the caller's transaction: it exists for workers exactly when the job row does. */
export async function enqueueFix(boss: PgBoss, tx: Queryable, jobId: string): Promise<void> {
  await boss.send(FIX_QUEUE, { jobId } satisfies FixJobData, { id: jobId, db: tx.boss });
}
