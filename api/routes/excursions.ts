/**
 * Temperature excursions (issue 15; DESIGN.md "Cold-chain telemetry and excursions"): a dispatch's
 * excursions with their corrective actions, recording an action, and the temperature profiles.
 * Excursions are computed by the telemetry worker (use-cases/excursions.ts); a dispatch cannot be
 * COMPLETED while one is OPEN or lacks an action (use-cases/dispatches.ts, 409 EXCURSION_UNRESOLVED).
 */
import { readableDispatch } from '../dispatch-access.js';
import { STAFF } from '../../domain/roles.js';
import { TEMPERATURE_PROFILE_CODES, TEMPERATURE_PROFILES } from '../../domain/temperature-profiles.js';
import { getDispatch } from '../../db/dispatches.js';
import { listDispatchExcursions, type ActionRow, type ExcursionRow } from '../../db/excursions.js';
import { recordExcursionAction } from '../../use-cases/excursions.js';
import { transaction } from '../../use-cases/transaction.js';
import type { AppDeps } from '../deps.js';
import { defineRoute, reply, type RouteSpec } from '../route.js';
import { ErrorResponse, IdParams } from '../schemas/common.js';
import { ExcursionAction, ExcursionActionPost, ExcursionList, TemperatureProfileList } from '../schemas/excursions.js';

/** An action as listed under its excursion; `toAction` adds the excursion it belongs to. */
const actionFields = (a: ActionRow) => ({ id: a.id, action: a.action, note: a.note, by: a.created_by, at: a.created_at });
function toAction(a: ActionRow) {
  const { id, ...rest } = actionFields(a);
  return { id, excursion_id: a.excursion_id, ...rest };
}

function toExcursion(row: ExcursionRow & { actions: ActionRow[] }) {
  return {
    id: row.id,
    dispatch_id: row.dispatch_id,
    vehicle_id: row.vehicle_id,
    sensor: row.sensor,
    kind: row.kind,
    severity: row.severity,
    status: row.status,
    started_at: row.started_at,
    ended_at: row.ended_at,
    duration_s: row.duration_s,
    peak_c: row.peak_c,
    peak_at: row.peak_at,
    mean_c: row.mean_c,
    readings: row.readings,
    door_open_s: row.door_open_s,
    mkt_c: row.mkt_c,
    actions: row.actions.map(actionFields),
  };
}

const profiles = {
  items: TEMPERATURE_PROFILE_CODES.map((code) => {
    const p = TEMPERATURE_PROFILES[code];
    return {
      code,
      label: p.label,
      label_en: p.labelEn,
      range: p.range,
      min_c: p.limits.min,
      max_c: p.limits.max,
      critical_min_c: p.limits.criticalMin,
      critical_max_c: p.limits.criticalMax,
      mkt_max_c: p.limits.mktMax,
      mkt_window_s: p.limits.mktWindowS,
    };
  }),
};

export function excursionRoutes(deps: AppDeps): RouteSpec[] {
  const { db } = deps;
  return [
    defineRoute({
      method: 'get',
      path: '/dispatches/:id/excursions',
      summary: "A dispatch's current temperature excursions, oldest first, each with its corrective actions",
      description:
        "Staff see any dispatch's; a driver only their own dispatches' (another's is a 404, as if it did not exist). Excursions a later reading dissolved or moved are kept in the database (superseded) but not listed.",
      tags: ['dispatches', 'telemetry'],
      auth: 'authenticated',
      params: IdParams,
      responses: {
        200: { description: 'Excursions by started_at', schema: ExcursionList },
        404: { description: 'No such dispatch (among your own, for a driver)', schema: ErrorResponse },
      },
      handler: async ({ params, principal }) => {
        readableDispatch({ principal }, await getDispatch(db, params.id));
        return reply(200, { items: (await listDispatchExcursions(db, params.id)).map(toExcursion) });
      },
    }),
    defineRoute({
      method: 'post',
      path: '/excursions/:id/actions',
      summary: 'Record a corrective action on a temperature excursion',
      description:
        'Who (the signed-in user) and when are recorded. An action does not close an OPEN excursion (only readings back in range do); a dispatch can be COMPLETED once each of its excursions is CLOSED and has at least one action.',
      tags: ['dispatches', 'telemetry'],
      auth: STAFF,
      params: IdParams,
      body: ExcursionActionPost,
      responses: {
        201: { description: 'Recorded', schema: ExcursionAction },
        400: { description: 'Unknown action or bad note (the field is named)', schema: ErrorResponse },
        404: { description: 'No such excursion (or one a later evaluation superseded)', schema: ErrorResponse },
      },
      handler: async ({ params, body, principal }) =>
        transaction(deps, async (tx) => {
          const { action } = await recordExcursionAction(tx, { excursionId: params.id, action: body.action, note: body.note || null, by: principal.userId });
          return reply(201, toAction(action));
        }),
    }),
    defineRoute({
      method: 'get',
      path: '/temperature-profiles',
      summary: 'The temperature profiles and their limits (°C)',
      description:
        'An order takes its profile from its cargo class unless it names one (`temperature_profile`) or its own limits (`temp_min_c`, `temp_max_c`). A reading on a limit is in range; 0 °C is a limit like any other.',
      tags: ['telemetry'],
      auth: STAFF,
      responses: { 200: { description: 'CHILLED, FROZEN, AMBIENT, PHARMA_2_8', schema: TemperatureProfileList } },
      handler: async () => reply(200, profiles),
    }),
  ];
}
