/** Orders by status: counts per status, address search and filters, the list, and per-order actions. */
import { api } from '../api.js';
import { loadCounts, loadMoreOrders, loadOrders, loadPending } from '../data.js';
import { field, h, replaceChildren, setOptions } from '../dom.js';
import { errorText } from '../errors.js';
import { count, dateTime, kg } from '../format.js';
import { t, type Key } from '../i18n.js';
import { on, state } from '../store.js';
import type { Order } from '../types.js';

const STATUSES = ['PENDING', 'ASSIGNED', 'IN_TRANSIT', 'COMPLETED', 'CANCELLED'] as const;
export const CARGO = ['CHILLED', 'FROZEN', 'AMBIENT'] as const;

export interface OrdersPanelOptions {
  /** Puts an order into the assignment form. */
  pickOrder: (orderId: number) => void;
}

export function ordersPanel({ pickOrder }: OrdersPanelOptions): HTMLElement {
  // Focusable, so keyboard focus can land on the outcome once the cancelled row's button is gone.
  const message = h('p', { class: 'message', attrs: { role: 'status', 'aria-live': 'polite', tabindex: -1 } });
  const tabs = h('div', { class: 'status-tabs', attrs: { role: 'group' }, i18nAttrs: { 'aria-label': 'orders.statusFilter' } });
  const search = h('input', {
    attrs: { type: 'search', name: 'q', maxlength: 100, autocomplete: 'off' },
    i18nAttrs: { placeholder: 'orders.searchPlaceholder' },
  });
  const cargo = h('select', { attrs: { name: 'cargo_type' } });
  const client = h('select', { attrs: { name: 'client_id' } });
  const rows = h('tbody');
  const more = h('button', { class: 'secondary', attrs: { type: 'button', hidden: true }, i18n: 'orders.more' });

  const apply = () => {
    state.filters.q = search.value;
    state.filters.cargo = cargo.value;
    state.filters.client = client.value;
    state.orders = [];
    loadOrders().catch((err: unknown) => (message.textContent = errorText(err)));
  };

  const filters = h(
    'form',
    {
      class: 'filters',
      attrs: { role: 'search' },
      on: {
        submit: (e) => {
          e.preventDefault();
          apply();
        },
        reset: () => {
          state.filters = { status: '', q: '', cargo: '', client: '' };
          // The form resets its controls after this event; read them afterwards.
          setTimeout(() => {
            renderTabs();
            apply();
          });
        },
      },
    },
    field('orders.search', search, 'grow'),
    field('orders.cargo', cargo),
    field('orders.client', client),
    h(
      'div',
      { class: 'actions' },
      h('button', { attrs: { type: 'submit' }, i18n: 'orders.apply' }),
      h('button', { class: 'secondary', attrs: { type: 'reset' }, i18n: 'orders.reset' }),
    ),
  );

  function renderTabs(): void {
    const total = Object.values(state.orderCounts).reduce((a, b) => a + b, 0);
    const tab = (status: string, key: Key, n: number) =>
      h(
        'button',
        {
          class: 'tab',
          attrs: {
            type: 'button',
            'aria-pressed': String(state.filters.status === status),
            'data-key': `tab-${status || 'ALL'}`,
            'data-status': status || 'ALL',
          },
          on: {
            click: () => {
              state.filters.status = status;
              renderTabs();
              apply();
            },
          },
        },
        h('span', { i18n: key }),
        ' ',
        h('span', { class: 'count' }, count(n)),
      );
    replaceChildren(tabs, tab('', 'orders.all', total), ...STATUSES.map((s) => tab(s, `order.${s}`, state.orderCounts[s] ?? 0)));
  }

  function renderFilters(): void {
    setOptions(cargo, [{ value: '', text: '', i18n: 'orders.any' }, ...CARGO.map((c) => ({ value: c, text: '', i18n: `cargo.${c}` as const }))]);
    setOptions(client, [{ value: '', text: '', i18n: 'orders.any' }, ...[...state.clients.values()].map((c) => ({ value: String(c.id), text: c.name }))]);
  }

  async function cancel(order: Order): Promise<void> {
    if (!window.confirm(t('orders.cancelConfirm'))) return;
    try {
      await api('POST', `/orders/${order.id}/cancel`, {});
      message.textContent = t('orders.cancelled');
      await Promise.all([loadOrders(), loadCounts(), loadPending()]);
      message.focus();
    } catch (err) {
      message.textContent = errorText(err);
    }
  }

  function row(o: Order): HTMLTableRowElement {
    const clientName = state.clients.get(o.client_id)?.name ?? `#${o.client_id}`;
    const actions = h('td', { class: 'row-actions' });
    if (o.status === 'PENDING') {
      actions.append(h('button', { attrs: { type: 'button', 'data-key': `assign-${o.id}` }, i18n: 'orders.assign', on: { click: () => pickOrder(o.id) } }));
    }
    if (o.status === 'PENDING' || o.status === 'ASSIGNED') {
      actions.append(
        h('button', {
          class: 'secondary',
          attrs: { type: 'button', 'data-key': `cancel-${o.id}` },
          i18n: 'orders.cancel',
          on: { click: () => void cancel(o) },
        }),
      );
    }
    return h(
      'tr',
      { attrs: { 'data-order-id': o.id } },
      h('td', { class: 'num' }, `#${o.id}`),
      h('td', {}, clientName),
      h('td', { class: 'route' }, h('div', { class: 'address pickup' }, o.pickup_address), h('div', { class: 'address delivery' }, '→ ', o.delivery_address)),
      h('td', { class: 'nowrap' }, h('span', { class: `cargo cargo-${o.cargo_type}`, i18n: `cargo.${o.cargo_type}` })),
      h('td', { class: 'num' }, kg(o.weight)),
      h('td', {}, h('span', { class: `badge status-${o.status}`, attrs: { 'data-status': o.status }, i18n: `order.${o.status}` })),
      h('td', { class: 'nowrap' }, dateTime(o.created_at)),
      actions,
    );
  }

  function renderRows(): void {
    if (state.orders.length === 0) replaceChildren(rows, h('tr', {}, h('td', { class: 'empty', attrs: { colspan: 8 }, i18n: 'orders.empty' })));
    else replaceChildren(rows, ...state.orders.map(row));
    more.hidden = !state.ordersCursor;
  }

  more.addEventListener('click', () => loadMoreOrders().catch((err: unknown) => (message.textContent = errorText(err))));
  on(['counts'], renderTabs);
  on(['reference'], () => {
    renderFilters();
    renderRows();
  });
  on(['orders'], renderRows);
  renderTabs();
  renderFilters();
  renderRows();

  const cols = [
    'orders.col.id',
    'orders.col.client',
    'orders.col.route',
    'orders.col.cargo',
    'orders.col.weight',
    'orders.col.status',
    'orders.col.created',
    'orders.col.actions',
  ] as const;
  return h(
    'section',
    { class: 'panel panel-orders', attrs: { 'aria-labelledby': 'orders-title', id: 'orders' } },
    h('h2', { i18n: 'orders.title', attrs: { id: 'orders-title' } }),
    tabs,
    filters,
    h(
      'div',
      { class: 'table-scroll' },
      h('table', { class: 'data orders-table' }, h('thead', {}, h('tr', {}, ...cols.map((c) => h('th', { attrs: { scope: 'col' }, i18n: c })))), rows),
    ),
    more,
    message,
  );
}
