/**
 * Queues fed by the outbox carry events of database changes. After a restore those
 * changes are gone, and their jobs would write history for changes that never happened
 * in the restored data (and take event ids the restored outbox hands out again).
 * Which queues those are is a fact of each queue (QueueDefinition.outboxEvents).
 */
import { QUEUE_NAMES, queueDefinition } from './index.js';
import type { Queues } from './queues.js';

export const TIMELINE_QUEUES = QUEUE_NAMES.filter((name) => queueDefinition(name).outboxEvents === true);

/** Removes waiting, delayed and failed jobs of the timeline queues; returns how many there were. */
export async function clearTimelineJobs(queues: Queues): Promise<number> {
  let removed = 0;
  for (const name of TIMELINE_QUEUES) {
    const queue = queues[name];
    const counts = await queue.getJobCounts('waiting', 'delayed', 'prioritized', 'failed');
    removed += Object.values(counts).reduce((a, b) => a + b, 0);
    await queue.drain(true);
    while ((await queue.clean(0, 1000, 'failed')).length > 0);
  }
  return removed;
}
