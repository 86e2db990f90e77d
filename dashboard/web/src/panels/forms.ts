/**
 * Creating an order and assigning an order to a vehicle and driver. A refused
 * assignment shows every reason the API gives (details[].code), in the page's language
 * with the server's own wording beside it.
 */
import { ApiError, api, newIdempotencyKey } from '../api.js';
import { loadCounts, loadDispatches, loadOrders, loadPending } from '../data.js';
import { field, h, replaceChildren, setOptions } from '../dom.js';
import { errorText } from '../errors.js';
import { kg } from '../format.js';
import { t } from '../i18n.js';
import { on, state } from '../store.js';
import type { Order } from '../types.js';
import { CARGO } from './orders.js';
import { suggestionsView } from './suggestions.js';

function refreshAfterChange(): Promise<unknown> {
  return Promise.allSettled([loadOrders(), loadCounts(), loadPending(), loadDispatches()]);
}

function submitting(form: HTMLFormElement, busy: boolean): void {
  for (const button of form.querySelectorAll('button')) button.disabled = busy;
  form.setAttribute('aria-busy', String(busy));
}

function orderText(o: Order): string {
  return `#${o.id} ${o.pickup_address} → ${o.delivery_address} (${t(`cargo.${o.cargo_type}`)}, ${kg(o.weight)})`;
}

export interface FormsPanel {
  element: HTMLElement;
  pickOrder: (orderId: number) => void;
}

export function formsPanel(): FormsPanel {
  // --- new order
  const createMessage = h('div', { class: 'message', attrs: { role: 'status', 'aria-live': 'polite', id: 'create-result' } });
  const client = h('select', { attrs: { name: 'client_id', required: true } });
  const pickup = h('input', { attrs: { name: 'pickup_address', required: true, minlength: 2, maxlength: 300, autocomplete: 'off' } });
  const delivery = h('input', { attrs: { name: 'delivery_address', required: true, minlength: 2, maxlength: 300, autocomplete: 'off' } });
  const cargo = h('select', { attrs: { name: 'cargo_type', required: true } });
  const weight = h('input', { attrs: { name: 'weight', type: 'number', required: true, min: 0.1, max: 100000, step: 'any', inputmode: 'decimal' } });
  const notes = h('textarea', { attrs: { name: 'notes', rows: 2, maxlength: 1000 } });

  const createForm = h(
    'form',
    {
      class: 'stack',
      attrs: { 'aria-labelledby': 'create-title', id: 'create-order' },
      on: {
        submit: (e) => {
          e.preventDefault();
          void createOrder();
        },
      },
    },
    field('create.client', client),
    field('create.pickup', pickup),
    field('create.delivery', delivery),
    h('div', { class: 'row' }, field('create.cargo', cargo), field('create.weight', weight)),
    field('create.notes', notes),
    h('div', { class: 'actions' }, h('button', { attrs: { type: 'submit' }, i18n: 'create.submit' })),
    createMessage,
  );

  async function createOrder(): Promise<void> {
    submitting(createForm, true);
    createMessage.className = 'message';
    try {
      const body: Record<string, unknown> = {
        client_id: Number(client.value),
        pickup_address: pickup.value,
        delivery_address: delivery.value,
        cargo_type: cargo.value,
        weight: Number(weight.value),
      };
      if (notes.value.trim()) body.notes = notes.value.trim();
      const order = await api<Order>('POST', '/orders', body, { 'Idempotency-Key': newIdempotencyKey() });
      createMessage.className = 'message ok';
      replaceChildren(createMessage, `${t('create.done')}: #${order.id}`);
      createMessage.dataset.orderId = String(order.id);
      pickup.value = '';
      delivery.value = '';
      notes.value = '';
      await refreshAfterChange();
      pickOrder(order.id, false);
    } catch (err) {
      createMessage.className = 'message error';
      replaceChildren(createMessage, errorText(err));
    } finally {
      submitting(createForm, false);
    }
  }

  // --- assignment
  const assignMessage = h('div', { class: 'message', attrs: { role: 'status', 'aria-live': 'polite', id: 'assign-result' } });
  const order = h('select', { attrs: { name: 'order_id', required: true, id: 'assign-order' } });
  const vehicle = h('select', { attrs: { name: 'vehicle_id', required: true } });
  const driver = h('select', { attrs: { name: 'driver_id', required: true } });
  driver.addEventListener('change', () => {
    // Most days a driver takes the usual vehicle: offer it, the dispatcher can still change it.
    const usual = state.drivers.get(Number(driver.value))?.vehicle_id;
    if (usual != null && !vehicle.value) vehicle.value = String(usual);
  });

  // Suggestions for the chosen order: a choice fills the vehicle and driver, the dispatcher still assigns.
  const suggestions = suggestionsView((s) => {
    vehicle.value = String(s.vehicle_id);
    driver.value = String(s.driver_id);
    assignMessage.className = 'message';
    assignMessage.setAttribute('role', 'status');
    replaceChildren(assignMessage, t('suggest.chosen', { plate: s.details.license_plate, driver: s.details.driver_name }));
    assignForm.querySelector<HTMLButtonElement>('button[type="submit"]')?.focus();
  });
  order.addEventListener('change', () => suggestions.show(order.value ? Number(order.value) : null));

  const assignForm = h(
    'form',
    {
      class: 'stack',
      attrs: { 'aria-labelledby': 'assign-title', id: 'assign' },
      on: {
        submit: (e) => {
          e.preventDefault();
          void assign();
        },
      },
    },
    field('assign.order', order),
    suggestions.element,
    h('div', { class: 'row' }, field('assign.vehicle', vehicle), field('assign.driver', driver)),
    h('div', { class: 'actions' }, h('button', { attrs: { type: 'submit' }, i18n: 'assign.submit' })),
    assignMessage,
  );

  function showRefusal(err: ApiError): void {
    const reasons = Array.isArray(err.details) ? (err.details as { code?: string; message?: string }[]) : [];
    assignMessage.className = 'message error refusal';
    replaceChildren(
      assignMessage,
      h('strong', { i18n: 'assign.refused' }),
      h(
        'ul',
        { class: 'reasons' },
        ...(reasons.length ? reasons : [{ code: err.code, message: err.message }]).map((r) =>
          h(
            'li',
            { attrs: { 'data-code': r.code ?? '' } },
            h('span', { i18n: `refusal.${r.code ?? ''}` }),
            h('small', { class: 'server-says' }, ` (${r.message ?? ''})`),
          ),
        ),
      ),
    );
    // A refusal needs the dispatcher's attention: announce it assertively.
    assignMessage.setAttribute('role', 'alert');
  }

  async function assign(): Promise<void> {
    submitting(assignForm, true);
    assignMessage.className = 'message';
    assignMessage.setAttribute('role', 'status');
    try {
      const body = { order_id: Number(order.value), vehicle_id: Number(vehicle.value), driver_id: Number(driver.value) };
      const dispatch = await api<{ id: number }>('POST', '/dispatches', body, { 'Idempotency-Key': newIdempotencyKey() });
      assignMessage.className = 'message ok';
      assignMessage.dataset.dispatchId = String(dispatch.id);
      replaceChildren(assignMessage, `${t('assign.done')}: #${dispatch.id} (${t('assign.order')} #${body.order_id})`);
      vehicle.value = '';
      driver.value = '';
      suggestions.show(null);
      await refreshAfterChange();
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) showRefusal(err);
      else {
        assignMessage.className = 'message error';
        replaceChildren(assignMessage, errorText(err));
      }
    } finally {
      submitting(assignForm, false);
    }
  }

  function pickOrder(orderId: number, focus = true): void {
    renderOrders();
    order.value = String(orderId);
    suggestions.show(orderId);
    if (focus) {
      order.scrollIntoView({ block: 'nearest' });
      vehicle.focus();
    }
  }

  function renderOrders(): void {
    const options = state.pendingOrders.map((o) => ({ value: String(o.id), text: orderText(o) }));
    setOptions(order, [{ value: '', text: '', i18n: options.length ? 'assign.choose' : 'assign.noPending' }, ...options]);
    // The chosen order was assigned elsewhere: its suggestions no longer apply.
    if (!order.value) suggestions.show(null);
  }

  function renderReference(): void {
    setOptions(client, [{ value: '', text: '', i18n: 'assign.choose' }, ...[...state.clients.values()].map((c) => ({ value: String(c.id), text: c.name }))]);
    setOptions(
      cargo,
      CARGO.map((c) => ({ value: c, text: '', i18n: `cargo.${c}` as const })),
    );
    setOptions(vehicle, [
      { value: '', text: '', i18n: 'assign.choose' },
      ...[...state.vehicles.values()].map((v) => ({
        value: String(v.id),
        text: `${v.license_plate} · ${v.cargo_classes.map((c) => t(`cargo.${c}`)).join('/')} · ${kg(v.capacity_kg)}`,
      })),
    ]);
    setOptions(driver, [
      { value: '', text: '', i18n: 'assign.choose' },
      ...[...state.drivers.values()].map((d) => ({ value: String(d.id), text: `${d.name} (#${d.id})` })),
    ]);
  }

  on(['pending'], renderOrders);
  on(['reference'], renderReference);
  // The language changed (every topic is announced then): the suggestions are built from labels.
  on(['reference'], suggestions.rerender);
  renderOrders();
  renderReference();

  const element = h(
    'section',
    { class: 'panel panel-forms', attrs: { id: 'new-order' } },
    h('h2', { i18n: 'create.title', attrs: { id: 'create-title' } }),
    createForm,
    h('h2', { i18n: 'assign.title', attrs: { id: 'assign-title' } }),
    assignForm,
  );
  return { element, pickOrder };
}
