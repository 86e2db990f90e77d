/** telemetry queue: reefer temperature readings posted by drivers' phones and vehicle gateways, stored in batches. */
import { z } from 'zod';
import { insertReadings, type ReadingRow } from '../db/temperatures.js';
import { BatchWriter } from './batch-writer.js';
import { CAPPED_BACKOFF, SHARED_HASH_TAG, defineQueue } from './define.js';

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
  hashTag: SHARED_HASH_TAG,
  dispatcherVisible: true,
  jobs: { readings: TemperatureReadings },
  defaultJobOptions: {
    attempts: 25,
    backoff: { type: CAPPED_BACKOFF, delay: 500 },
    removeOnComplete: { age: 3600, count: 2000 },
    removeOnFail: { age: 7 * 24 * 3600 },
  },
  concurrency: (config) => config.worker.locationsConcurrency,
  successLogLevel: 'debug',
  createProcessor: ({ db, metrics, log, config }) => {
    const writer = new BatchWriter<ReadingRow>(log.child({ component: 'temperature-writer' }), {
      what: 'temperature readings',
      // The GPS writer's batch settings: both are many small jobs of the same kind.
      maxRows: config.worker.locationBatchMaxPoints,
      maxWaitMs: config.worker.locationBatchMaxWaitMs,
      store: async (rows) => {
        const stored = await db.transaction((trx) => insertReadings(trx, rows));
        metrics.temperatureReadingsStored.inc(stored);
      },
    });
    return {
      handlers: {
        readings: async (data) => {
          await writer.write(toReadingRows(data));
          return { readings: data.readings.length };
        },
      },
      close: () => writer.close(),
    };
  },
});
