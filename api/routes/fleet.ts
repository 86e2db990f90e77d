/** The record resources: vehicles, drivers, clients and user accounts. */
import { DEFAULT_CARGO_CLASSES, impossibleCargoClasses, type CargoClass, type VehicleType } from '../../domain/cargo.js';
import { ADMIN } from '../../domain/roles.js';
import { normalizeStoredEmail } from '../../domain/sign-in-identifier.js';
import { toUser } from '../../db/users.js';
import { ValidationError } from '../../lib/errors/index.js';
import { hashPassword } from '../../lib/passwords.js';
import type { AppDeps } from '../deps.js';
import type { RouteSpec } from '../route.js';
import * as s from '../schemas/fleet.js';
import { recordRoutes } from '../record-routes.js';
import { accountChanged, driverChanged } from '../../use-cases/sessions.js';

const pick = (row: Record<string, unknown>, keys: string[]) => Object.fromEntries(keys.map((k) => [k, row[k] ?? null]));
const STAMPS = ['active', 'created_at', 'updated_at'];

/** A vehicle's `base` ({lat, lng} or null) is stored as base_lat and base_lng (migration 0016). */
function withBaseColumns({ base, ...rest }: Record<string, unknown>): Record<string, unknown> {
  if (base === undefined) return rest;
  const point = base as { lat: number; lng: number } | null;
  return { ...rest, base_lat: point?.lat ?? null, base_lng: point?.lng ?? null };
}

export function fleetRoutes(deps: AppDeps): RouteSpec[] {
  return [
    ...recordRoutes(deps, {
      table: 'vehicles',
      name: 'vehicles',
      singular: 'vehicle',
      create: s.VehicleCreate,
      patch: s.VehiclePatch,
      item: s.Vehicle,
      page: s.VehiclePage,
      toColumns: (raw, existing) => {
        const input = withBaseColumns(raw);
        const type = (input.vehicle_type ?? existing?.vehicle_type) as VehicleType;
        // A new type without explicit classes takes that type's defaults.
        if (input.cargo_classes === undefined && input.vehicle_type !== undefined) {
          return { ...input, cargo_classes: DEFAULT_CARGO_CLASSES[type] };
        }
        if (input.cargo_classes === undefined) return input;
        const classes = [...new Set(input.cargo_classes as CargoClass[])];
        const impossible = impossibleCargoClasses(type, classes);
        if (impossible.length > 0) {
          throw new ValidationError('request is invalid', [
            { field: 'body.cargo_classes', message: `a ${type} vehicle cannot carry ${impossible.join(', ')}` },
          ]);
        }
        return { ...input, cargo_classes: classes };
      },
      toApi: (row) => ({
        ...pick(row, ['id', 'license_plate', 'vehicle_type', 'cargo_classes', 'capacity_kg', ...STAMPS]),
        base: row.base_lat == null ? null : { lat: row.base_lat, lng: row.base_lng },
      }),
    }),
    ...recordRoutes(deps, {
      table: 'drivers',
      name: 'drivers',
      singular: 'driver',
      create: s.DriverCreate,
      patch: s.DriverPatch,
      item: s.Driver,
      page: s.DriverPage,
      toApi: (row) => pick(row, ['id', 'name', 'phone', 'license_number', 'vehicle_id', ...STAMPS]),
      // Sessions of linked accounts carry the profile's active flag: evict them everywhere.
      afterChange: (row) => driverChanged(deps, row.id as number),
    }),
    ...recordRoutes(deps, {
      table: 'clients',
      name: 'clients',
      singular: 'client',
      create: s.ClientCreate,
      patch: s.ClientPatch,
      item: s.Client,
      page: s.ClientPage,
      toApi: (row) => pick(row, ['id', 'name', 'business_number', 'contact_name', 'phone', 'email', 'address', 'default_proof_required', ...STAMPS]),
    }),
    ...recordRoutes(deps, {
      table: 'users',
      name: 'users',
      singular: 'user',
      readers: ADMIN,
      create: s.UserCreate,
      patch: s.UserPatch,
      item: s.User,
      page: s.UserPage,
      toColumns: async ({ password, ...rest }) => ({
        ...rest,
        // Stored in the form sign-in matches exactly (constraint users_email_normalized).
        ...(typeof rest.email === 'string' ? { email: normalizeStoredEmail(rest.email) } : {}),
        ...(password ? { password_hash: await hashPassword(String(password)) } : {}),
      }),
      toApi: toUser,
      afterChange: (row, change) =>
        accountChanged(deps, row.id as number, {
          endsSessions: change.kind === 'deactivate' || (change.kind === 'update' && change.input.password !== undefined),
        }),
    }),
  ];
}
