import { z } from 'zod';
import { DISPATCH_STATUSES } from '../../domain/dispatch-status.js';
import { BodyId, Cursor, FreeText, Id, Limit, listOf, pageOf } from './common.js';

export const DispatchCreate = z
  .strictObject({
    order_id: BodyId.meta({ example: 1 }),
    vehicle_id: BodyId.meta({ example: 1 }),
    driver_id: BodyId.meta({ example: 1 }),
    notes: FreeText({ max: 1000, trim: false, allowEmpty: true }).optional(),
  })
  .meta({ id: 'DispatchCreate' });

export const DispatchCancel = z.strictObject({ reason: FreeText({ max: 500, trim: false, allowEmpty: true }).optional() }).optional();

export const DispatchListQuery = z.strictObject({
  status: listOf(z.enum(DISPATCH_STATUSES)).optional(),
  driver_id: Id.optional(),
  vehicle_id: Id.optional(),
  order_id: Id.optional(),
  limit: Limit,
  cursor: Cursor,
});

export const Dispatch = z
  .object({
    id: z.number(),
    order_id: z.number(),
    vehicle_id: z.number(),
    driver_id: z.number(),
    status: z.enum(DISPATCH_STATUSES),
    assigned_by: z.number().nullable(),
    notes: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
    finished_at: z.string().nullable(),
  })
  .meta({ id: 'Dispatch' });

export const DispatchWithHistory = Dispatch.extend({
  history: z.array(
    z.object({
      from_status: z.string().nullable(),
      to_status: z.string(),
      changed_by: z.number().nullable(),
      changed_at: z.string(),
      note: z.string().nullable(),
    }),
  ),
}).meta({ id: 'DispatchWithHistory' });

export const DispatchPage = pageOf(Dispatch, 'DispatchPage');
