/**
 * Webhook endpoints, for admins only (main.ts adds the panel by the session's role; the API
 * answers 403 to anyone else): the list with each endpoint's state (enabled, or disabled and
 * why, and since when it has been failing), a form registering one, enable/disable, secret
 * rotation, deletion, and the selected endpoint's delivery attempts with a retry per delivery.
 *
 * A secret is in the API's answer to a create or a rotation only: it is shown once, in a box
 * of its own that no refresh re-renders, and forgotten when the box is closed.
 * The list and the selected endpoint's attempts refresh every few seconds while the page is
 * in view, so a delivery shows up without a reload.
 */
import { WEBHOOK_EVENT_NAMES } from '../../../../domain/webhook-event-names.js';
import { api } from '../api.js';
import { field, h, label, replaceChildren, setOptions } from '../dom.js';
import { errorText } from '../errors.js';
import { count, dateTime } from '../format.js';
import { onLangChange, t, type LabelKey } from '../i18n.js';
import { on, state } from '../store.js';
import type { Page, WebhookAttempt, WebhookEndpoint, WebhookEndpointWithSecret } from '../types.js';

const ALL = '*';
const PAGE_SIZE = 20;
/** The API's largest page (api/schemas/common.ts Limit). */
const MAX_PAGE = 200;
const REFRESH_MS = 4_000;

type Tone = 'ok' | 'error' | '';

function say(target: HTMLElement, tone: Tone, ...content: (Node | string)[]): void {
  target.className = `message${tone ? ` ${tone}` : ''}`;
  replaceChildren(target, ...content);
}

function clientName(id: number | null): string {
  if (id === null) return t('webhooks.allClients');
  return state.clients.get(id)?.name ?? `#${id}`;
}

export function webhooksPanel(): HTMLElement {
  let endpoints: WebhookEndpoint[] = [];
  let selected: number | undefined;
  let attempts: WebhookAttempt[] = [];
  let attemptsCursor: string | null = null;
  /** Bumped on every change of selection, so an answer for the previous endpoint is dropped. */
  let selection = 0;
  /** What was last rendered from the API: a refresh that brings nothing new rebuilds nothing. */
  let shownEndpoints = '';
  let shownAttempts = '';

  // Focusable, so focus can land on the outcome when the row whose button was pressed is gone.
  const message = h('p', { class: 'message', attrs: { role: 'status', 'aria-live': 'polite', tabindex: -1, id: 'webhooks-message' } });
  const rows = h('tbody');

  // --- the secret, shown once
  const secretBox = h('div', { class: 'secret-box', attrs: { id: 'webhook-secret', role: 'alert', hidden: true } });

  function showSecret(endpoint: WebhookEndpointWithSecret, rotated: boolean): void {
    secretBox.hidden = false;
    secretBox.dataset.endpointId = String(endpoint.id);
    replaceChildren(
      secretBox,
      h('strong', { attrs: { 'data-role': 'secret-title' }, i18n: 'webhooks.secretTitle' }),
      h('p', { class: 'secret-for' }, h('span', { i18n: 'webhooks.secretFor' }), ' ', h('code', {}, endpoint.url)),
      h('p', {}, h('code', { class: 'secret', attrs: { id: 'webhook-secret-value' } }, endpoint.secret)),
      h('p', { attrs: { 'data-role': 'secret-note' }, i18n: 'webhooks.secretNote' }),
      rotated && endpoint.previous_secret_expires_at
        ? h(
            'p',
            { attrs: { 'data-role': 'secret-overlap' } },
            label('webhooks.secretOverlap'),
            ' ',
            // Re-formatted on a language change (below); the rest of the box relabels itself.
            h('time', { attrs: { datetime: endpoint.previous_secret_expires_at } }, dateTime(endpoint.previous_secret_expires_at)),
          )
        : null,
      h(
        'div',
        { class: 'actions' },
        h('button', { class: 'secondary', attrs: { type: 'button', id: 'webhook-secret-close' }, i18n: 'webhooks.secretClose', on: { click: hideSecret } }),
      ),
    );
  }

  function hideSecret(): void {
    secretBox.hidden = true;
    delete secretBox.dataset.endpointId;
    secretBox.replaceChildren();
  }

  // --- the endpoints

  function stateCell(e: WebhookEndpoint): HTMLElement {
    if (e.enabled) {
      return h(
        'td',
        {},
        h('span', { class: 'badge fresh', attrs: { 'data-role': 'endpoint-state', 'data-enabled': 'true' }, i18n: 'webhooks.enabled' }),
        e.previous_secret_expires_at && Date.parse(e.previous_secret_expires_at) > Date.now()
          ? h('div', { class: 'muted small' }, label('webhooks.twoSecrets'), ` ${dateTime(e.previous_secret_expires_at)}`)
          : null,
      );
    }
    return h(
      'td',
      {},
      h('span', { class: 'badge status-CANCELLED', attrs: { 'data-role': 'endpoint-state', 'data-enabled': 'false' }, i18n: 'webhooks.disabled' }),
      h(
        'div',
        { class: 'small', attrs: { 'data-role': 'disabled-reason', 'data-reason': e.disabled_reason ?? '' } },
        h('span', { i18n: `whreason.${e.disabled_reason ?? 'manual'}` }),
        e.disabled_at ? ` · ${dateTime(e.disabled_at)}` : null,
      ),
    );
  }

  function endpointRow(e: WebhookEndpoint): HTMLTableRowElement {
    const isSelected = e.id === selected;
    return h(
      'tr',
      { class: isSelected ? 'selected' : '', attrs: { 'data-endpoint-id': e.id, 'data-enabled': String(e.enabled), 'data-selected': isSelected } },
      h('td', { class: 'num' }, `#${e.id}`),
      h(
        'td',
        { class: 'endpoint-url' },
        h('code', { attrs: { 'data-role': 'url' } }, e.url),
        e.description ? h('div', { class: 'muted small', attrs: { 'data-role': 'description' } }, e.description) : null,
      ),
      h(
        'td',
        { attrs: { 'data-role': 'events' } },
        e.events.includes(ALL)
          ? h('span', { i18n: 'webhooks.allEvents' })
          : h('ul', { class: 'event-list' }, ...e.events.map((ev) => h('li', {}, h('code', {}, ev)))),
      ),
      h('td', { attrs: { 'data-role': 'client' } }, clientName(e.client_id)),
      stateCell(e),
      h(
        'td',
        { class: `nowrap${e.failing_since ? ' alarm' : ''}`, attrs: { 'data-role': 'failing-since' } },
        e.failing_since ? dateTime(e.failing_since) : '–',
      ),
      h(
        'td',
        { class: 'row-actions' },
        h('button', {
          class: 'small',
          attrs: { type: 'button', 'data-key': `wh-show-${e.id}`, 'data-action': 'deliveries', 'aria-pressed': isSelected },
          i18n: 'webhooks.showDeliveries',
          on: { click: () => void select(e.id) },
        }),
        h('button', {
          class: 'small secondary',
          attrs: { type: 'button', 'data-key': `wh-toggle-${e.id}`, 'data-action': e.enabled ? 'disable' : 'enable' },
          i18n: e.enabled ? 'webhooks.disable' : 'webhooks.enable',
          on: { click: () => void setEnabled(e, !e.enabled) },
        }),
        h('button', {
          class: 'small secondary',
          attrs: { type: 'button', 'data-key': `wh-rotate-${e.id}`, 'data-action': 'rotate' },
          i18n: 'webhooks.rotate',
          on: { click: () => void rotate(e) },
        }),
        h('button', {
          class: 'small secondary danger',
          attrs: { type: 'button', 'data-key': `wh-delete-${e.id}`, 'data-action': 'delete' },
          i18n: 'webhooks.delete',
          on: { click: () => void remove(e) },
        }),
      ),
    );
  }

  function renderEndpoints(): void {
    if (endpoints.length === 0) replaceChildren(rows, h('tr', {}, h('td', { class: 'empty', attrs: { colspan: 7 }, i18n: 'webhooks.empty' })));
    else replaceChildren(rows, ...endpoints.map(endpointRow));
  }

  async function loadEndpoints(): Promise<void> {
    const page = await api<{ items: WebhookEndpoint[] }>('GET', '/webhooks/endpoints');
    const seen = JSON.stringify(page.items);
    endpoints = page.items;
    if (selected !== undefined && !endpoints.some((e) => e.id === selected)) clearSelection();
    if (seen !== shownEndpoints) {
      shownEndpoints = seen;
      renderEndpoints();
      renderDeliveriesHead();
    }
  }

  async function setEnabled(e: WebhookEndpoint, enabled: boolean): Promise<void> {
    try {
      await api('PATCH', `/webhooks/endpoints/${e.id}`, { enabled });
      say(message, 'ok', `${t(enabled ? 'webhooks.enabledDone' : 'webhooks.disabledDone')}: #${e.id}`);
      await loadEndpoints();
    } catch (err) {
      say(message, 'error', errorText(err));
    }
  }

  async function rotate(e: WebhookEndpoint): Promise<void> {
    if (!window.confirm(t('webhooks.rotateConfirm'))) return;
    try {
      const rotated = await api<WebhookEndpointWithSecret>('POST', `/webhooks/endpoints/${e.id}/rotate-secret`);
      showSecret(rotated, true);
      say(message, 'ok', `${t('webhooks.rotated')}: #${e.id}`);
      await loadEndpoints();
    } catch (err) {
      say(message, 'error', errorText(err));
    }
  }

  async function remove(e: WebhookEndpoint): Promise<void> {
    if (!window.confirm(t('webhooks.deleteConfirm'))) return;
    try {
      await api('DELETE', `/webhooks/endpoints/${e.id}`);
      if (secretBox.dataset.endpointId === String(e.id)) hideSecret();
      say(message, 'ok', `${t('webhooks.deleted')}: #${e.id}`);
      await loadEndpoints();
      message.focus();
    } catch (err) {
      say(message, 'error', errorText(err));
    }
  }

  // --- a new endpoint
  const createMessage = h('div', { class: 'message', attrs: { role: 'status', 'aria-live': 'polite', id: 'webhook-create-result' } });
  const url = h('input', {
    attrs: { name: 'url', type: 'url', required: true, maxlength: 2000, autocomplete: 'off', spellcheck: 'false', placeholder: 'https://' },
  });
  const allEvents = h('input', { attrs: { type: 'checkbox', name: 'events', value: ALL } });
  const eventBoxes = WEBHOOK_EVENT_NAMES.map((name) => h('input', { attrs: { type: 'checkbox', name: 'events', value: name } }));
  // "*" is every type, present and future, and the API takes it only alone.
  allEvents.addEventListener('change', () => {
    for (const box of eventBoxes) {
      box.disabled = allEvents.checked;
      if (allEvents.checked) box.checked = false;
    }
  });
  const client = h('select', { attrs: { name: 'client_id' } });
  const description = h('input', { attrs: { name: 'description', maxlength: 500, autocomplete: 'off' } });
  const check = (box: HTMLInputElement, ...text: (Node | string)[]) => h('label', { class: 'check' }, box, h('span', {}, ...text));

  const createForm = h(
    'form',
    {
      class: 'stack',
      attrs: { 'aria-labelledby': 'webhook-create-title', id: 'webhook-create' },
      on: {
        submit: (ev) => {
          ev.preventDefault();
          void create();
        },
      },
    },
    field('webhooks.url', url),
    h(
      'fieldset',
      { class: 'event-choices' },
      h('legend', { class: 'field-label', i18n: 'webhooks.events' }),
      check(allEvents, label('webhooks.allEvents'), ' ', h('code', {}, ALL)),
      ...eventBoxes.map((box) => check(box, h('span', { i18n: `whevent.${box.value}` }), ' ', h('code', {}, box.value))),
    ),
    h('div', { class: 'row' }, field('webhooks.client', client), field('webhooks.description', description)),
    h('div', { class: 'actions' }, h('button', { attrs: { type: 'submit' }, i18n: 'webhooks.create' })),
    createMessage,
  );

  function submitting(busy: boolean): void {
    for (const button of createForm.querySelectorAll('button')) button.disabled = busy;
    createForm.setAttribute('aria-busy', String(busy));
  }

  async function create(): Promise<void> {
    const events = allEvents.checked ? [ALL] : eventBoxes.filter((b) => b.checked).map((b) => b.value);
    if (events.length === 0) {
      say(createMessage, 'error', t('webhooks.chooseEvents'));
      return;
    }
    submitting(true);
    say(createMessage, '');
    try {
      const body: Record<string, unknown> = { url: url.value.trim(), events };
      if (client.value) body.client_id = Number(client.value);
      if (description.value.trim()) body.description = description.value.trim();
      const created = await api<WebhookEndpointWithSecret>('POST', '/webhooks/endpoints', body);
      say(createMessage, 'ok', `${t('webhooks.created')}: #${created.id}`);
      createMessage.dataset.endpointId = String(created.id);
      showSecret(created, false);
      url.value = '';
      description.value = '';
      client.value = '';
      allEvents.checked = false;
      for (const box of eventBoxes) {
        box.checked = false;
        box.disabled = false;
      }
      await loadEndpoints();
      await select(created.id);
    } catch (err) {
      say(createMessage, 'error', errorText(err));
    } finally {
      submitting(false);
    }
  }

  function renderClients(): void {
    setOptions(client, [
      { value: '', text: '', i18n: 'webhooks.allClients' },
      ...[...state.clients.values()].map((c) => ({ value: String(c.id), text: `${c.name} (#${c.id})` })),
    ]);
  }

  // --- the selected endpoint's delivery attempts
  const deliveriesHead = h('p', { class: 'muted', attrs: { id: 'webhook-deliveries-for' } });
  const deliveriesMessage = h('p', { class: 'message', attrs: { role: 'status', 'aria-live': 'polite', id: 'webhook-deliveries-message' } });
  const attemptRows = h('tbody');
  const more = h('button', { class: 'secondary', attrs: { type: 'button', hidden: true, id: 'webhook-deliveries-more' }, i18n: 'webhooks.more' });
  const refresh = h('button', {
    class: 'secondary small',
    attrs: { type: 'button', id: 'webhook-deliveries-refresh', hidden: true },
    i18n: 'webhooks.refresh',
  });
  const deliveries = h(
    'div',
    { class: 'webhook-deliveries', attrs: { id: 'webhook-deliveries' } },
    h('div', { class: 'card-head' }, h('h3', { i18n: 'webhooks.deliveriesTitle', attrs: { id: 'webhook-deliveries-title' } }), refresh),
    deliveriesHead,
    h(
      'div',
      { class: 'table-scroll' },
      h(
        'table',
        { class: 'data webhook-attempts', attrs: { 'aria-labelledby': 'webhook-deliveries-title' } },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ...(
              [
                'webhooks.col.time',
                'webhooks.col.event',
                'webhooks.col.status',
                'webhooks.col.http',
                'webhooks.col.duration',
                'webhooks.col.error',
                'webhooks.col.next',
                'webhooks.col.actions',
              ] as const
            ).map((c) => h('th', { attrs: { scope: 'col' }, i18n: c })),
          ),
        ),
        attemptRows,
      ),
    ),
    more,
    deliveriesMessage,
  );

  function renderDeliveriesHead(): void {
    const e = endpoints.find((x) => x.id === selected);
    refresh.hidden = !e;
    if (!e) replaceChildren(deliveriesHead, label('webhooks.noneSelected'));
    else replaceChildren(deliveriesHead, label('webhooks.deliveriesFor'), ' ', h('code', {}, `#${e.id} ${e.url}`));
  }

  function attemptRow(a: WebhookAttempt, newestOfDelivery: boolean): HTMLTableRowElement {
    return h(
      'tr',
      {
        attrs: {
          'data-attempt-id': a.id,
          'data-delivery-id': a.delivery_id,
          'data-delivery-status': a.delivery_status,
          'data-outcome': a.outcome,
        },
      },
      h(
        'td',
        { class: 'nowrap' },
        h('time', { attrs: { datetime: a.started_at } }, dateTime(a.started_at)),
        h('div', { class: 'muted small' }, `#${a.attempt}`),
      ),
      h('td', {}, h('code', { attrs: { 'data-role': 'event-type' } }, a.event_type), h('div', { class: 'muted small' }, h('code', {}, a.webhook_id))),
      h(
        'td',
        {},
        h('span', { class: `badge delivery-${a.delivery_status}`, attrs: { 'data-role': 'delivery-status' }, i18n: `whstatus.${a.delivery_status}` }),
        h('div', { class: 'small', attrs: { 'data-role': 'outcome' }, i18n: `whoutcome.${a.outcome}` }),
      ),
      h(
        'td',
        { class: `num${a.status_code !== null && (a.status_code < 200 || a.status_code > 299) ? ' alarm' : ''}`, attrs: { 'data-role': 'http-status' } },
        a.status_code ?? '–',
      ),
      h('td', { class: 'num', attrs: { 'data-role': 'duration' } }, `${count(a.duration_ms)} ms`),
      h('td', { class: 'attempt-error', attrs: { 'data-role': 'error' } }, a.error ?? '–'),
      h('td', { class: 'nowrap', attrs: { 'data-role': 'next-attempt' } }, a.next_attempt_at ? dateTime(a.next_attempt_at) : '–'),
      h(
        'td',
        { class: 'row-actions' },
        newestOfDelivery
          ? h('button', {
              class: 'small secondary',
              attrs: { type: 'button', 'data-key': `wh-retry-${a.delivery_id}`, 'data-action': 'retry' },
              i18n: 'webhooks.retry',
              on: { click: () => void retry(a.delivery_id) },
            })
          : null,
      ),
    );
  }

  function renderAttempts(): void {
    more.hidden = selected === undefined || !attemptsCursor;
    if (selected === undefined) {
      attemptRows.replaceChildren();
      return;
    }
    if (attempts.length === 0) {
      replaceChildren(attemptRows, h('tr', {}, h('td', { class: 'empty', attrs: { colspan: 8 }, i18n: 'webhooks.noDeliveries' })));
      return;
    }
    // Newest first: the first row of a delivery is its latest attempt, and carries the retry button.
    const seen = new Set<number>();
    replaceChildren(
      attemptRows,
      ...attempts.map((a) => {
        const newest = !seen.has(a.delivery_id);
        seen.add(a.delivery_id);
        return attemptRow(a, newest);
      }),
    );
  }

  /** The first page again, as long as what is already shown (so a refresh keeps the pages loaded with "more"). */
  async function loadAttempts(): Promise<void> {
    if (selected === undefined) return;
    const mine = selection;
    const limit = Math.min(MAX_PAGE, Math.max(PAGE_SIZE, attempts.length));
    const page = await api<Page<WebhookAttempt>>('GET', `/webhooks/endpoints/${selected}/deliveries?limit=${limit}`);
    if (mine !== selection) return;
    const seen = JSON.stringify(page);
    attempts = page.items;
    attemptsCursor = page.next_cursor;
    if (seen !== shownAttempts) {
      shownAttempts = seen;
      renderAttempts();
    }
  }

  async function loadMoreAttempts(): Promise<void> {
    if (selected === undefined || !attemptsCursor) return;
    const mine = selection;
    const page = await api<Page<WebhookAttempt>>(
      'GET',
      `/webhooks/endpoints/${selected}/deliveries?limit=${PAGE_SIZE}&cursor=${encodeURIComponent(attemptsCursor)}`,
    );
    if (mine !== selection) return;
    attempts = [...attempts, ...page.items];
    attemptsCursor = page.next_cursor;
    shownAttempts = '';
    renderAttempts();
  }

  function clearSelection(): void {
    selected = undefined;
    selection++;
    attempts = [];
    attemptsCursor = null;
    shownAttempts = '';
    say(deliveriesMessage, '');
    renderAttempts();
    renderDeliveriesHead();
  }

  async function select(id: number): Promise<void> {
    selected = id;
    selection++;
    attempts = [];
    attemptsCursor = null;
    shownAttempts = '';
    say(deliveriesMessage, '');
    renderEndpoints();
    renderDeliveriesHead();
    replaceChildren(attemptRows, h('tr', {}, h('td', { class: 'empty', attrs: { colspan: 8 }, i18n: 'app.loading' })));
    try {
      await loadAttempts();
    } catch (err) {
      say(deliveriesMessage, 'error', errorText(err));
    }
  }

  async function retry(deliveryId: number): Promise<void> {
    try {
      await api('POST', `/webhooks/deliveries/${deliveryId}/retry`);
      say(deliveriesMessage, 'ok', `${t('webhooks.retried')}: #${deliveryId}`);
      await loadAttempts();
    } catch (err) {
      say(deliveriesMessage, 'error', errorText(err));
    }
  }

  more.addEventListener('click', () => loadMoreAttempts().catch((err: unknown) => say(deliveriesMessage, 'error', errorText(err))));
  refresh.addEventListener('click', () =>
    Promise.all([loadEndpoints(), loadAttempts()]).catch((err: unknown) => say(deliveriesMessage, 'error', errorText(err))),
  );

  const element = h(
    'section',
    { class: 'panel panel-webhooks', attrs: { 'aria-labelledby': 'webhooks-title', id: 'webhooks' } },
    h('h2', { i18n: 'webhooks.title', attrs: { id: 'webhooks-title' } }),
    h('p', { class: 'muted small', i18n: 'webhooks.intro' }),
    secretBox,
    h(
      'div',
      { class: 'webhooks-grid' },
      h(
        'div',
        { class: 'webhooks-list' },
        h('h3', { i18n: 'webhooks.listTitle', attrs: { id: 'webhook-list-title' } }),
        h(
          'div',
          { class: 'table-scroll' },
          h(
            'table',
            { class: 'data webhooks-table', attrs: { 'aria-labelledby': 'webhook-list-title' } },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ...(
                  [
                    'webhooks.col.id',
                    'webhooks.col.url',
                    'webhooks.col.events',
                    'webhooks.col.client',
                    'webhooks.col.state',
                    'webhooks.col.failingSince',
                    'webhooks.col.actions',
                  ] as const satisfies readonly LabelKey[]
                ).map((c) => h('th', { attrs: { scope: 'col' }, i18n: c })),
              ),
            ),
            rows,
          ),
        ),
        message,
      ),
      h('div', { class: 'webhooks-create' }, h('h3', { i18n: 'webhooks.createTitle', attrs: { id: 'webhook-create-title' } }), createForm),
    ),
    deliveries,
  );

  // Labels relabel themselves; what carries formatted dates is rebuilt on a language change.
  onLangChange(() => {
    if (!element.isConnected) return;
    for (const when of secretBox.querySelectorAll('time')) when.textContent = dateTime(when.dateTime);
    renderEndpoints();
    renderDeliveriesHead();
    renderAttempts();
  });
  on(['reference'], () => {
    renderClients();
    renderEndpoints();
  });

  // Refresh while the page is shown; stop for good once the panel is gone (signed out).
  const timer = setInterval(() => {
    if (!element.isConnected) return clearInterval(timer);
    if (document.hidden) return;
    Promise.all([loadEndpoints(), loadAttempts()]).catch(() => undefined);
  }, REFRESH_MS);

  renderClients();
  renderEndpoints();
  renderDeliveriesHead();
  renderAttempts();
  loadEndpoints().catch((err: unknown) => say(message, 'error', errorText(err)));
  return element;
}
