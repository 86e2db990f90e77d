/** Dispatch suggestions for one order, and plans for the whole board (DESIGN.md "Dispatch suggestions"). */
import { STAFF } from '../../domain/roles.js';
import { getPlan, toPlan } from '../../db/dispatch-plans.js';
import { toDispatch } from '../../db/dispatches.js';
import { NotFoundError } from '../../lib/errors/index.js';
import { applyPlan, createPlan } from '../../use-cases/dispatch-plans.js';
import { suggestForOrder } from '../../use-cases/dispatch-suggestions.js';
import type { AppDeps } from '../deps.js';
import { idempotentTransaction } from '../idempotency.js';
import { defineRoute, reply, type RouteSpec } from '../route.js';
import { ErrorResponse, IdParams } from '../schemas/common.js';
import { Plan, PlanApplied, PlanCreate, Suggestions, SuggestionsQuery } from '../schemas/dispatch-plans.js';

const errors = {
  400: { description: 'Invalid input', schema: ErrorResponse },
  401: { description: 'Not signed in', schema: ErrorResponse },
  403: { description: 'Not a dispatcher or admin', schema: ErrorResponse },
};

export function dispatchPlanRoutes(deps: AppDeps): RouteSpec[] {
  const { db, config } = deps;
  return [
    defineRoute({
      method: 'get',
      path: '/orders/:id/suggestions',
      summary: 'Who should take a PENDING order: ranked vehicle-driver pairs with each score term, and every excluded pair with every reason',
      description:
        'Pairs are each vehicle with each driver registered to it. Hard filters: the rules of POST /dispatches (active, free, capacity, cargo class), ' +
        "the order's temperature profile, and the driving-time rules of Korean freight law (a 30-minute break after 4 hours of continuous driving; " +
        '11 hours of rest between working days) from the dispatch status history. Nothing is assigned: see docs/dispatch-suggestions.md.',
      tags: ['dispatch suggestions'],
      auth: STAFF,
      params: IdParams,
      query: SuggestionsQuery,
      responses: {
        200: { description: 'Suggestions, best first, and the excluded pairs', schema: Suggestions },
        404: { description: 'No such order', schema: ErrorResponse },
        409: { description: 'The order is not PENDING (order_not_pending)', schema: ErrorResponse },
        ...errors,
      },
      handler: async ({ params, query }) => reply(200, await suggestForOrder(db, { orderId: params.id, limit: query.limit, weights: config.dispatch.weights })),
    }),
    defineRoute({
      method: 'post',
      path: '/dispatch-plans',
      summary: 'Plan the board: an optimal assignment of PENDING orders to free vehicle-driver pairs, with the orders left unassigned and why',
      description:
        'Assigns as many orders as the hard filters allow, and among those plans the one with the largest total score (the Hungarian method). ' +
        'Nothing is assigned until POST /dispatch-plans/{id}/apply; the plan expires after DISPATCH_PLAN_TTL_SECONDS (600).',
      tags: ['dispatch suggestions'],
      auth: STAFF,
      body: PlanCreate,
      responses: {
        201: { description: 'The plan', schema: Plan },
        404: { description: 'An order of order_ids does not exist', schema: ErrorResponse },
        ...errors,
      },
      handler: async ({ body, principal }) => {
        const plan = await createPlan(deps, {
          orderIds: body?.order_ids,
          weights: config.dispatch.weights,
          ttlSeconds: config.dispatch.planTtlSeconds,
          by: principal.userId,
        });
        return reply(201, toPlan(plan));
      },
    }),
    defineRoute({
      method: 'get',
      path: '/dispatch-plans/:id',
      summary: 'A dispatch plan as it was made, and whether it was applied',
      tags: ['dispatch suggestions'],
      auth: STAFF,
      params: IdParams,
      responses: { 200: { description: 'The plan', schema: Plan }, 404: { description: 'No such plan', schema: ErrorResponse }, ...errors },
      handler: async ({ params }) => {
        const plan = await getPlan(db, params.id);
        if (!plan) throw new NotFoundError('dispatch plan');
        return reply(200, toPlan(plan));
      },
    }),
    defineRoute({
      method: 'post',
      path: '/dispatch-plans/:id/apply',
      summary: 'Apply a plan: every dispatch of it in one transaction, through the same rules as POST /dispatches, or none',
      description:
        '409 with nothing assigned when the plan was already applied (plan_already_applied), has expired (plan_expired), or anything it was computed ' +
        'from changed since (plan_stale: an order, a vehicle or driver edited, a dispatch started or ended on the fleet, or a driver now outside the ' +
        'driving-time rules; details say what).',
      tags: ['dispatch suggestions'],
      auth: STAFF,
      params: IdParams,
      idempotencyKey: true,
      responses: {
        201: { description: 'Applied: the dispatches created', schema: PlanApplied },
        404: { description: 'No such plan', schema: ErrorResponse },
        409: { description: 'Refused; nothing was assigned', schema: ErrorResponse },
        ...errors,
      },
      handler: async ({ params, req, principal }) =>
        idempotentTransaction(deps, req, { userId: principal.userId }, params, async (tx) => {
          const { plan, dispatches } = await applyPlan(tx, deps, { planId: params.id, by: principal.userId });
          return reply(201, { id: plan.id, applied_at: plan.applied_at, dispatches: dispatches.map(toDispatch) });
        }),
    }),
  ];
}
