import { z } from 'zod';
import { ORDER_STATUSES } from '../../domain/dispatch-status.js';
import { ProofKinds, ProofRequirement } from './proofs.js';
import { BodyId, CargoCode, CargoType, Cursor, FreeText, Id, Latitude, Limit, Longitude, Timestamp, listOf, pageOf } from './common.js';

const Address = FreeText({ min: 2, max: 300 });
const Notes = FreeText({ max: 1000, trim: false, allowEmpty: true });
const Reason = FreeText({ max: 500, trim: false, allowEmpty: true });

/** An order's own temperature profile or limits (issue 15). 0 °C is a limit like any other. */
const TemperatureProfile = z
  .enum(['CHILLED', 'FROZEN', 'AMBIENT', 'PHARMA_2_8'])
  .nullable()
  .meta({ description: "The order's temperature profile; default: from its cargo class. null clears it" });
const TempLimit = (which: string) =>
  z
    .number()
    .min(-60)
    .max(60)
    .nullable()
    .meta({ description: `The order's own ${which} limit, °C (overrides the profile's; 0 is a limit). null clears it` });

const OrderFields = {
  client_id: BodyId.meta({ example: 1 }),
  pickup_address: Address.meta({ example: '서울시 강남구 테헤란로 123' }),
  delivery_address: Address.meta({ example: '부산시 해운대구 센텀중앙로 55' }),
  cargo_type: CargoType,
  weight: z.number().positive().max(100_000).meta({ description: 'Weight in kg', example: 100 }),
  pickup_lat: Latitude.optional(),
  pickup_lng: Longitude.optional(),
  delivery_lat: Latitude.optional(),
  delivery_lng: Longitude.optional(),
  notes: Notes.optional(),
  temperature_profile: TemperatureProfile.optional(),
  temp_min_c: TempLimit('lower').optional(),
  temp_max_c: TempLimit('upper').optional(),
  proof_required: ProofRequirement.optional().meta({
    description: "Proofs required before DELIVERED (or a skip past it): `photo`, `signature` or both; default: the client's `default_proof_required`",
  }),
};

// Strict objects: fields a caller may not set (status, id, created_by) are refused, not ignored.
export const OrderCreate = z
  .strictObject({
    ...OrderFields,
    client_id: BodyId.optional().meta({
      description: "The shipper the order is for: required for staff; a shipper's API key orders for its own client (omit it, or give that id)",
      example: 1,
    }),
  })
  .meta({ id: 'OrderCreate' });

export const OrderPatch = z
  .strictObject({
    pickup_address: OrderFields.pickup_address.optional(),
    delivery_address: OrderFields.delivery_address.optional(),
    cargo_type: CargoType.optional(),
    weight: OrderFields.weight.optional(),
    pickup_lat: Latitude.optional(),
    pickup_lng: Longitude.optional(),
    delivery_lat: Latitude.optional(),
    delivery_lng: Longitude.optional(),
    notes: Notes.optional(),
    temperature_profile: OrderFields.temperature_profile,
    temp_min_c: OrderFields.temp_min_c,
    temp_max_c: OrderFields.temp_max_c,
    proof_required: OrderFields.proof_required,
  })
  .refine((v) => Object.keys(v).length > 0, { message: 'nothing to change' })
  .meta({ id: 'OrderPatch' });

export const OrderCancel = z.strictObject({ reason: Reason.optional() }).optional();

export const OrderListQuery = z.strictObject({
  status: listOf(z.enum(ORDER_STATUSES)).optional().meta({ description: 'One or more statuses, comma-separated' }),
  client_id: Id.optional(),
  cargo_type: CargoType.optional(),
  created_from: Timestamp.optional(),
  created_to: Timestamp.optional(),
  q: FreeText({ max: 100 })
    .optional()
    .meta({ description: 'Address search, e.g. a district name: 강남구 (compared in Unicode NFC, so decomposed Hangul finds the same addresses)' }),
  sort: z.enum(['created_at', '-created_at']).default('-created_at'),
  limit: Limit,
  cursor: Cursor,
});

export const Order = z
  .object({
    id: z.number(),
    client_id: z.number(),
    pickup_address: z.string(),
    delivery_address: z.string(),
    pickup_lat: z.number().nullable(),
    pickup_lng: z.number().nullable(),
    delivery_lat: z.number().nullable(),
    delivery_lng: z.number().nullable(),
    cargo_type: CargoCode,
    cargo_label: z.string().meta({ example: '냉장' }),
    weight: z.number(),
    status: z.enum(ORDER_STATUSES),
    distance_km: z.number().nullable().meta({ description: 'Straight-line estimate, filled in by the orders worker' }),
    notes: z.string().nullable(),
    temperature_profile: z.enum(['CHILLED', 'FROZEN', 'AMBIENT', 'PHARMA_2_8']).nullable(),
    temp_min_c: z.number().nullable(),
    temp_max_c: z.number().nullable(),
    proof_required: ProofKinds.meta({ description: 'Proofs required before DELIVERED or COMPLETED (409 PROOF_REQUIRED until they exist); empty: none' }),
    created_by: z.number().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
    tracking_url: z.string().nullable().meta({
      description: 'The public tracking page (PUBLIC_URL + /track/<token>; a path when PUBLIC_URL is unset); null when revoked',
      example: '/track/3f9c…',
    }),
  })
  .meta({ id: 'Order' });

export const OrderPage = pageOf(Order, 'OrderPage');
export const OrderStatusCounts = z.record(z.string(), z.number()).meta({ id: 'OrderStatusCounts' });
