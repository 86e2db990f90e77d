/**
 * Vehicles, drivers, clients and users share one shape: admins create, change,
 * deactivate and reactivate them; dispatchers (and admins) read them.
 */
import type { z } from 'zod';
import { ADMIN, STAFF, type UserRole } from '../domain/roles.js';
import { findRecord, insertRecord, listRecords, updateRecord, type RecordTable } from '../db/records.js';
import { NotFoundError } from '../lib/errors/index.js';
import type { AppDeps } from './deps.js';
import { defineRoute, reply, type RouteSpec } from './route.js';
import { ErrorResponse, IdParams } from './schemas/common.js';
import { ListQuery } from './schemas/fleet.js';

/** What a change did: an update (with the input it applied), a deactivation or a reactivation. */
export type RecordChange = { kind: 'update'; input: Record<string, unknown> } | { kind: 'deactivate' } | { kind: 'activate' };

export interface RecordResource {
  table: RecordTable;
  /** Path segment and OpenAPI tag: vehicles, drivers, clients, users. */
  name: string;
  singular: string;
  readers?: readonly UserRole[];
  create: z.ZodType;
  patch: z.ZodType;
  item: z.ZodType;
  page: z.ZodType;
  /** Turns validated input into column values (hashing a password, defaulting cargo classes). */
  toColumns?: (input: Record<string, unknown>, existing?: Record<string, unknown>) => Promise<Record<string, unknown>> | Record<string, unknown>;
  toApi: (row: Record<string, unknown>) => unknown;
  /** Runs after a change (the users resource ends sessions and evicts cached ones). */
  afterChange?: (row: Record<string, unknown>, change: RecordChange) => Promise<void>;
}

const errors = {
  400: { description: 'Invalid input', schema: ErrorResponse },
  401: { description: 'Not signed in', schema: ErrorResponse },
  403: { description: 'Role not allowed', schema: ErrorResponse },
};

export function recordRoutes({ db }: AppDeps, r: RecordResource): RouteSpec[] {
  const toColumns = r.toColumns ?? ((input: Record<string, unknown>) => input);
  const notFound = { 404: { description: `No such ${r.singular}`, schema: ErrorResponse } };
  const changed = async (row: Record<string, unknown> | undefined, change: RecordChange) => {
    if (!row) throw new NotFoundError(r.singular);
    await r.afterChange?.(row, change);
    return reply(200, r.toApi(row));
  };
  const setActive = (active: boolean) =>
    defineRoute({
      method: 'post',
      path: `/${r.name}/:id/${active ? 'activate' : 'deactivate'}`,
      summary: `${active ? 'Reactivate' : 'Deactivate'} a ${r.singular}${active ? '' : ' (kept for history, no longer usable)'}`,
      tags: [r.name],
      auth: ADMIN,
      params: IdParams,
      responses: { 200: { description: `The ${r.singular}`, schema: r.item }, ...notFound, ...errors },
      handler: async ({ params }) => changed(await updateRecord(db, r.table, params.id, { active }), { kind: active ? 'activate' : 'deactivate' }),
    });

  return [
    defineRoute({
      method: 'post',
      path: `/${r.name}`,
      summary: `Create a ${r.singular}`,
      tags: [r.name],
      auth: ADMIN,
      body: r.create,
      responses: {
        201: { description: 'Created', schema: r.item },
        409: { description: 'Duplicate (licence plate, email, ...)', schema: ErrorResponse },
        422: { description: 'Refers to a record that does not exist', schema: ErrorResponse },
        ...errors,
      },
      handler: async ({ body }) => reply(201, r.toApi(await insertRecord(db, r.table, await toColumns(body as Record<string, unknown>)))),
    }),
    defineRoute({
      method: 'get',
      path: `/${r.name}`,
      summary: `List ${r.name} by id; filter by active`,
      tags: [r.name],
      auth: r.readers ?? STAFF,
      query: ListQuery,
      responses: { 200: { description: `A page of ${r.name}`, schema: r.page }, ...errors },
      handler: async ({ query }) => {
        const result = await listRecords(db, r.table, query);
        return reply(200, { items: result.items.map(r.toApi), next_cursor: result.next_cursor });
      },
    }),
    defineRoute({
      method: 'get',
      path: `/${r.name}/:id`,
      summary: `One ${r.singular}`,
      tags: [r.name],
      auth: r.readers ?? STAFF,
      params: IdParams,
      responses: { 200: { description: `The ${r.singular}`, schema: r.item }, ...notFound, ...errors },
      handler: async ({ params }) => {
        const row = await findRecord(db, r.table, params.id);
        if (!row) throw new NotFoundError(r.singular);
        return reply(200, r.toApi(row));
      },
    }),
    defineRoute({
      method: 'patch',
      path: `/${r.name}/:id`,
      summary: `Change a ${r.singular}`,
      tags: [r.name],
      auth: ADMIN,
      params: IdParams,
      body: r.patch,
      responses: { 200: { description: `The changed ${r.singular}`, schema: r.item }, ...notFound, ...errors },
      handler: async ({ params, body }) => {
        const existing = await findRecord(db, r.table, params.id);
        if (!existing) throw new NotFoundError(r.singular);
        return changed(await updateRecord(db, r.table, params.id, await toColumns(body as Record<string, unknown>, existing)), {
          kind: 'update',
          input: body as Record<string, unknown>,
        });
      },
    }),
    setActive(false),
    setActive(true),
  ];
}
