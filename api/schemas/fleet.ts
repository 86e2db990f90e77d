/** Vehicles, drivers, clients and user accounts. */
import { z } from 'zod';
import { VEHICLE_TYPES } from '../../domain/cargo.js';
import { USER_ROLES } from '../../domain/roles.js';
import { BodyId, BooleanQuery, CargoCode, CargoType, Cursor, FreeText, Limit, pageOf } from './common.js';
import { ProofKinds, ProofRequirement } from './proofs.js';

const Name = FreeText({ max: 100 });
const Phone = z
  .string()
  .trim()
  .regex(/^[0-9+\-() ]{7,20}$/, 'digits, spaces and + - ( ) only');

export const ListQuery = z.strictObject({ active: BooleanQuery.optional(), limit: Limit, cursor: Cursor });

/** Where the vehicle stands when it has reported no position: dispatch suggestions measure the distance from it. */
const VehicleBase = z
  .strictObject({ lat: z.number().min(-90).max(90), lng: z.number().min(-180).max(180) })
  .meta({ description: "The vehicle's base (depot), used by dispatch suggestions while it has reported no GPS position", example: { lat: 37.4, lng: 127.1 } });

export const VehicleCreate = z
  .strictObject({
    license_plate: FreeText({ min: 4, max: 20 }).meta({ example: '12가3456' }),
    vehicle_type: z.enum(VEHICLE_TYPES),
    cargo_classes: z.array(CargoType).min(1).max(3).optional().meta({ description: 'Default: by vehicle type' }),
    capacity_kg: z.number().positive().max(100_000),
    base: VehicleBase.nullable().optional(),
  })
  .meta({ id: 'VehicleCreate' });
export const VehiclePatch = VehicleCreate.partial()
  .refine((v) => Object.keys(v).length > 0, { message: 'nothing to change' })
  .meta({ id: 'VehiclePatch' });
export const Vehicle = z
  .object({
    id: z.number(),
    license_plate: z.string(),
    vehicle_type: z.enum(VEHICLE_TYPES),
    cargo_classes: z.array(CargoCode),
    capacity_kg: z.number(),
    base: z.object({ lat: z.number(), lng: z.number() }).nullable(),
    active: z.boolean(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'Vehicle' });

export const DriverCreate = z
  .strictObject({
    name: Name.meta({ example: '김기사' }),
    phone: Phone.optional(),
    license_number: FreeText({ min: 4, max: 30 }).optional(),
    vehicle_id: BodyId.nullable().optional().meta({ description: 'The vehicle this driver usually drives' }),
  })
  .meta({ id: 'DriverCreate' });
export const DriverPatch = DriverCreate.partial()
  .refine((v) => Object.keys(v).length > 0, { message: 'nothing to change' })
  .meta({ id: 'DriverPatch' });
export const Driver = z
  .object({
    id: z.number(),
    name: z.string(),
    phone: z.string().nullable(),
    license_number: z.string().nullable(),
    vehicle_id: z.number().nullable(),
    active: z.boolean(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'Driver' });

export const ClientCreate = z
  .strictObject({
    name: Name.meta({ example: '한빛식품' }),
    business_number: z
      .string()
      .trim()
      .regex(/^\d{3}-\d{2}-\d{5}$/, 'format 123-45-67890')
      .optional(),
    contact_name: Name.optional(),
    phone: Phone.optional(),
    email: z.email().max(200).optional(),
    address: FreeText({ min: 2, max: 300 }).optional(),
    default_proof_required: ProofRequirement.optional().meta({
      description: 'What a new order of this client requires as proof of delivery unless the order says otherwise (`photo`, `signature`, both; default none)',
    }),
  })
  .meta({ id: 'ClientCreate' });
export const ClientPatch = ClientCreate.partial()
  .refine((v) => Object.keys(v).length > 0, { message: 'nothing to change' })
  .meta({ id: 'ClientPatch' });
export const Client = z
  .object({
    id: z.number(),
    name: z.string(),
    business_number: z.string().nullable(),
    contact_name: z.string().nullable(),
    phone: z.string().nullable(),
    email: z.string().nullable(),
    address: z.string().nullable(),
    default_proof_required: ProofKinds.meta({ description: "New orders' proof requirement unless they name one" }),
    active: z.boolean(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'Client' });

export const UserCreate = z
  .strictObject({
    email: z.email().max(200),
    password: z.string().min(10).max(200),
    role: z.enum(USER_ROLES),
    name: Name.optional(),
    driver_id: BodyId.nullable().optional(),
  })
  .refine((u) => u.role !== 'driver' || u.driver_id != null, { message: 'a driver account needs driver_id', path: ['driver_id'] })
  .meta({ id: 'UserCreate' });
export const UserPatch = z
  .strictObject({
    name: Name.optional(),
    role: z.enum(USER_ROLES).optional(),
    password: z.string().min(10).max(200).optional(),
    driver_id: BodyId.nullable().optional(),
  })
  .refine((v) => Object.keys(v).length > 0, { message: 'nothing to change' })
  .meta({ id: 'UserPatch' });
export const User = z
  .object({
    id: z.number(),
    email: z.string(),
    role: z.enum(USER_ROLES),
    name: z.string().nullable(),
    driver_id: z.number().nullable(),
    active: z.boolean(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'User' });

export const VehiclePage = pageOf(Vehicle, 'VehiclePage');
export const DriverPage = pageOf(Driver, 'DriverPage');
export const ClientPage = pageOf(Client, 'ClientPage');
export const UserPage = pageOf(User, 'UserPage');
