import { z } from 'zod';
import { GEOFENCE_KINDS, GEOFENCE_SITES } from '../../domain/geofences.js';

export const GeofenceEvent = z
  .object({
    id: z.number(),
    dispatch_id: z.number(),
    site: z.enum(GEOFENCE_SITES).meta({ description: "The order's pickup or drop-off" }),
    kind: z.enum(GEOFENCE_KINDS),
    at: z.string().meta({ description: "The phone's time of the first fix inside (ARRIVED) or beyond the leave radius (DEPARTED)" }),
    latitude: z.number().meta({ description: 'That fix' }),
    longitude: z.number(),
    distance_m: z.number().meta({ description: "That fix's distance from the site's centre, metres" }),
  })
  .meta({ id: 'GeofenceEvent' });

export const GeofenceEventList = z.object({ items: z.array(GeofenceEvent) }).meta({ id: 'GeofenceEventList' });
