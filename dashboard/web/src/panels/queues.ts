/** Queue health (live counts), a link to Bull Board for admins, and a job status lookup by id. */
import { ApiError, api } from '../api.js';
import { field, h, label, replaceChildren, setOptions } from '../dom.js';
import { errorText } from '../errors.js';
import { count, dateTime, time } from '../format.js';
import type { LabelKey } from '../i18n.js';
import { on, state } from '../store.js';
import type { JobStatus } from '../types.js';

/** Offered for the job lookup until the first counts arrive (then: every queue the server reports). */
const KNOWN_QUEUES = ['orders', 'dispatches', 'locations'];

function jobView(job: JobStatus): HTMLElement {
  const item = (key: LabelKey, value: string | null) => [h('dt', { i18n: key }), h('dd', {}, value ?? '–')];
  return h(
    'dl',
    { class: 'facts job', attrs: { 'data-state': job.state } },
    h('dt', { i18n: 'jobs.state' }),
    h('dd', { attrs: { 'data-role': 'job-state' }, i18n: `jobstate.${job.state}` as LabelKey }),
    ...item('jobs.name', job.name),
    ...item('jobs.attempts', `${job.attempts_made} / ${job.attempts_allowed}`),
    ...item('jobs.created', dateTime(job.created_at)),
    ...item('jobs.processed', dateTime(job.processed_at)),
    ...item('jobs.finished', dateTime(job.finished_at)),
    ...(job.failed_reason ? item('jobs.failedReason', job.failed_reason) : []),
    ...(job.result != null ? [h('dt', { i18n: 'jobs.result' }), h('dd', {}, h('pre', {}, JSON.stringify(job.result, null, 2)))] : []),
  );
}

export function queuesPanel(isAdmin: boolean): HTMLElement {
  const rows = h('tbody');
  const updated = h('p', { class: 'muted small' });

  function render(): void {
    if (state.queuesError && !state.queues) {
      replaceChildren(rows, h('tr', {}, h('td', { class: 'empty', attrs: { colspan: 5 }, i18n: 'queues.unavailable' })));
      return;
    }
    const queues = state.queues?.queues ?? [];
    replaceChildren(
      rows,
      ...queues.map((q) =>
        h(
          'tr',
          { attrs: { 'data-queue': q.name } },
          h(
            'th',
            { attrs: { scope: 'row' } },
            h('span', { i18n: `queue.${q.name}` }),
            h('br'),
            h('code', {}, q.name),
            q.paused ? h('span', { class: 'badge stale', i18n: 'queues.paused' }) : null,
          ),
          h('td', { class: 'num', attrs: { 'data-count': 'waiting' } }, count(q.waiting)),
          h('td', { class: 'num', attrs: { 'data-count': 'active' } }, count(q.active)),
          h('td', { class: `num${q.failed > 0 ? ' alarm' : ''}`, attrs: { 'data-count': 'failed' } }, count(q.failed)),
          h('td', { class: 'num', attrs: { 'data-count': 'delayed' } }, count(q.delayed)),
        ),
      ),
    );
    if (state.queues) replaceChildren(updated, label('queues.updated'), ` ${time(state.queues.at)}`);
    else updated.replaceChildren();
  }

  // --- job lookup
  const queue = h('select', { attrs: { name: 'queue' } });
  const renderQueueChoices = () => {
    const names = state.queues?.queues.map((q) => q.name) ?? KNOWN_QUEUES;
    setOptions(
      queue,
      names.map((q) => ({ value: q, text: '', i18n: `queue.${q}` as const })),
    );
  };
  renderQueueChoices();
  const jobId = h('input', {
    attrs: { name: 'job_id', required: true, pattern: '[A-Za-z0-9_\\-]{1,100}', maxlength: 100, autocomplete: 'off', spellcheck: 'false' },
  });
  const result = h('div', { class: 'job-result', attrs: { 'aria-live': 'polite', id: 'job-result' } });
  const lookup = h(
    'form',
    {
      class: 'stack',
      attrs: { 'aria-labelledby': 'jobs-title', id: 'job-lookup' },
      on: {
        submit: (e) => {
          e.preventDefault();
          void find();
        },
      },
    },
    h('div', { class: 'row' }, field('jobs.queue', queue), field('jobs.id', jobId, 'grow')),
    h('div', { class: 'actions' }, h('button', { attrs: { type: 'submit' }, i18n: 'jobs.submit' })),
  );

  async function find(): Promise<void> {
    try {
      const job = await api<JobStatus>('GET', `/jobs/${encodeURIComponent(queue.value)}/${encodeURIComponent(jobId.value.trim())}`);
      replaceChildren(result, jobView(job));
    } catch (err) {
      replaceChildren(
        result,
        h('p', { class: 'message error' }, err instanceof ApiError && err.status === 404 ? h('span', { i18n: 'jobs.notFound' }) : errorText(err)),
      );
    }
  }

  on(['queues', 'clock'], render);
  on(['queues'], renderQueueChoices);
  render();
  const cols = ['queues.col.queue', 'queues.col.waiting', 'queues.col.active', 'queues.col.failed', 'queues.col.delayed'] as const;
  return h(
    'section',
    { class: 'panel panel-queues', attrs: { 'aria-labelledby': 'queues-title', id: 'queues' } },
    h('h2', { i18n: 'queues.title', attrs: { id: 'queues-title' } }),
    h(
      'div',
      { class: 'table-scroll' },
      h('table', { class: 'data queues-table' }, h('thead', {}, h('tr', {}, ...cols.map((c) => h('th', { attrs: { scope: 'col' }, i18n: c })))), rows),
    ),
    updated,
    // Bull Board has its own sign-in (a cookie session at /admin/login); dispatchers get a read-only board there.
    isAdmin
      ? h(
          'p',
          {},
          h('a', { class: 'button-link', attrs: { href: '/admin/queues', target: '_blank', rel: 'noopener', id: 'bull-board-link' }, i18n: 'queues.board' }),
        )
      : null,
    h('h2', { i18n: 'jobs.title', attrs: { id: 'jobs-title' } }),
    lookup,
    result,
  );
}
