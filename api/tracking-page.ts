/**
 * The public tracking page of an order (issue 16 item 5; DESIGN.md "Shippers"): `GET /track/:token`
 * is a page (Korean first) and `GET /api/v1/track/:token` the same facts as JSON (routes/tracking.ts,
 * where staff and the order's shipper also rotate or revoke the link).
 *
 * What is shown is domain/tracking.ts's rule, and db/tracking.ts selects nothing else: the
 * order number, cargo class, status timeline (what and when, to the minute), a position
 * rounded to about a kilometre while the cargo is on board, and whether the temperature stayed
 * in range. An unknown, malformed or revoked token is a 404 like any missing page: a token
 * cannot be told from a never-issued one.
 */
import type { Express, RequestHandler } from 'express';
import { CARGO_INFO } from '../domain/cargo.js';
import { POSITION_SHOWN_WHILE, TRACKING_STATUS_LABELS, coarsePosition, temperatureState, toMinute, type TemperatureState } from '../domain/tracking.js';
import { latestPosition, temperatureOutline, trackedOrder, trackingTimeline } from '../db/tracking.js';
import type { Db } from '../db/knex.js';
import { TRACKING_TOKEN_SHAPE } from '../lib/tracking-token.js';
import type { AppDeps } from './deps.js';

type Status = keyof typeof TRACKING_STATUS_LABELS;

export interface TrackingViewData {
  order_id: number;
  cargo: { code: string; label: string };
  status: { code: Status; label: string; label_en: string };
  timeline: { status: Status; label: string; label_en: string; at: Date }[];
  position: { latitude: number; longitude: number; at: Date } | null;
  temperature: { state: TemperatureState; open_excursion: boolean };
}

const labelled = (code: Status) => ({ label: TRACKING_STATUS_LABELS[code].ko, label_en: TRACKING_STATUS_LABELS[code].en });

/** The page's facts for a token; undefined for an unknown or revoked one. */
export async function loadTrackingView(db: Db, token: string): Promise<TrackingViewData | undefined> {
  if (!TRACKING_TOKEN_SHAPE.test(token)) return undefined;
  const order = await trackedOrder(db, token);
  if (!order) return undefined;
  // A cancelled dispatch whose order went back to PENDING (a dispatcher re-planning) is not a cancelled shipment.
  const dispatchStatus = order.dispatch_status === 'CANCELLED' && order.order_status !== 'CANCELLED' ? null : (order.dispatch_status as Status | null);
  const current: Status = dispatchStatus ?? (order.order_status === 'CANCELLED' ? 'CANCELLED' : 'PENDING');
  const [history, fix, temps] = await Promise.all([
    order.dispatch_id === null ? Promise.resolve([]) : trackingTimeline(db, order.dispatch_id),
    order.driver_id !== null && POSITION_SHOWN_WHILE.includes(current as never) ? latestPosition(db, order.driver_id) : Promise.resolve(undefined),
    order.dispatch_id === null ? Promise.resolve({ readings: false, excursions: 0, open: 0 }) : temperatureOutline(db, order.dispatch_id),
  ]);
  return {
    order_id: order.order_id,
    cargo: { code: order.cargo_type, label: CARGO_INFO[order.cargo_type].label },
    status: { code: current, ...labelled(current) },
    timeline: [{ status: 'PENDING' as Status, at: order.created_at }, ...history.map((h) => ({ status: h.status as Status, at: h.at }))].map((h) => ({
      status: h.status,
      ...labelled(h.status),
      at: toMinute(h.at),
    })),
    position: fix ? { ...coarsePosition(fix.latitude, fix.longitude), at: toMinute(fix.recorded_at) } : null,
    temperature: { state: temperatureState(temps), open_excursion: temps.open > 0 },
  };
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const kst = (d: Date) => new Date(d.getTime() + 9 * 3600_000).toISOString().slice(0, 16).replace('T', ' ');

const TEMPERATURE_TEXT: Record<TemperatureState, [string, string]> = {
  NO_RECORD: ['온도 기록 없음', 'No temperature record'],
  IN_RANGE: ['온도 기준 유지', 'Temperature kept within its limits'],
  OUT_OF_RANGE: ['온도 기준 이탈 있음', 'Temperature left its limits'],
};

const STYLE = `body{font-family:system-ui,"Noto Sans KR","Nanum Gothic",sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;color:#1b1f24}
h1{font-size:1.4rem}.en{color:#59636e;font-size:.9em}.status{font-size:1.2rem;font-weight:600}
ol{padding-left:1.2rem}li{margin:.3rem 0}.warn{color:#b42318;font-weight:600}.ok{color:#067647;font-weight:600}`;

/** The page: plain HTML, no script, its style from /track/tracking.css (the CSP allows no inline style). */
export function renderTrackingPage(view: TrackingViewData): string {
  const [tempKo, tempEn] = TEMPERATURE_TEXT[view.temperature.state];
  const tempClass = view.temperature.state === 'OUT_OF_RANGE' ? 'warn' : view.temperature.state === 'IN_RANGE' ? 'ok' : '';
  const items = view.timeline.map((t) => `<li>${escapeHtml(t.label)} <span class="en">${escapeHtml(t.label_en)}</span> · ${kst(t.at)} KST</li>`).join('');
  const position = view.position
    ? `<p>현재 위치(약 1 km 단위) <span class="en">Approximate position (about 1 km)</span>: ${view.position.latitude.toFixed(2)}, ${view.position.longitude.toFixed(2)} · ${kst(view.position.at)} KST</p>`
    : '';
  return `<!doctype html>
<html lang="ko"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex"><title>배송 조회 · Tracking #${view.order_id}</title><link rel="stylesheet" href="/track/tracking.css"></head>
<body><h1>배송 조회 <span class="en">Shipment tracking</span> #${view.order_id}</h1>
<p>화물 <span class="en">Cargo</span>: ${escapeHtml(view.cargo.label)} (${escapeHtml(view.cargo.code)})</p>
<p class="status">${escapeHtml(view.status.label)} <span class="en">${escapeHtml(view.status.label_en)}</span></p>
${position}<p class="${tempClass}">${tempKo} <span class="en">${tempEn}</span></p>
<h2>진행 기록 <span class="en">Timeline</span></h2><ol>${items}</ol></body></html>`;
}

/** Mounts the page beside the API (rate-limited like every route without sign-in by the caller's middleware). */
export function mountTrackingPage(app: Express, deps: AppDeps, limit: RequestHandler): void {
  app.get('/track/tracking.css', limit, (_req, res) => {
    res.set({ 'Content-Type': 'text/css; charset=utf-8', 'Cache-Control': 'public, max-age=3600' }).send(STYLE);
  });
  app.get('/track/:token', limit, async (req, res) => {
    const view = await loadTrackingView(deps.db, String(req.params.token));
    res.set({ 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer', 'X-Robots-Tag': 'noindex' });
    if (!view) {
      res
        .status(404)
        .type('html')
        .send(
          '<!doctype html><html lang="ko"><head><meta charset="utf-8"><title>404</title></head><body><p>조회할 수 없는 링크입니다. <span>This tracking link is unknown or no longer valid.</span></p></body></html>',
        );
      return;
    }
    res.status(200).type('html').send(renderTrackingPage(view));
  });
}
