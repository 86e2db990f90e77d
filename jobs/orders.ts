/** orders queue: derived data for an order after it changes (distance estimate; auto-dispatch later). */
import type { z } from 'zod';
import { ORDER_CHANGED, RelayedFields } from '../domain/events.js';
import { estimateRoute } from '../domain/geo.js';
import { getOrderVersion, setOrderRouteIfUnchanged } from '../db/orders.js';
import { districts } from '../db/districts.js';
import { cacheNames } from '../lib/cache.js';
import { STANDARD_JOB_OPTIONS, defineQueue } from './define.js';

/** What the processor gets: the event as written, and what the relay added. */
export const OrderChanged = ORDER_CHANGED.payload.extend(RelayedFields.shape);
export type OrderChanged = z.infer<typeof OrderChanged>;

export const ordersQueue = defineQueue({
  name: ORDER_CHANGED.queue,
  description: '주문 후속 처리 (거리 추정) · order follow-ups',
  hashTag: 'orders',
  dispatcherVisible: true,
  outboxEvents: true,
  jobs: { [ORDER_CHANGED.job]: OrderChanged },
  defaultJobOptions: { ...STANDARD_JOB_OPTIONS },
  concurrency: (config) => config.worker.concurrency,
  createProcessor: ({ db, cache, live }) => ({
    handlers: {
      // Reads the order as it is now rather than trusting the event, so events
      // processed late or twice converge on the same result.
      'order.changed': async ({ orderId }, { log }) => {
        const order = await getOrderVersion(db, orderId);
        if (!order) {
          log.warn({ orderId }, 'order no longer exists');
          return { skipped: true };
        }
        const at = (lat: number | null, lng: number | null) => (lat != null && lng != null ? { lat, lng } : undefined);
        const { pickup, delivery, distanceKm } = estimateRoute(
          { address: order.pickup_address, at: at(order.pickup_lat, order.pickup_lng) },
          { address: order.delivery_address, at: at(order.delivery_lat, order.delivery_lng) },
          districts(),
        );
        // Written only if the order is still as read: a change in between (every change
        // moves updated_at and queues its own order.changed) leaves the write to that job,
        // so a slow job never puts an old route over a newer address.
        const written = await setOrderRouteIfUnchanged(db, orderId, order.version, {
          distance_km: distanceKm,
          pickup_lat: pickup?.lat ?? null,
          pickup_lng: pickup?.lng ?? null,
          delivery_lat: delivery?.lat ?? null,
          delivery_lng: delivery?.lng ?? null,
          // Filled in here from the address: a district's centre, too rough for a geofence.
          pickup_estimated: order.pickup_lat == null ? pickup !== undefined : order.pickup_estimated,
          delivery_estimated: order.delivery_lat == null ? delivery !== undefined : order.delivery_estimated,
        });
        if (written === 0) return { superseded: true };
        await cache.invalidate(cacheNames.orderStatusCounts());
        live.publish({ type: 'order', order_id: orderId, status: order.status, at: new Date().toISOString() });
        return { distanceKm };
      },
    },
  }),
});
