/** Active dispatches, each with its temperature (latest reading, chart, excursions, corrective actions) and status history; live events update them in place. */
import { api } from '../api.js';
import { loadCounts, loadDispatches, loadOrders, loadPending } from '../data.js';
import { h, label, replaceChildren } from '../dom.js';
import { errorText } from '../errors.js';
import { kg, time } from '../format.js';
import { t } from '../i18n.js';
import { on, state } from '../store.js';
import type { ActiveDispatch } from '../types.js';
import { proofSection, proofSummary, watchProofSections } from './proofs.js';
import { temperatureSummary, temperatureSection, watchTemperatureSections } from './temperature.js';

export function dispatchesPanel(): HTMLElement {
  // Focusable, so keyboard focus can land on the outcome once the cancelled row's button is gone.
  const message = h('p', { class: 'message', attrs: { role: 'status', 'aria-live': 'polite', tabindex: -1 } });
  const list = h('ol', { class: 'dispatch-list', attrs: { 'aria-labelledby': 'dispatches-title' } });

  async function cancel(d: ActiveDispatch): Promise<void> {
    if (!window.confirm(t('dispatches.cancelConfirm'))) return;
    try {
      await api('POST', `/dispatches/${d.id}/cancel`, {});
      message.textContent = t('dispatches.cancelled');
      await Promise.allSettled([loadDispatches(), loadOrders(), loadCounts(), loadPending()]);
      message.focus();
    } catch (err) {
      message.textContent = errorText(err);
    }
  }

  function card(d: ActiveDispatch): HTMLLIElement {
    const history = d.history.length
      ? h(
          'ol',
          { class: 'history' },
          ...d.history.map((entry) =>
            h(
              'li',
              { attrs: { 'data-to': entry.to_status } },
              h('time', { attrs: { datetime: entry.changed_at } }, time(entry.changed_at)),
              ' ',
              entry.from_status ? h('span', { i18n: `dispatch.${entry.from_status}` }) : null,
              entry.from_status ? ' → ' : null,
              h('strong', { i18n: `dispatch.${entry.to_status}` }),
              entry.note ? h('span', { class: 'note' }, ` · ${entry.note}`) : null,
            ),
          ),
        )
      : h('p', { class: 'muted', i18n: 'dispatches.noHistory' });
    return h(
      'li',
      { class: 'dispatch-card', attrs: { 'data-dispatch-id': d.id, 'data-status': d.status } },
      h(
        'div',
        { class: 'card-head' },
        h('strong', {}, `#${d.id}`),
        h('span', { class: `badge status-${d.status}`, attrs: { 'data-role': 'dispatch-status' }, i18n: `dispatch.${d.status}` }),
      ),
      h(
        'dl',
        { class: 'facts' },
        h('dt', { i18n: 'dispatches.order' }),
        h('dd', {}, `#${d.order_id} · `, h('span', { i18n: `cargo.${d.order.cargo_type}` }), ` · ${kg(d.order.weight)}`),
        h('dt', { i18n: 'dispatches.route' }),
        h('dd', { class: 'route' }, h('div', { class: 'address' }, d.order.pickup_address), h('div', { class: 'address' }, '→ ', d.order.delivery_address)),
        h('dt', { i18n: 'dispatches.vehicle' }),
        h('dd', {}, d.license_plate),
        h('dt', { i18n: 'dispatches.driver' }),
        h('dd', {}, d.driver_name),
        h('dt', { i18n: 'temp.title' }),
        h('dd', {}, temperatureSummary(d)),
        h('dt', { i18n: 'proof.title' }),
        h('dd', {}, proofSummary(d)),
      ),
      temperatureSection(d),
      proofSection(d),
      h('h3', { class: 'history-title' }, label('dispatches.history')),
      history,
      // A delivered dispatch can only be completed (the API refuses a cancel), so no button.
      d.status === 'DELIVERED'
        ? null
        : h('button', {
            class: 'secondary small',
            attrs: { type: 'button', 'data-key': `cancel-dispatch-${d.id}` },
            i18n: 'dispatches.cancel',
            on: { click: () => void cancel(d) },
          }),
    );
  }

  function render(): void {
    if (state.dispatches.length === 0) replaceChildren(list, h('li', { class: 'empty', i18n: 'dispatches.empty' }));
    else replaceChildren(list, ...state.dispatches.map(card));
  }

  watchTemperatureSections();
  watchProofSections();
  on(['dispatches'], render);
  render();
  return h(
    'section',
    { class: 'panel panel-dispatches', attrs: { 'aria-labelledby': 'dispatches-title', id: 'dispatches' } },
    h('h2', { i18n: 'dispatches.title', attrs: { id: 'dispatches-title' } }),
    message,
    h('div', { class: 'list-scroll' }, list),
  );
}
