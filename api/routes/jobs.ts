/** Job status for dispatchers: what happened to the work a request queued. */
import { z } from 'zod';
import { STAFF } from '../../domain/roles.js';
import { ForbiddenError, NotFoundError, UnavailableError } from '../../lib/errors/index.js';
import { jobWithState } from '../../jobs/job-status.js';
import { QUEUE_NAMES, dispatcherMaySee } from '../../jobs/index.js';
import { withTimeout } from '../../lib/timeout.js';
import type { AppDeps } from '../deps.js';
import { defineRoute, reply, type RouteSpec } from '../route.js';
import { ErrorResponse } from '../schemas/common.js';

const JobParams = z.strictObject({
  queue: z.enum(QUEUE_NAMES),
  id: z.string().regex(/^[A-Za-z0-9_-]{1,100}$/, 'a job id'),
});

const JobStatus = z
  .object({
    id: z.string(),
    queue: z.string(),
    name: z.string(),
    state: z.string().meta({ description: 'waiting, active, delayed, completed, failed, ...' }),
    attempts_made: z.number(),
    attempts_allowed: z.number(),
    progress: z.unknown(),
    result: z.unknown().nullable(),
    failed_reason: z.string().nullable(),
    created_at: z.string(),
    processed_at: z.string().nullable(),
    finished_at: z.string().nullable(),
  })
  .meta({ id: 'JobStatus' });

const iso = (ms: number | undefined) => (ms ? new Date(ms).toISOString() : null);

export function jobRoutes({ queues, config }: AppDeps): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/jobs/:queue/:id',
      summary: 'State, attempts, progress and result or failure reason of a job (backups and maintenance jobs: admins only)',
      tags: ['jobs'],
      auth: STAFF,
      params: JobParams,
      responses: {
        200: { description: 'The job', schema: JobStatus },
        403: { description: 'A backups or maintenance job, asked by a dispatcher', schema: ErrorResponse },
        404: { description: 'No such job (never queued, or already trimmed)', schema: ErrorResponse },
        503: { description: 'Redis unavailable', schema: ErrorResponse },
      },
      handler: async ({ params, principal }) => {
        if (!dispatcherMaySee(params.queue) && principal.role !== 'admin') throw new ForbiddenError(`jobs of the ${params.queue} queue are for admins`);
        const queue = queues[params.queue];
        const found = await withTimeout(jobWithState(queue, params.id), config.redisCommandTimeoutMs, () => new UnavailableError('redis'));
        if (!found) throw new NotFoundError(`job ${params.id} in queue ${params.queue}`);
        const { job, state } = found;
        return reply(200, {
          id: String(job.id),
          queue: params.queue,
          name: job.name,
          state,
          attempts_made: job.attemptsMade,
          attempts_allowed: job.opts.attempts ?? 1,
          progress: job.progress,
          result: job.returnvalue ?? null,
          failed_reason: job.failedReason || null,
          created_at: iso(job.timestamp)!,
          processed_at: iso(job.processedOn),
          finished_at: iso(job.finishedOn),
        });
      },
    }),
  ];
}
