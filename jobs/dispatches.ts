/**
 * dispatches queue: status history, cache invalidation and live notifications after a dispatch
 * changes, and the live notification of its geofence arrivals and departures.
 */
import type { z } from 'zod';
import { DISPATCH_ARRIVED, DISPATCH_DEPARTED, DISPATCH_STATUS_CHANGED, RelayedFields } from '../domain/events.js';
import type { LivePublisher } from '../lib/live-events.js';
import { insertHistory } from '../db/dispatches.js';
import { cacheNames } from '../lib/cache.js';
import { STANDARD_JOB_OPTIONS, defineQueue } from './define.js';

/** What the processor gets: the event as written, and what the relay added. */
export const DispatchStatusChanged = DISPATCH_STATUS_CHANGED.payload.extend(RelayedFields.shape);
export type DispatchStatusChanged = z.infer<typeof DispatchStatusChanged>;
export const DispatchArrived = DISPATCH_ARRIVED.payload.extend(RelayedFields.shape);
export const DispatchDeparted = DISPATCH_DEPARTED.payload.extend(RelayedFields.shape);
type GeofenceAnnouncement = z.infer<typeof DispatchArrived>;

/** Publishing twice (a redelivered job) only repeats a dashboard notice; the event itself is stored once. */
function publishGeofence(live: LivePublisher, kind: 'ARRIVED' | 'DEPARTED', e: GeofenceAnnouncement) {
  live.publish({
    type: 'geofence',
    geofence_event_id: e.geofenceEventId,
    dispatch_id: e.dispatchId,
    order_id: e.orderId,
    driver_id: e.driverId,
    vehicle_id: e.vehicleId,
    site: e.site,
    kind,
    at: e.at,
    latitude: e.latitude,
    longitude: e.longitude,
    suggested_status: e.suggestedStatus,
  });
  return { published: true };
}

export const dispatchesQueue = defineQueue({
  name: DISPATCH_STATUS_CHANGED.queue,
  description: '배차 이력 · 알림 · dispatch history and notifications',
  hashTag: 'dispatches',
  dispatcherVisible: true,
  outboxEvents: true,
  jobs: {
    [DISPATCH_STATUS_CHANGED.job]: DispatchStatusChanged,
    [DISPATCH_ARRIVED.job]: DispatchArrived,
    [DISPATCH_DEPARTED.job]: DispatchDeparted,
  },
  defaultJobOptions: { ...STANDARD_JOB_OPTIONS },
  concurrency: (config) => config.worker.concurrency,
  createProcessor: ({ db, cache, live }) => ({
    handlers: {
      'dispatch.status_changed': async (event) => {
        // The event key (or, on older jobs, the outbox id) is unique in the history table: a redelivered job inserts nothing.
        const inserted = await insertHistory(db, {
          event_id: event.eventId,
          event_key: event.eventKey ?? null,
          dispatch_id: event.dispatchId,
          from_status: event.from,
          to_status: event.to,
          changed_by: event.changedBy,
          changed_at: new Date(event.changedAt),
          note: event.note,
        });
        await cache.invalidate(cacheNames.driverSummary(event.driverId), cacheNames.orderStatusCounts());
        live.publish({
          type: 'dispatch',
          dispatch_id: event.dispatchId,
          order_id: event.orderId,
          driver_id: event.driverId,
          vehicle_id: event.vehicleId,
          from: event.from,
          to: event.to,
          at: event.changedAt,
        });
        return { historyInserted: inserted };
      },
      'dispatch.arrived': async (event) => publishGeofence(live, 'ARRIVED', event),
      'dispatch.departed': async (event) => publishGeofence(live, 'DEPARTED', event),
    },
  }),
});
