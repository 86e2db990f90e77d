/** Admin API for backups: list them, start one now, download one. */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { getBackup, listBackups, toBackup } from '../../backups/manifest.js';
import { pipeline } from 'node:stream/promises';
import { BackupNotFoundError } from '../../backups/storage.js';
import { createStorages } from '../../backups/storage-targets.js';
import { lazy } from '../../lib/lazy.js';
import { ADMIN } from '../../domain/roles.js';
import { NotFoundError } from '../../lib/errors/index.js';
import type { AppDeps } from '../deps.js';
import { defineRoute, reply, type RouteSpec } from '../route.js';
import { ErrorResponse, JobAccepted } from '../schemas/common.js';

const BackupParams = z.strictObject({ id: z.uuid().meta({ description: 'Backup id (UUID)' }) });
const BackupListQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(500).default(100) });
const DownloadQuery = z.strictObject({ artifact: z.enum(['database', 'files']).default('database') });

const Backup = z
  .object({
    id: z.string(),
    kind: z.enum(['daily', 'weekly', 'manual']),
    status: z.enum(['running', 'succeeded', 'failed', 'expired']),
    started_at: z.string(),
    finished_at: z.string().nullable(),
    size_bytes: z.number().nullable(),
    sha256: z.string().nullable(),
    location: z.string().nullable(),
    files_location: z.string().nullable(),
    files_size_bytes: z.number().nullable(),
    targets: z.array(z.string()),
    table_counts: z.record(z.string(), z.number()).nullable(),
    error: z.string().nullable(),
    verified_at: z.string().nullable(),
    verification_status: z.enum(['passed', 'failed']).nullable(),
    verification_error: z.string().nullable(),
    expired_at: z.string().nullable(),
  })
  .meta({ id: 'Backup' });

const errors = {
  401: { description: 'Not signed in', schema: ErrorResponse },
  403: { description: 'Not an admin', schema: ErrorResponse },
};

export function backupRoutes(deps: AppDeps): RouteSpec[] {
  const { db, producer, config } = deps;
  // Created on first download: the API reads what the workers wrote (shared volume or bucket).
  const storages = lazy(() => createStorages(config.backup));
  return [
    defineRoute({
      method: 'get',
      path: '/admin/backups',
      summary: 'List backups, newest first, with their verification results',
      tags: ['backups'],
      auth: ADMIN,
      query: BackupListQuery,
      responses: { 200: { description: 'Backups', schema: z.object({ items: z.array(Backup) }) }, ...errors },
      handler: async ({ query }) => reply(200, { items: (await listBackups(db, query.limit)).map(toBackup) }),
    }),
    defineRoute({
      method: 'post',
      path: '/admin/backups',
      summary: 'Start a backup now (queued; follow it with GET /jobs/backups/{job_id})',
      tags: ['backups'],
      auth: ADMIN,
      responses: {
        202: { description: 'Queued', schema: JobAccepted },
        503: { description: 'The queue (Redis) is unavailable', schema: ErrorResponse },
        ...errors,
      },
      handler: async ({ principal }) => {
        const jobId = await producer.add('backups', 'backup.run', { kind: 'manual', requestedBy: principal.userId }, { jobId: `manual-${randomUUID()}` });
        return reply(202, { job_id: jobId, queue: 'backups' });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/admin/backups/:id',
      summary: 'One backup',
      tags: ['backups'],
      auth: ADMIN,
      params: BackupParams,
      responses: { 200: { description: 'The backup', schema: Backup }, 404: { description: 'No such backup', schema: ErrorResponse }, ...errors },
      handler: async ({ params }) => {
        const backup = await getBackup(db, params.id);
        if (!backup) throw new NotFoundError('backup');
        return reply(200, toBackup(backup));
      },
    }),
    defineRoute({
      method: 'get',
      path: '/admin/backups/:id/download',
      summary: 'Download a backup: the database dump (pg_restore custom format), or ?artifact=files for a weekly backup’s uploaded files',
      tags: ['backups'],
      auth: ADMIN,
      params: BackupParams,
      query: DownloadQuery,
      responses: {
        200: { description: 'The file; X-Backup-SHA256 carries its checksum', contentType: 'application/octet-stream' },
        404: { description: 'No such backup, or its file is gone', schema: ErrorResponse },
        ...errors,
      },
      handler: async ({ params, query, res }) => {
        const backup = await getBackup(db, params.id);
        const key = query.artifact === 'files' ? backup?.files_location : backup?.location;
        if (!backup || backup.status !== 'succeeded' || !key) throw new NotFoundError('backup file');
        // Keys come from the manifest, never from the request; local storage also refuses any key outside its folder.
        const storage = (await storages()).find((s) => backup.targets.includes(s.name));
        if (!storage) throw new NotFoundError('backup file');
        const body = await storage.get(key).catch((err: unknown) => {
          if (err instanceof BackupNotFoundError) throw new NotFoundError('backup file');
          throw err;
        });
        const size = query.artifact === 'files' ? backup.files_size_bytes : backup.size_bytes;
        res.set({
          'Content-Type': 'application/octet-stream',
          'Content-Disposition': `attachment; filename="uvis-${backup.kind}-${backup.id}.${query.artifact === 'files' ? 'tar.gz' : 'dump'}"`,
          'X-Backup-SHA256': (query.artifact === 'files' ? backup.files_sha256 : backup.sha256) ?? '',
          ...(size ? { 'Content-Length': String(size) } : {}),
          'Cache-Control': 'no-store',
        });
        // pipeline destroys the storage stream when the client goes away, and the
        // response (a short download, not a clean end) when the storage stream fails.
        await pipeline(body, res).catch((err: { code?: string }) => {
          if (err.code !== 'ERR_STREAM_PREMATURE_CLOSE') throw err;
        });
      },
    }),
  ];
}
