/** Jobs per queue and state, read from Redis for the dashboard and its live stream. */
import { UnavailableError } from '../lib/errors/index.js';
import { withTimeout } from '../lib/timeout.js';
import type { Queues } from './queues.js';

export interface QueueCountRow {
  name: string;
  waiting: number;
  active: number;
  failed: number;
  delayed: number;
  completed: number;
  paused: boolean;
}

/** Waiting, active, failed (and more) per queue, read from Redis; a Redis that does not answer in time is a 503. */
export async function queueCounts(queues: Queues, timeoutMs: number): Promise<QueueCountRow[]> {
  const read = Promise.all(
    Object.entries(queues).map(async ([name, queue]) => {
      const [counts, paused] = await Promise.all([queue.getJobCounts('waiting', 'prioritized', 'active', 'failed', 'delayed', 'completed'), queue.isPaused()]);
      const n = (state: string) => counts[state] ?? 0;
      // Prioritized jobs are waiting too, just in a different list.
      return {
        name,
        waiting: n('waiting') + n('prioritized'),
        active: n('active'),
        failed: n('failed'),
        delayed: n('delayed'),
        completed: n('completed'),
        paused,
      };
    }),
  );
  return withTimeout(read, timeoutMs, () => new UnavailableError('redis'));
}
