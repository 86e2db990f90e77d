/** Reading a job and its state so that the two agree. */
import type { Job, JobState, Queue } from 'bullmq';

/**
 * The job and its state. They are two reads: a job that finishes between them would
 * show as completed (or failed) with the result and times of before, so a finished
 * state read with an unfinished job reads the job again.
 */
export async function jobWithState(queue: Pick<Queue, 'getJob'>, id: string): Promise<{ job: Job; state: JobState | 'unknown' } | undefined> {
  const job = await queue.getJob(id);
  if (!job) return undefined;
  const state = await job.getState();
  if ((state === 'completed' || state === 'failed') && !job.finishedOn) {
    const fresh = await queue.getJob(id);
    if (fresh) return { job: fresh, state };
  }
  return { job, state };
}
