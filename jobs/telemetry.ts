/**
 * telemetry queue: reefer temperature readings posted by drivers' phones and vehicle gateways,
 * stored in batches; after each stored batch, every dispatch the batch's readings belong to
 * announces its latest reading live (jobs/temperature-events.ts) and is evaluated for excursions
 * once (use-cases/excursions.ts), and a scheduled sweep
 * (`telemetry.evaluate-gaps`, TELEMETRY_GAP_CRON, every minute) re-evaluates the dispatches on
 * board so that a DATA_GAP opens when time passes without readings.
 */
import { z } from 'zod';
import { dispatchesToSweep } from '../db/excursions.js';
import { insertReadings, type ReadingRow } from '../db/temperatures.js';
import type { Logger } from '../lib/logger.js';
import type { LivePublisher } from '../lib/live-events.js';
import type { Db } from '../db/knex.js';
import type { Config } from '../lib/config.js';
import { evaluateDispatchExcursions, type EvaluationTrigger } from '../use-cases/excursions.js';
import { transaction } from '../use-cases/transaction.js';
import { BatchWriter } from './batch-writer.js';
import { HIGH_VOLUME_JOB_OPTIONS, defineQueue } from './define.js';
import { publishLatestTemperatures } from './temperature-events.js';

export const MAX_READINGS_PER_POST = 500;
/** The range a reefer logger can report; anything beyond is a broken probe or a unit mix-up (°F). */
export const TEMPERATURE_MIN_C = -60;
export const TEMPERATURE_MAX_C = 60;

export const TemperatureReading = z.object({
  recordedAt: z.iso.datetime({ offset: true }),
  temperatureC: z.number().min(TEMPERATURE_MIN_C).max(TEMPERATURE_MAX_C),
  sensor: z.string().min(1).max(50),
  setpointC: z.number().min(TEMPERATURE_MIN_C).max(TEMPERATURE_MAX_C).nullable(),
  doorOpen: z.boolean().nullable(),
});

export const TemperatureReadings = z.object({
  vehicleId: z.number().int().positive(),
  source: z.enum(['driver', 'gateway']),
  receivedAt: z.iso.datetime({ offset: true }),
  readings: z.array(TemperatureReading).min(1).max(MAX_READINGS_PER_POST),
});
export type TemperatureReadings = z.infer<typeof TemperatureReadings>;

/** The DATA_GAP sweep's job: a schedule tick, or (tests, operators) an explicit evaluation time. */
export const EvaluateGaps = z.object({ tick: z.string().max(100).optional(), now: z.iso.datetime({ offset: true }).optional() });

/** How many dispatches one batch evaluates at once (each takes a pool connection). */
const EVALUATION_PARALLELISM = 4;

/**
 * Evaluates each dispatch in its own transaction, a few at a time. Any failure fails the caller
 * (the batch's jobs are retried: their readings are already stored, the retry stores nothing and
 * evaluates again), so every stored reading is evaluated at least once.
 */
export async function evaluateDispatches(
  deps: { db: Db; log: Logger; live?: LivePublisher; config: Pick<Config, 'excursions'> },
  dispatchIds: readonly number[],
  trigger: EvaluationTrigger,
  now?: Date,
): Promise<number> {
  const { db, log, live, config } = deps;
  const unit = { db, log, relay: { kick() {} } };
  let changed = 0;
  for (let i = 0; i < dispatchIds.length; i += EVALUATION_PARALLELISM) {
    const results = await Promise.all(
      dispatchIds
        .slice(i, i + EVALUATION_PARALLELISM)
        .map((id) => transaction(unit, (tx) => evaluateDispatchExcursions(tx, { excursions: config.excursions, live }, id, now ?? new Date(), trigger))),
    );
    for (const r of results) changed += r?.changed.length ?? 0;
  }
  return changed;
}

export function toReadingRows(data: TemperatureReadings): ReadingRow[] {
  const receivedAt = new Date(data.receivedAt);
  return data.readings.map((r) => ({
    vehicle_id: data.vehicleId,
    sensor: r.sensor,
    recorded_at: new Date(r.recordedAt),
    temperature_c: r.temperatureC,
    setpoint_c: r.setpointC,
    door_open: r.doorOpen,
    source: data.source,
    received_at: receivedAt,
  }));
}

export const telemetryQueue = defineQueue({
  name: 'telemetry',
  description: '냉장·냉동 온도 기록 저장 · reefer temperature readings',
  hashTag: 'telemetry',
  dispatcherVisible: true,
  jobs: { readings: TemperatureReadings, 'telemetry.evaluate-gaps': EvaluateGaps },
  schedules: ({ excursions }) => [{ name: 'telemetry-gaps', cron: excursions.gapCron, jobName: 'telemetry.evaluate-gaps', data: {} }],
  defaultJobOptions: { ...HIGH_VOLUME_JOB_OPTIONS },
  concurrency: (config) => config.worker.locationsConcurrency,
  successLogLevel: 'debug',
  createProcessor: ({ db, metrics, log, config, live }) => {
    const writer = new BatchWriter<ReadingRow, number[]>(log.child({ component: 'temperature-writer' }), {
      what: 'temperature readings',
      // The GPS writer's batch settings: both are many small jobs of the same kind.
      maxRows: config.worker.locationBatchMaxPoints,
      maxWaitMs: config.worker.locationBatchMaxWaitMs,
      store: async (rows) => {
        const { stored, dispatchIds } = await db.transaction((trx) => insertReadings(trx, rows));
        metrics.temperatureReadingsStored.inc(stored);
        return dispatchIds;
      },
      // After the readings are committed, per affected dispatch: its latest reading goes to the
      // dashboards (best effort, never fails the batch), then one evaluation; a failed evaluation
      // retries the batch's jobs (their readings are already stored).
      afterCommit: async (dispatchIds) => {
        await publishLatestTemperatures({ db, live, log }, dispatchIds);
        await evaluateDispatches({ db, log, live, config }, dispatchIds, 'readings');
      },
    });
    return {
      handlers: {
        readings: async (data) => {
          await writer.write(toReadingRows(data));
          return { readings: data.readings.length };
        },
        'telemetry.evaluate-gaps': async (data) => {
          const ids = await dispatchesToSweep(db);
          const changed = await evaluateDispatches({ db, log, live, config }, ids, 'clock', data.now ? new Date(data.now) : undefined);
          return { dispatches: ids.length, changed };
        },
      },
      close: () => writer.close(),
    };
  },
});
