/** Vehicles on a plot of South Korea, and the same as a table (readable without the picture, and by keyboard). */
import { h, label, replaceChildren, svg } from '../dom.js';
import { age, dateTime } from '../format.js';
import { DISTRICTS, OUTLINES, VIEW_HEIGHT, VIEW_WIDTH, project } from '../korea.js';
import { on, serverNow, state } from '../store.js';
import type { VehiclePosition } from '../types.js';

type Freshness = 'fresh' | 'stale' | 'never';

function freshness(p: VehiclePosition): Freshness {
  if (!p.recorded_at || p.latitude === null || p.longitude === null) return 'never';
  return serverNow() - new Date(p.recorded_at).getTime() > state.staleAfterMs ? 'stale' : 'fresh';
}

const LABEL_WIDTH = 64;
const LABEL_HEIGHT = 13;

/** Label offsets so that plates of vehicles close together do not print over each other. */
function labelOffsets(points: { x: number; y: number }[]): number[] {
  const placed: { x: number; y: number }[] = [];
  return points.map(({ x, y }) => {
    let dy = 4;
    while (placed.some((q) => Math.abs(q.x - x) < LABEL_WIDTH && Math.abs(q.y - (y + dy)) < LABEL_HEIGHT)) dy += LABEL_HEIGHT;
    placed.push({ x, y: y + dy });
    return dy;
  });
}

function marker(p: VehiclePosition, fresh: Freshness, labelDy: number): SVGGElement {
  const { x, y } = project(p.latitude!, p.longitude!);
  const who = p.driver_name ? ` · ${p.driver_name}` : '';
  return svg(
    'g',
    {
      class: `marker ${fresh}`,
      transform: `translate(${x.toFixed(1)} ${y.toFixed(1)})`,
      'data-vehicle-id': p.vehicle_id,
      'data-lat': p.latitude!,
      'data-lng': p.longitude!,
      'data-state': fresh,
    },
    svg('title', {}, `${p.license_plate}${who} · ${age(serverNow() - new Date(p.recorded_at!).getTime())}`),
    svg('circle', { r: 7 }),
    labelDy !== 4 ? svg('line', { class: 'leader', x1: 6, y1: 0, x2: 10, y2: labelDy - 4 }) : null,
    svg('text', { x: 10, y: labelDy }, p.license_plate),
  );
}

export function mapPanel(): HTMLElement {
  const markers = svg('g', { class: 'markers' });
  const plot = svg(
    'svg',
    { class: 'korea', viewBox: `0 0 ${VIEW_WIDTH} ${VIEW_HEIGHT}`, role: 'img', 'aria-labelledby': 'map-caption', preserveAspectRatio: 'xMidYMid meet' },
    svg('rect', { class: 'sea', x: 0, y: 0, width: VIEW_WIDTH, height: VIEW_HEIGHT, rx: 8 }),
    ...OUTLINES.map((d) => svg('path', { class: 'land', d })),
    svg(
      'g',
      { class: 'districts' },
      ...DISTRICTS.map((d) => {
        const { x, y } = project(d.lat, d.lng);
        return svg('circle', { class: 'district', cx: x.toFixed(1), cy: y.toFixed(1), r: 2.2 }, svg('title', {}, d.name));
      }),
    ),
    markers,
  );
  const rows = h('tbody');
  const table = h(
    'table',
    { class: 'data vehicles-table' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { attrs: { scope: 'col' }, i18n: 'map.col.vehicle' }),
        h('th', { attrs: { scope: 'col' }, i18n: 'map.col.driver' }),
        h('th', { attrs: { scope: 'col' }, i18n: 'map.col.reported' }),
        h('th', { attrs: { scope: 'col' }, i18n: 'map.col.state' }),
      ),
    ),
    rows,
  );

  function render(): void {
    const vehicles = [...state.positions.values()].sort((a, b) => a.license_plate.localeCompare(b.license_plate));
    const plotted = vehicles.filter((p) => freshness(p) !== 'never');
    // Fresh markers last, so they are drawn on top of stale ones.
    plotted.sort((a, b) => (freshness(a) === 'fresh' ? 1 : 0) - (freshness(b) === 'fresh' ? 1 : 0));
    const offsets = labelOffsets(plotted.map((p) => project(p.latitude!, p.longitude!)));
    markers.replaceChildren(...plotted.map((p, i) => marker(p, freshness(p), offsets[i]!)));
    replaceChildren(
      rows,
      ...vehicles.map((p) => {
        const fresh = freshness(p);
        const reported = p.recorded_at ? age(serverNow() - new Date(p.recorded_at).getTime()) : '–';
        return h(
          'tr',
          { attrs: { 'data-vehicle-id': p.vehicle_id, 'data-state': fresh } },
          h('td', {}, h('strong', {}, p.license_plate), h('br'), h('small', { i18n: `vtype.${p.vehicle_type}` })),
          h('td', {}, p.driver_name ?? '–'),
          h('td', {}, h('span', { attrs: { title: dateTime(p.recorded_at) } }, reported)),
          h('td', {}, h('span', { class: `badge ${fresh}`, i18n: fresh === 'fresh' ? 'map.fresh' : fresh === 'stale' ? 'map.stale' : 'map.never' })),
        );
      }),
    );
  }

  on(['positions', 'clock'], render);
  render();
  return h(
    'section',
    { class: 'panel panel-map', attrs: { 'aria-labelledby': 'map-title', id: 'map' } },
    h('h2', { i18n: 'map.title', attrs: { id: 'map-title' } }),
    h(
      'figure',
      { class: 'map-figure' },
      plot,
      h('figcaption', { attrs: { id: 'map-caption' } }, label('map.caption'), ' · ', h('span', { class: 'legend-stale', i18n: 'map.legendStale' })),
    ),
    h('div', { class: 'table-scroll' }, table),
  );
}
