/**
 * Geofence arrivals and departures (issue 16; DESIGN.md "Shippers: ... geofence events"): a
 * dispatch's events in time order. They are computed by the GPS worker (use-cases/geofences.ts)
 * and only ever suggest a status to the driver (GET /mobile/dispatches `suggested_status`).
 */
import { readableDispatchById } from '../dispatch-access.js';
import { listDispatchGeofenceEvents, type GeofenceEventRow } from '../../db/geofences.js';
import type { AppDeps } from '../deps.js';
import { defineRoute, reply, type RouteSpec } from '../route.js';
import { ErrorResponse, IdParams } from '../schemas/common.js';
import { GeofenceEventList } from '../schemas/geofences.js';

const toEvent = (row: GeofenceEventRow) => ({
  id: row.id,
  dispatch_id: row.dispatch_id,
  site: row.site,
  kind: row.kind,
  at: row.at,
  latitude: row.latitude,
  longitude: row.longitude,
  distance_m: row.distance_m,
});

export function geofenceRoutes(deps: AppDeps): RouteSpec[] {
  const { db } = deps;
  return [
    defineRoute({
      method: 'get',
      path: '/dispatches/:id/events',
      summary: "A dispatch's geofence arrivals and departures at its pickup and drop-off, in time order",
      description:
        "Staff see any dispatch's; a driver only their own; a shipper's API key its client's (another's is a 404, as if it did not exist). A circle of 150 m around each " +
        'site given with coordinates (not estimated from the address) is entered, 200 m left; two fixes confirm, fixes with accuracy ' +
        "worse than 100 m or an impossible speed (over 200 km/h) are ignored, and the times are the phone's. An event a later fix moved " +
        'or dissolved is kept in the database (superseded) but not listed. Events never change a status.',
      tags: ['dispatches', 'mobile'],
      auth: 'authenticated',
      shipperKey: true,
      params: IdParams,
      responses: {
        200: { description: 'Events by time', schema: GeofenceEventList },
        404: { description: 'No such dispatch (among your own, for a driver)', schema: ErrorResponse },
      },
      handler: async ({ params, principal, shipper }) => {
        await readableDispatchById(db, { principal, shipper }, params.id);
        return reply(200, { items: (await listDispatchGeofenceEvents(db, params.id)).map(toEvent) });
      },
    }),
  ];
}
