/**
 * The live `temperature` event (lib/live-events.ts): after a batch of readings is committed, each
 * dispatch the batch touched announces its latest reading, so the dashboard's card shows it without
 * reloading the list. One event per dispatch per batch, never one per reading: a gateway posting
 * every second would otherwise flood every open dashboard.
 *
 * Best effort, like every live event: a failed read is logged and forgotten, never a reason to
 * retry the batch (its readings are stored; the next batch, or the page's next reload, brings the
 * latest temperature anyway).
 */
import { latestReadings, type LatestReadingRow } from '../db/temperatures.js';
import type { Db } from '../db/knex.js';
import { classifyReading, limitsOfOrder } from '../domain/temperature-profiles.js';
import type { LiveEvent, LivePublisher } from '../lib/live-events.js';
import type { Logger } from '../lib/logger.js';

/** The event for one dispatch's latest reading; in range by the same rule as the dashboard's list. */
export function temperatureEvent(row: LatestReadingRow, at: Date = new Date()): LiveEvent {
  const { limits } = limitsOfOrder(row);
  return {
    type: 'temperature',
    dispatch_id: row.dispatch_id,
    vehicle_id: row.vehicle_id,
    sensor: row.sensor,
    recorded_at: row.recorded_at.toISOString(),
    temperature_c: row.temperature_c,
    door_open: row.door_open,
    in_range: classifyReading(row.temperature_c, limits).side === 'IN_RANGE',
    at: at.toISOString(),
  };
}

/** Publishes each dispatch's latest reading; never throws. */
export async function publishLatestTemperatures(deps: { db: Db; live: LivePublisher; log: Logger }, dispatchIds: readonly number[]): Promise<void> {
  if (dispatchIds.length === 0) return;
  try {
    const at = new Date();
    for (const row of await latestReadings(deps.db, dispatchIds)) deps.live.publish(temperatureEvent(row, at));
  } catch (err) {
    deps.log.warn({ err, dispatches: dispatchIds.length }, 'latest temperatures not published');
  }
}
