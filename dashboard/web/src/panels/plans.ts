/**
 * The plan view (POST /dispatch-plans, POST /dispatch-plans/:id/apply): the dispatcher plans every
 * pending order at once, reviews the assignments (with the greedy baseline beside the total) and
 * the orders left unassigned with their reasons, and applies the board with one click. A refused
 * plan (changed, expired, applied) says so in the page's language and assigns nothing; the form
 * keeps focus on the button that acted, and results are announced in the panel's status region.
 */
import { ApiError, api, newIdempotencyKey } from '../api.js';
import { loadCounts, loadDispatches, loadOrders, loadPending } from '../data.js';
import { h, replaceChildren } from '../dom.js';
import { errorText } from '../errors.js';
import { dateTime } from '../format.js';
import { t, type Key } from '../i18n.js';
import { on, state } from '../store.js';
import type { DispatchPlan } from '../types.js';

const PLAN_ERRORS = ['plan_stale', 'plan_expired', 'plan_already_applied'];

export function plansPanel(): HTMLElement {
  const message = h('div', { class: 'message', attrs: { id: 'plan-result', role: 'status', 'aria-live': 'polite' } });
  const result = h('div', { attrs: { id: 'plan-view' } });
  const makeButton = h('button', { attrs: { type: 'button', id: 'plan-make' }, i18n: 'plan.make', on: { click: () => void make() } });
  let plan: DispatchPlan | undefined;
  let applied = false;

  const vehicleName = (id: number) => state.vehicles.get(id)?.license_plate ?? `#${id}`;
  const driverName = (id: number) => state.drivers.get(id)?.name ?? `#${id}`;
  // The orders as they were when the plan was made: once applied they leave the pending list.
  let orderNames = new Map<number, string>();
  const orderName = (id: number) => orderNames.get(id) ?? `#${id}`;

  function render(): void {
    if (!plan) return replaceChildren(result);
    const p = plan;
    const applyButton = h('button', {
      attrs: { type: 'button', id: 'plan-apply', disabled: applied || p.assignments.length === 0 },
      i18n: 'plan.apply',
      on: { click: () => void applyPlan(applyButton) },
    });
    replaceChildren(
      result,
      h(
        'p',
        { attrs: { 'data-role': 'summary' } },
        t('plan.summary', { assigned: p.assignments.length, unassigned: p.unassigned.length, total: p.total_score.toFixed(2) }),
      ),
      h(
        'p',
        { class: 'muted small', attrs: { 'data-role': 'baseline' } },
        t('plan.baseline', { assigned: p.stats.greedy.assigned, total: p.stats.greedy.total_score.toFixed(2) }),
      ),
      h('p', { class: 'muted small', attrs: { 'data-role': 'expires' } }, t('plan.expires', { time: dateTime(p.expires_at) })),
      p.assignments.length === 0
        ? h('p', { class: 'empty', i18n: 'plan.noAssignments' })
        : h(
            'div',
            { class: 'table-scroll' },
            h(
              'table',
              { class: 'data', attrs: { id: 'plan-assignments' } },
              h('caption', { class: 'sr-only', i18n: 'plan.title' }),
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  ...(['plan.col.order', 'plan.col.vehicle', 'plan.col.driver', 'plan.col.score', 'plan.col.distance'] as const).map((key) =>
                    h('th', { attrs: { scope: 'col' }, i18n: key }),
                  ),
                ),
              ),
              h(
                'tbody',
                {},
                ...p.assignments.map((a) =>
                  h(
                    'tr',
                    { attrs: { 'data-order-id': a.order_id, 'data-vehicle-id': a.vehicle_id, 'data-driver-id': a.driver_id } },
                    h('th', { attrs: { scope: 'row' } }, orderName(a.order_id)),
                    h('td', {}, vehicleName(a.vehicle_id)),
                    h('td', {}, driverName(a.driver_id)),
                    h('td', { class: 'num' }, a.score.toFixed(1)),
                    h('td', { class: 'num' }, a.distance_km === null ? '–' : `${a.distance_km.toFixed(1)} km`),
                  ),
                ),
              ),
            ),
          ),
      p.unassigned.length === 0
        ? null
        : h(
            'section',
            { attrs: { 'aria-labelledby': 'plan-unassigned-title' } },
            h('h3', { attrs: { id: 'plan-unassigned-title' }, i18n: 'plan.unassigned' }),
            h(
              'ul',
              { class: 'unassigned', attrs: { id: 'plan-unassigned' } },
              ...p.unassigned.map((u) =>
                h(
                  'li',
                  { attrs: { 'data-order-id': u.order_id } },
                  h('span', {}, orderName(u.order_id)),
                  h(
                    'ul',
                    { class: 'reasons' },
                    ...u.reasons.map((r) =>
                      h(
                        'li',
                        { attrs: { 'data-code': r.code } },
                        h('span', {}, t(`refusal.${r.code}` as Key)),
                        h('small', { class: 'server-says' }, ` (${r.message})`),
                      ),
                    ),
                  ),
                ),
              ),
            ),
          ),
      h('div', { class: 'actions' }, applyButton),
    );
  }

  function busy(button: HTMLButtonElement, yes: boolean, label: Key, idle: Key): void {
    button.disabled = yes;
    button.dataset.i18n = yes ? label : idle;
    button.textContent = t(yes ? label : idle);
    result.setAttribute('aria-busy', String(yes));
  }

  async function make(): Promise<void> {
    busy(makeButton, true, 'plan.making', 'plan.make');
    message.className = 'message';
    replaceChildren(message);
    try {
      plan = await api<DispatchPlan>('POST', '/dispatch-plans', {});
      orderNames = new Map(state.pendingOrders.map((o) => [o.id, `#${o.id} ${o.pickup_address} → ${o.delivery_address}`]));
      applied = false;
      render();
    } catch (err) {
      message.className = 'message error';
      replaceChildren(message, errorText(err));
    } finally {
      busy(makeButton, false, 'plan.making', 'plan.make');
    }
  }

  async function applyPlan(button: HTMLButtonElement): Promise<void> {
    if (!plan) return;
    busy(button, true, 'plan.applying', 'plan.apply');
    message.className = 'message';
    message.setAttribute('role', 'status');
    try {
      const done = await api<{ dispatches: unknown[] }>('POST', `/dispatch-plans/${plan.id}/apply`, undefined, { 'Idempotency-Key': newIdempotencyKey() });
      applied = true;
      message.className = 'message ok';
      replaceChildren(message, t('plan.applied', { n: done.dispatches.length }));
      await Promise.allSettled([loadOrders(), loadCounts(), loadPending(), loadDispatches()]);
    } catch (err) {
      message.className = 'message error';
      // A refused plan needs the dispatcher's attention: announce it assertively.
      message.setAttribute('role', 'alert');
      if (err instanceof ApiError && PLAN_ERRORS.includes(err.code)) {
        message.dataset.code = err.code;
        replaceChildren(message, t(`plan.error.${err.code}` as Key), h('small', { class: 'server-says' }, ` (${err.message})`));
        if (err.code !== 'plan_stale') applied = err.code === 'plan_already_applied';
      } else replaceChildren(message, errorText(err));
    } finally {
      render();
      document.getElementById(applied ? 'plan-make' : 'plan-apply')?.focus();
    }
  }

  // Names come from the reference data, which reloads on a language change too.
  on(['reference'], render);

  return h(
    'section',
    { class: 'panel panel-plans', attrs: { id: 'plans', 'aria-labelledby': 'plans-title' } },
    h('h2', { attrs: { id: 'plans-title' }, i18n: 'plan.title' }),
    h('p', { class: 'muted small', i18n: 'plan.intro' }),
    h('div', { class: 'actions' }, makeButton),
    message,
    result,
  );
}
