/**
 * maintenance queue: keeps the tables that grow without bound in shape. GPS points and
 * temperature readings are partitioned by month (db/partitions.ts): the coming months'
 * partitions are created ahead, and a month is dropped whole once all of it is older than
 * LOCATION_RETENTION_DAYS (TELEMETRY_RETENTION_DAYS); the default and legacy partitions are
 * trimmed in small batches. Relayed outbox rows, expired idempotency keys and
 * finished sessions are removed, and finished webhook deliveries with their attempt log
 * after WEBHOOK_LOG_RETENTION_DAYS; proofs of delivery (rows and images) after PROOF_RETENTION_DAYS. Backup leftovers (runs left running by a dead process,
 * orphaned .partial files, scratch databases of crashed verifications) are swept too.
 */
import { z } from 'zod';
import { deleteKeysBefore } from '../db/idempotency.js';
import { deletePublishedBefore } from '../db/outbox.js';
import { dropPartitionsBefore, ensureMonthPartitions, type PartitionedTable } from '../db/partitions.js';
import { deleteSessionsEndedBefore } from '../db/sessions.js';
import { deleteFinishedDeliveriesBefore } from '../db/webhooks.js';
import { sweptCounts } from '../backups/leftovers.js';
import { createProofStorage } from '../backups/proof-storage.js';
import { lazy } from '../lib/lazy.js';
import { purgeExpiredProofs } from '../use-cases/proofs.js';
import { sweepBackupLeftovers } from './backups.js';
import { defineQueue } from './define.js';

const Tick = z.object({ tick: z.string().max(100).optional() });
const DAY = 86_400_000;

export const maintenanceQueue = defineQueue({
  name: 'maintenance',
  description: '정리 작업 (위치 보존 기간, 중단된 백업 등) · cleanup (GPS and temperature retention, outbox, interrupted backups)',
  hashTag: 'maintenance',
  dispatcherVisible: false,
  schedules: ({ maintenance }) => [{ name: 'maintenance', cron: maintenance.cron, jobName: 'maintenance.cleanup', data: {} }],
  jobs: { 'maintenance.cleanup': Tick },
  defaultJobOptions: {
    attempts: 3,
    backoff: { type: 'exponential', delay: 60_000 },
    removeOnComplete: { age: 30 * 86_400 },
    removeOnFail: { age: 30 * 86_400 },
  },
  concurrency: () => 1,
  createProcessor: ({ db, config, log }) => {
    // Made on first use: the AWS SDK loads only where proofs are in S3.
    const proofStorage = lazy(() => createProofStorage(config));
    return {
      handlers: {
        'maintenance.cleanup': async () => {
          const now = Date.now();
          const partitions = async (table: PartitionedTable, retentionDays: number) => ({
            partitionsCreated: await ensureMonthPartitions(db, table, new Date(now)),
            ...(await dropPartitionsBefore(db, table, new Date(now - retentionDays * DAY))),
          });
          const result = {
            locations: await partitions('vehicle_locations', config.locationRetentionDays),
            temperatures: await partitions('temperature_readings', config.telemetryRetentionDays),
            outbox: await deletePublishedBefore(db, new Date(now - config.maintenance.outboxRetentionDays * DAY)),
            idempotencyKeys: await deleteKeysBefore(db, new Date(now - config.maintenance.idempotencyKeyTtlHours * 3_600_000)),
            sessions: await deleteSessionsEndedBefore(db, new Date(now - 30 * DAY)),
            webhookDeliveries: await deleteFinishedDeliveriesBefore(db, new Date(now - config.webhooks.logRetentionDays * DAY)),
            // After the database-only steps: a proof storage that does not answer fails the job (retried) without holding them up.
            proofs: await purgeExpiredProofs(db, await proofStorage(), new Date(now - config.proofs.retentionDays * DAY)),
            backupLeftovers: sweptCounts(await sweepBackupLeftovers({ db, config, log })),
          };
          log.info(result, 'maintenance cleanup done');
          return result;
        },
      },
    };
  },
});
