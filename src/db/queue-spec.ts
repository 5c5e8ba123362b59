import type { PgBoss, Queue } from 'pg-boss';
import type { Logger } from '../lib/logger.js';

/** One pg-boss queue and its settings, declared by the feature that sends to it. */
export interface QueueSpec {
  name: string;
  options: Omit<Queue, 'name'>;
}

/**
 * Creates each queue, or brings an existing one to the declared settings: the latest process to
 * start wins, so a changed retry limit or timeout takes effect at the next deploy. pg-boss cannot
 * change a queue's policy or partitioning after creation; a mismatch is logged, not fatal, since
 * the queue still works with the policy it has.
 */
export async function ensureQueues(boss: PgBoss, specs: readonly QueueSpec[], log: Logger): Promise<void> {
  for (const { name, options } of specs) {
    const existing = await boss.getQueue(name);
    if (!existing) {
      await boss.createQueue(name, options);
      continue;
    }
    const { policy, partition, ...updatable } = options;
    if ((policy ?? 'standard') !== existing.policy || (partition ?? false) !== (existing.partition ?? false)) {
      log.warn(
        { queue: name, declared: { policy, partition }, actual: { policy: existing.policy, partition: existing.partition } },
        'queue was created with another policy; pg-boss cannot change it',
      );
    }
    await boss.updateQueue(name, updatable);
  }
}
