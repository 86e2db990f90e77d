/**
 * Suggestions inside the assignment form (GET /orders/:id/suggestions): who should take the chosen
 * order, with the score and each of its terms, a button that fills the form with that pair (the
 * dispatcher still presses Assign), and every excluded pair with every reason, translated, the
 * server's wording beside it. A list of buttons in score order: Tab walks them, a screen reader
 * hears each pair with its score; the result of a choice is announced in the form's own status.
 */
import { ApiError, api } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import { errorText } from '../errors.js';
import { dateTime } from '../format.js';
import { t, type Key } from '../i18n.js';
import type { Suggestion, SuggestionsResponse } from '../types.js';

const TERMS = ['distance', 'capacity_fit', 'reefer_readiness', 'fairness'] as const;

export interface SuggestionsView {
  element: HTMLElement;
  /** Shows the suggestions of an order (null: none chosen). */
  show: (orderId: number | null) => void;
  /** Builds the list again from the last answer (the language changed). */
  rerender: () => void;
}

const number = (value: number, digits = 2) => value.toFixed(digits);

export function suggestionsView(onChoose: (s: Suggestion) => void): SuggestionsView {
  const status = h('p', { class: 'muted small', attrs: { id: 'suggest-status', role: 'status', 'aria-live': 'polite' }, i18n: 'suggest.hint' });
  const list = h('ol', { class: 'suggestions', attrs: { id: 'suggest-list', 'aria-labelledby': 'suggest-title' } });
  const excludedCount = h('span');
  const excludedList = h('ul', { class: 'excluded', attrs: { id: 'suggest-excluded' } });
  const excluded = h('details', { class: 'excluded-pairs', attrs: { hidden: true } }, h('summary', {}, excludedCount), excludedList);
  let shown: number | null = null;
  let answer: SuggestionsResponse | undefined;
  let request = 0;

  function item(s: Suggestion, rank: number): HTMLElement {
    const place =
      s.distance_km === null
        ? t('suggest.noDistance')
        : `${t('suggest.km', { km: number(s.distance_km, 1) })} (${t(s.details.position === 'gps' ? 'suggest.fromGps' : 'suggest.fromBase')})`;
    return h(
      'li',
      { attrs: { 'data-vehicle-id': s.vehicle_id, 'data-driver-id': s.driver_id, 'data-rank': rank } },
      h(
        'div',
        { class: 'suggestion-head' },
        h('strong', { attrs: { 'data-role': 'pair' } }, `${s.details.license_plate} · ${s.details.driver_name}`),
        h('span', { class: 'score', attrs: { 'data-role': 'score' } }, t('suggest.score', { score: number(s.score, 1) })),
        h(
          'button',
          {
            class: 'secondary small',
            attrs: {
              type: 'button',
              'data-action': 'use',
              'aria-label': t('suggest.useLabel', { plate: s.details.license_plate, driver: s.details.driver_name }),
            },
            on: { click: () => onChoose(s) },
          },
          t('suggest.use'),
        ),
      ),
      h(
        'p',
        { class: 'small muted terms', attrs: { 'data-role': 'terms' } },
        [place, ...TERMS.map((term) => `${t(`suggest.term.${term}` as Key)} ${number(s.terms[term])}`)].join(' · '),
      ),
    );
  }

  function render(): void {
    if (!answer || answer.order_id !== shown) return;
    replaceChildren(list, ...answer.items.map((s, i) => item(s, i + 1)));
    status.removeAttribute('data-i18n');
    status.textContent = answer.items.length ? '' : t('suggest.none');
    excluded.hidden = answer.excluded.length === 0;
    excludedCount.textContent = t('suggest.excluded', { n: answer.excluded.length });
    replaceChildren(
      excludedList,
      ...answer.excluded.map((e) =>
        h(
          'li',
          { attrs: { 'data-vehicle-id': e.vehicle_id ?? '', 'data-driver-id': e.driver_id ?? '' } },
          h('span', { class: 'pair' }, `${e.license_plate ?? t('suggest.noVehicleName')} · ${e.driver_name ?? t('suggest.noDriverName')}`),
          h(
            'ul',
            { class: 'reasons' },
            ...e.reasons.map((r) =>
              h(
                'li',
                { attrs: { 'data-code': r.code } },
                h('span', {}, t(`refusal.${r.code}` as Key)),
                r.until ? h('span', { class: 'until' }, ` · ${t('suggest.until', { time: dateTime(r.until) })}`) : null,
                h('small', { class: 'server-says' }, ` (${r.message})`),
              ),
            ),
          ),
        ),
      ),
    );
  }

  async function load(orderId: number): Promise<void> {
    const mine = ++request;
    status.removeAttribute('data-i18n');
    status.textContent = t('suggest.loading');
    try {
      const result = await api<SuggestionsResponse>('GET', `/orders/${orderId}/suggestions?limit=5`);
      // A newer choice of order wins over an answer that arrives late.
      if (mine !== request) return;
      answer = result;
      render();
    } catch (err) {
      if (mine !== request) return;
      answer = undefined;
      replaceChildren(list);
      excluded.hidden = true;
      status.textContent = err instanceof ApiError && err.code === 'order_not_pending' ? err.message : errorText(err);
    }
  }

  function show(orderId: number | null): void {
    shown = orderId;
    if (orderId === null) {
      request++;
      answer = undefined;
      replaceChildren(list);
      excluded.hidden = true;
      status.dataset.i18n = 'suggest.hint';
      status.textContent = t('suggest.hint');
      return;
    }
    void load(orderId);
  }

  const element = h(
    'div',
    { class: 'suggest', attrs: { id: 'suggestions' } },
    h('h3', { attrs: { id: 'suggest-title' }, i18n: 'suggest.title' }),
    status,
    list,
    excluded,
  );
  return { element, show, rerender: render };
}
