/**
 * A dispatch's temperature in the active-dispatches panel: the latest reading against the
 * order's limits (always shown), and, opened on demand, the trip chart (SVG built with
 * createElementNS), the excursions (open ones highlighted) and the corrective-action form.
 *
 * The state is said in words as well as colour: "정상", "경고 · 기준 이탈 (높음)", "위험 · 한계 초과".
 * The open section is kept across re-renders of the list (one element per dispatch), so a note
 * being typed survives a live update.
 */
import { CORRECTIVE_ACTIONS } from '../../../../domain/corrective-actions.js';
import { classifyReading } from '../../../../domain/temperature-profiles.js';
import { api } from '../api.js';
import { loadDispatches, loadExcursions, loadTelemetry } from '../data.js';
import { field, h, label, replaceChildren, setOptions, svg } from '../dom.js';
import { errorText } from '../errors.js';
import { celsius, dateTime, time } from '../format.js';
import { lang, t } from '../i18n.js';
import { state } from '../store.js';
import { keptSections, type KeptSection } from './kept-sections.js';
import type { ActiveDispatch, DispatchLimits, Excursion, TemperatureReading } from '../types.js';

export type TempLevel = 'IN_RANGE' | 'WARNING' | 'CRITICAL';

/** The server's rule (domain/temperature-profiles.ts classifyReading): on a limit is in range; null is no limit, 0 is a limit. */
export function classify(c: number, l: DispatchLimits): { level: TempLevel; side: 'HIGH' | 'LOW' | null } {
  const { side, critical } = classifyReading(c, { min: l.min_c, max: l.max_c, criticalMin: l.critical_min_c, criticalMax: l.critical_max_c });
  if (side === 'IN_RANGE') return { level: 'IN_RANGE', side: null };
  return { level: critical ? 'CRITICAL' : 'WARNING', side };
}

export function limitsText(l: DispatchLimits): string {
  const profile = l.source === 'ORDER' ? t('temp.ownLimits') : ((lang() === 'ko' ? l.label : l.label_en) ?? l.profile ?? '');
  let range: string;
  if (l.min_c !== null && l.max_c !== null) range = `${celsius(l.min_c).replace(' °C', '')} – ${celsius(l.max_c)}`;
  else if (l.max_c !== null) range = `≤ ${celsius(l.max_c)}`;
  else if (l.min_c !== null) range = `≥ ${celsius(l.min_c)}`;
  else range = t('temp.noLimit');
  const critical = [
    l.critical_max_c !== null ? `${t('temp.criticalAbove')} ${celsius(l.critical_max_c)}` : null,
    l.critical_min_c !== null ? `${t('temp.criticalBelow')} ${celsius(l.critical_min_c)}` : null,
  ].filter(Boolean);
  return `${profile} ${range}${critical.length ? ` (${critical.join(', ')})` : ''}`;
}

/** The card's temperature line: latest reading, its state in words, the limits, and the excursion counts. */
export function temperatureSummary(d: ActiveDispatch): HTMLElement {
  const r = d.latest_reading;
  const c = r ? classify(r.temperature_c, d.limits) : null;
  return h(
    'div',
    { class: `temp-summary temp-${c?.level ?? 'NONE'}`, attrs: { 'data-role': 'temperature', 'data-level': c?.level ?? 'NONE' } },
    r && c
      ? h(
          'p',
          { class: 'temp-now' },
          h('strong', { class: 'temp-value', attrs: { 'data-role': 'temperature-value' } }, celsius(r.temperature_c)),
          ' ',
          h(
            'span',
            { class: `temp-state level-${c.level}`, attrs: { 'data-role': 'temperature-state' } },
            c.level === 'IN_RANGE' ? '✓ ' : c.level === 'CRITICAL' ? '‼ ' : '! ',
            label(`temp.${c.level}`),
            c.side ? ' (' : null,
            c.side ? label(`temp.${c.side}`) : null,
            c.side ? ')' : null,
          ),
          ' ',
          h('small', { class: 'muted' }, h('time', { attrs: { datetime: r.recorded_at } }, time(r.recorded_at)), ` · ${t('temp.sensor')} ${r.sensor}`),
        )
      : h('p', { class: 'temp-now muted', i18n: 'temp.none' }),
    h('p', { class: 'temp-limits' }, label('temp.limits'), `: ${limitsText(d.limits)}`),
    d.excursions.open || d.excursions.unresolved
      ? h(
          'p',
          { class: 'temp-excursions' },
          d.excursions.open
            ? h('span', { class: 'badge exc-open', attrs: { 'data-role': 'open-excursions' } }, `⚠ ${t('temp.openCount', { n: d.excursions.open })}`)
            : null,
          ' ',
          d.excursions.unresolved
            ? h(
                'span',
                { class: 'badge exc-unresolved', attrs: { 'data-role': 'unresolved-excursions' } },
                t('temp.unresolvedCount', { n: d.excursions.unresolved }),
              )
            : null,
        )
      : null,
  );
}

// --- the trip chart

const W = 320;
const H = 120;
const PAD = { left: 34, right: 6, top: 6, bottom: 16 };

/** At most ~2 points per pixel column: each bucket keeps its lowest and highest reading, so a spike stays visible. */
function thin(readings: TemperatureReading[], buckets = 300): TemperatureReading[] {
  if (readings.length <= buckets * 2) return readings;
  const size = Math.ceil(readings.length / buckets);
  const out: TemperatureReading[] = [];
  for (let i = 0; i < readings.length; i += size) {
    const slice = readings.slice(i, i + size);
    let lo = slice[0]!;
    let hi = slice[0]!;
    for (const r of slice) {
      if (r.temperature_c < lo.temperature_c) lo = r;
      if (r.temperature_c > hi.temperature_c) hi = r;
    }
    if (lo === hi) out.push(lo);
    else out.push(...(lo.recorded_at < hi.recorded_at ? [lo, hi] : [hi, lo]));
  }
  return out;
}

export function tripChart(readings: TemperatureReading[], limits: DispatchLimits, excursions: Excursion[]): SVGSVGElement {
  const times = readings.map((r) => Date.parse(r.recorded_at));
  const temps = readings.map((r) => r.temperature_c);
  const t0 = Math.min(...times);
  const t1 = Math.max(...times, t0 + 60_000);
  const marks = [limits.min_c, limits.max_c, limits.critical_min_c, limits.critical_max_c].filter((v): v is number => v !== null);
  const lowest = Math.min(...temps);
  const highest = Math.max(...temps);
  let y0 = Math.min(lowest, ...marks);
  let y1 = Math.max(highest, ...marks);
  const pad = Math.max(1, (y1 - y0) * 0.08);
  y0 -= pad;
  y1 += pad;
  const x = (ms: number) => PAD.left + ((ms - t0) / (t1 - t0)) * (W - PAD.left - PAD.right);
  const y = (c: number) => PAD.top + ((y1 - c) / (y1 - y0)) * (H - PAD.top - PAD.bottom);
  const f = (n: number) => n.toFixed(1);

  const bandTop = y(limits.max_c ?? y1);
  const bandBottom = y(limits.min_c ?? y0);
  const children: SVGElement[] = [
    svg('title', {}, t('temp.chartLabel', { n: readings.length, min: celsius(lowest), max: celsius(highest) })),
    svg('rect', { class: 'plot', x: PAD.left, y: PAD.top, width: W - PAD.left - PAD.right, height: H - PAD.top - PAD.bottom }),
  ];
  if (limits.min_c !== null || limits.max_c !== null) {
    children.push(
      svg('rect', {
        class: 'band',
        x: PAD.left,
        y: f(bandTop),
        width: W - PAD.left - PAD.right,
        height: f(Math.max(0, bandBottom - bandTop)),
        'data-role': 'limit-band',
      }),
    );
  }
  for (const e of excursions) {
    const s = Date.parse(e.started_at);
    const end = e.ended_at ? Date.parse(e.ended_at) : t1;
    if (end < t0 || s > t1) continue;
    const xs = x(Math.max(s, t0));
    children.push(
      svg('rect', {
        class: `excursion-span status-${e.status}`,
        x: f(xs),
        y: PAD.top,
        width: f(Math.max(1, x(Math.min(end, t1)) - xs)),
        height: H - PAD.top - PAD.bottom,
      }),
    );
  }
  for (const [value, cls] of [
    [limits.max_c, 'limit'],
    [limits.min_c, 'limit'],
    [limits.critical_max_c, 'limit critical'],
    [limits.critical_min_c, 'limit critical'],
  ] as const) {
    if (value === null) continue;
    children.push(svg('line', { class: cls, x1: PAD.left, x2: W - PAD.right, y1: f(y(value)), y2: f(y(value)) }));
    children.push(svg('text', { class: 'axis', x: PAD.left - 3, y: f(y(value) + 3), 'text-anchor': 'end' }, celsius(value).replace(' °C', '°')));
  }
  const sensors = [...new Set(readings.map((r) => r.sensor))];
  sensors.forEach((sensor, i) => {
    const points = thin(readings.filter((r) => r.sensor === sensor))
      .map((r) => `${f(x(Date.parse(r.recorded_at)))},${f(y(r.temperature_c))}`)
      .join(' ');
    children.push(svg('polyline', { class: `trace trace-${i % 3}`, points, 'data-sensor': sensor, 'data-role': 'trace' }));
  });
  children.push(
    svg('text', { class: 'axis', x: PAD.left, y: H - 3 }, time(new Date(t0).toISOString())),
    svg('text', { class: 'axis', x: W - PAD.right, y: H - 3, 'text-anchor': 'end' }, time(new Date(t1).toISOString())),
  );
  return svg(
    'svg',
    {
      class: 'trip-chart',
      viewBox: `0 0 ${W} ${H}`,
      role: 'img',
      'aria-label': t('temp.chartLabel', { n: readings.length, min: celsius(lowest), max: celsius(highest) }),
      'data-role': 'trip-chart',
    },
    ...children,
  );
}

// --- excursions and the action form

function excursionText(e: Excursion): string {
  return `#${e.id} ${t(`exc.kind.${e.kind}`)} · ${t(`exc.severity.${e.severity}`)} · ${t(`exc.status.${e.status}`)} · ${dateTime(e.started_at)}`;
}

function excursionItem(e: Excursion): HTMLLIElement {
  const minutes = Math.round(e.duration_s / 60);
  return h(
    'li',
    {
      class: `excursion status-${e.status} severity-${e.severity}`,
      attrs: { 'data-excursion-id': e.id, 'data-status': e.status, 'data-severity': e.severity },
    },
    h(
      'div',
      { class: 'excursion-head' },
      h('span', { class: `badge exc-${e.status === 'OPEN' ? 'open' : 'closed'}` }, e.status === 'OPEN' ? '⚠ ' : '', label(`exc.status.${e.status}`)),
      ' ',
      h('span', { class: `badge severity-${e.severity}` }, label(`exc.severity.${e.severity}`)),
      ' ',
      h('strong', {}, label(`exc.kind.${e.kind}`)),
      ` #${e.id} · ${e.sensor}`,
    ),
    h(
      'div',
      { class: 'excursion-facts' },
      h('time', { attrs: { datetime: e.started_at } }, dateTime(e.started_at)),
      ' – ',
      e.ended_at ? h('time', { attrs: { datetime: e.ended_at } }, dateTime(e.ended_at)) : '…',
      ` · ${t('exc.duration')} ${t('exc.minutes', { n: minutes })}`,
      e.peak_c !== null ? ` · ${t('exc.peak')} ${celsius(e.peak_c)}` : '',
    ),
    e.actions.length
      ? h(
          'ul',
          { class: 'excursion-actions', attrs: { 'data-role': 'actions' } },
          ...e.actions.map((a) =>
            h(
              'li',
              { attrs: { 'data-action': a.action } },
              h('time', { attrs: { datetime: a.at } }, dateTime(a.at)),
              ' ',
              h('strong', {}, label(`action.${a.action}`)),
              a.note ? h('span', { class: 'note' }, ` · ${a.note}`) : null,
            ),
          ),
        )
      : h('p', { class: 'muted small-text', i18n: 'exc.noAction' }),
  );
}

function makeSection(dispatchId: number): KeptSection {
  let current: ActiveDispatch | undefined;
  const content = h('div', { class: 'temp-content' });
  const message = h('div', { class: 'message', attrs: { role: 'status', 'aria-live': 'polite', 'data-role': 'action-result' } });
  // data-key: the list keeps focus on these when it re-renders under a live update.
  const excursion = h('select', { attrs: { name: 'excursion_id', required: true, 'data-key': `action-excursion-${dispatchId}` } });
  const action = h('select', { attrs: { name: 'action', required: true, 'data-key': `action-action-${dispatchId}` } });
  const note = h('textarea', { attrs: { name: 'note', rows: 2, maxlength: 1000, 'data-key': `action-note-${dispatchId}` } });
  const form = h(
    'form',
    {
      class: 'stack action-form',
      attrs: { 'data-role': 'action-form' },
      i18nAttrs: { 'aria-label': 'actionForm.title' },
      on: {
        submit: (e) => {
          e.preventDefault();
          void submit();
        },
      },
    },
    h('h4', { i18n: 'actionForm.title' }),
    field('actionForm.excursion', excursion),
    field('actionForm.action', action),
    field('actionForm.note', note),
    h('div', { class: 'actions' }, h('button', { attrs: { type: 'submit', 'data-key': `action-submit-${dispatchId}` }, i18n: 'actionForm.submit' })),
    message,
  );
  form.hidden = true;
  setOptions(action, [
    { value: '', text: '', i18n: 'actionForm.choose' },
    ...CORRECTIVE_ACTIONS.map((a) => ({ value: a, text: '', i18n: `action.${a}` as const })),
  ]);

  async function submit(): Promise<void> {
    const buttons = form.querySelectorAll('button');
    for (const b of buttons) b.disabled = true;
    form.setAttribute('aria-busy', 'true');
    message.className = 'message';
    try {
      const body: Record<string, unknown> = { action: action.value };
      if (note.value.trim()) body.note = note.value.trim();
      await api('POST', `/excursions/${Number(excursion.value)}/actions`, body);
      message.className = 'message ok';
      replaceChildren(message, t('actionForm.done'));
      note.value = '';
      action.value = '';
      await Promise.allSettled([loadExcursions(dispatchId), loadDispatches()]);
    } catch (err) {
      message.className = 'message error';
      replaceChildren(message, errorText(err));
    } finally {
      for (const b of buttons) b.disabled = false;
      form.removeAttribute('aria-busy');
    }
  }

  const element = h(
    'details',
    {
      class: 'temp-details',
      attrs: { 'data-role': 'temperature-details' },
      on: {
        toggle: () => {
          if (element.open) {
            if (!state.telemetry.has(dispatchId)) render();
            void loadTelemetry(dispatchId);
          }
        },
      },
    },
    h('summary', { i18n: 'temp.details' }),
    // The form stays in place while the content above it is rebuilt, so what is typed is kept.
    h('div', { class: 'temp-body' }, content, form),
  );

  function render(): void {
    if (!current) return;
    const data = state.telemetry.get(dispatchId);
    if (!data || (data.loading && data.readings.length === 0 && data.excursions.length === 0)) {
      replaceChildren(content, h('p', { class: 'muted', i18n: 'temp.loading' }));
      return;
    }
    setOptions(excursion, [
      ...[...data.excursions]
        // Those needing attention first: open, then without an action.
        .sort((a, b) => Number(b.status === 'OPEN') - Number(a.status === 'OPEN') || Number(!b.actions.length) - Number(!a.actions.length) || a.id - b.id)
        .map((e) => ({ value: String(e.id), text: excursionText(e) })),
    ]);
    form.hidden = data.excursions.length === 0;
    replaceChildren(
      content,
      data.error ? h('p', { class: 'message error' }, errorText(data.error)) : null,
      data.readings.length ? tripChart(data.readings, current.limits, data.excursions) : h('p', { class: 'muted', i18n: 'temp.chartEmpty' }),
      data.truncated ? h('p', { class: 'muted small-text' }, t('temp.truncated', { n: data.readings.length })) : null,
      h('h4', { i18n: 'exc.title' }),
      data.excursions.length
        ? h('ol', { class: 'excursions', attrs: { 'data-role': 'excursions' } }, ...data.excursions.map(excursionItem))
        : h('p', { class: 'muted', i18n: 'exc.none' }),
    );
  }

  return {
    element,
    update: (d) => {
      current = d;
      if (element.open) render();
    },
  };
}

const kept = keptSections(makeSection, 'telemetry');
/** The dispatch's (kept) section, brought up to date. */
export const temperatureSection = kept.section;
/** Open sections re-render when their data arrives; sections of dispatches no longer listed are dropped. */
export const watchTemperatureSections = kept.watch;
