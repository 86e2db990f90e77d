/** API keys for vehicle gateways and shippers: admins create (the secret shown once), list (prefix only) and revoke them. */
import { ADMIN } from '../../domain/roles.js';
import { listApiKeys, toApiKey } from '../../db/api-keys.js';
import { createApiKey, revokeApiKey } from '../../use-cases/api-keys.js';
import { transaction } from '../../use-cases/transaction.js';
import type { AppDeps } from '../deps.js';
import { defineRoute, reply, type RouteSpec } from '../route.js';
import { ErrorResponse, IdParams } from '../schemas/common.js';
import { ApiKey, ApiKeyCreate, ApiKeyCreated } from '../schemas/telemetry.js';
import { z } from 'zod';

export function apiKeyRoutes(deps: AppDeps): RouteSpec[] {
  return [
    defineRoute({
      method: 'post',
      path: '/admin/api-keys',
      summary: "Create an API key for a vehicle gateway or a shipper's integration; the key is in this answer only",
      description: 'Only the sha256 of the key is stored: a lost key cannot be shown again; revoke it and create another.',
      tags: ['api-keys'],
      auth: ADMIN,
      body: ApiKeyCreate,
      responses: {
        201: { description: 'Created; `key` is the secret, shown once', schema: ApiKeyCreated },
        400: { description: 'Invalid input, or an unknown vehicle or client', schema: ErrorResponse },
      },
      handler: async ({ body, principal }) => {
        const { row, secret } = await transaction(deps, (tx) =>
          createApiKey(tx, { name: body.name, role: body.role, vehicleId: body.vehicle_id, clientId: body.client_id }, principal.userId),
        );
        return reply(201, { ...toApiKey(row), key: secret }, { 'Cache-Control': 'no-store' });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/admin/api-keys',
      summary: 'Every API key, newest first, without secrets',
      tags: ['api-keys'],
      auth: ADMIN,
      responses: { 200: { description: 'Keys, revoked ones included', schema: z.object({ items: z.array(ApiKey) }) } },
      handler: async () => reply(200, { items: (await listApiKeys(deps.db)).map(toApiKey) }),
    }),
    defineRoute({
      method: 'delete',
      path: '/admin/api-keys/:id',
      summary: 'Revoke an API key at once; the record stays, with revoked_at',
      description: 'The next request with the key is a 401. Revoking a revoked key changes nothing and answers the same.',
      tags: ['api-keys'],
      auth: ADMIN,
      params: IdParams,
      responses: {
        200: { description: 'The revoked key', schema: ApiKey },
        404: { description: 'No such key', schema: ErrorResponse },
      },
      handler: async ({ params }) => reply(200, toApiKey(await transaction(deps, (tx) => revokeApiKey(tx, params.id)))),
    }),
  ];
}
