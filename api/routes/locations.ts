/** Stored GPS points of a driver, for dispatchers replaying a route. */
import { STAFF } from '../../domain/roles.js';
import { listDriverLocations } from '../../db/locations.js';
import { findRecord } from '../../db/records.js';
import { NotFoundError, ValidationError } from '../../lib/errors/index.js';
import type { AppDeps } from '../deps.js';
import { defineRoute, reply, type RouteSpec } from '../route.js';
import { ErrorResponse, IdParams } from '../schemas/common.js';
import { LocationPage, LocationQuery } from '../schemas/mobile.js';

const DAY_MS = 86_400_000;
const MAX_RANGE_DAYS = 31;

export function locationRoutes({ db }: AppDeps): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/drivers/:id/locations',
      summary: "A driver's stored points between from and to, in time order, paged",
      tags: ['drivers'],
      auth: STAFF,
      params: IdParams,
      query: LocationQuery,
      responses: {
        200: { description: 'Points in recorded order', schema: LocationPage },
        400: { description: 'Invalid range', schema: ErrorResponse },
        404: { description: 'No such driver', schema: ErrorResponse },
      },
      handler: async ({ params, query }) => {
        const to = query.to ? new Date(query.to) : new Date();
        const from = query.from ? new Date(query.from) : new Date(to.getTime() - DAY_MS);
        if (from >= to) throw new ValidationError('invalid range', [{ field: 'query.from', message: 'must be before `to`' }]);
        if (to.getTime() - from.getTime() > MAX_RANGE_DAYS * DAY_MS) {
          throw new ValidationError('invalid range', [{ field: 'query.from', message: `range is at most ${MAX_RANGE_DAYS} days` }]);
        }
        if (!(await findRecord(db, 'drivers', params.id))) throw new NotFoundError('driver');
        return reply(200, await listDriverLocations(db, { driverId: params.id, from, to, limit: query.limit, cursor: query.cursor }));
      },
    }),
  ];
}
