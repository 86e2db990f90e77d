/**
 * The printable temperature record (PDF, pdfkit): what a shipper or food-safety inspector
 * asks for after a trip (HACCP, FSMA 21 CFR 1.908(e)): carrier, dispatch, order, vehicle,
 * driver, profile and limits, min/max/mean, excursions with their corrective actions
 * (who, when), every reading, the time it was generated, page numbers.
 *
 * Labels are Korean first ("온도 기록 · Temperature record"), which needs a TrueType font
 * with Hangul: REPORT_FONT_PATH, else Debian's fonts-nanum NanumGothic. Without one the
 * record is printed with English labels only and characters the built-in Helvetica cannot
 * show become "?" (a warning is logged once): a record in English beats no record.
 *
 * Times are Korea Standard Time (UTC+9; Korea keeps no daylight saving time), labelled KST.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import PDFDocument from 'pdfkit';
import { classifyReading } from '../../domain/temperature-profiles.js';
import type { Logger } from '../../lib/logger.js';
import type { TemperatureReport } from './temperature-report.js';

export const DEFAULT_REPORT_FONT = '/usr/share/fonts/truetype/nanum/NanumGothic.ttf';

interface Fonts {
  regular: Buffer;
  bold: Buffer;
  path: string;
}

const fontCache = new Map<string, Fonts | null>();
let warned = false;

/** The Hangul fonts (regular and, when beside it, bold), read once per path; null when none is found. */
function loadFonts(configured: string | undefined, fallback: string | null, log?: Logger): Fonts | null {
  const key = `${configured ?? ''}\0${fallback ?? ''}`;
  const cached = fontCache.get(key);
  if (cached !== undefined) return cached;
  let fonts: Fonts | null = null;
  for (const path of [configured, fallback]) {
    if (!path || !existsSync(path)) continue;
    try {
      const regular = readFileSync(path);
      const boldPath = join(dirname(path), path.replace(/^.*\//, '').replace(/\.ttf$/i, 'Bold.ttf'));
      const bold = boldPath !== path && existsSync(boldPath) ? readFileSync(boldPath) : regular;
      fonts = { regular, bold, path };
      break;
    } catch {
      // Unreadable: try the next one.
    }
  }
  if ((!fonts || (configured && fonts.path !== configured)) && !warned) {
    warned = true;
    log?.warn(
      { configured: configured ?? null, used: fonts?.path ?? null },
      fonts
        ? 'REPORT_FONT_PATH not found; the temperature record uses the default Hangul font'
        : 'no font with Hangul found (set REPORT_FONT_PATH or install fonts-nanum): temperature records are printed with English labels only',
    );
  }
  fontCache.set(key, fonts);
  return fonts;
}

const KST_MS = 9 * 3600_000;
/** 2026-11-29 20:08:00 (KST). No Intl per reading: 1,440 of them must stay cheap. */
export const kst = (d: Date) => new Date(d.getTime() + KST_MS).toISOString().slice(0, 19).replace('T', ' ');
const kstTime = (d: Date) => new Date(d.getTime() + KST_MS).toISOString().slice(5, 19).replace('T', ' ');

const c = (v: number | null) => (v === null ? '—' : `${v.toFixed(1)} °C`);
function duration(s: number): string {
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h} h ${m} min` : m ? `${m} min ${s % 60} s` : `${s} s`;
}

export interface PdfOptions {
  /** REPORT_FONT_PATH: a TrueType font with Hangul; a file named like it with "Bold" appended is the bold face. */
  fontPath?: string;
  /** Tried when fontPath is unset or missing; null tries nothing (tests of the English fallback). */
  fallbackFontPath?: string | null;
  log?: Logger;
}

export interface RenderedPdf {
  bytes: Buffer;
  pages: number;
  /** Whether Korean labels were printed (a Hangul font was found). */
  korean: boolean;
}

export async function renderTemperaturePdf(report: TemperatureReport, options: PdfOptions = {}): Promise<RenderedPdf> {
  const fonts = loadFonts(options.fontPath, options.fallbackFontPath === undefined ? DEFAULT_REPORT_FONT : options.fallbackFontPath, options.log);
  const korean = fonts !== null;
  const s = report.summary;
  const doc = new PDFDocument({
    size: 'A4',
    margin: 40,
    bufferPages: true,
    info: { Title: `Temperature record, dispatch ${s.dispatch.id}`, Author: s.carrier, Subject: `Dispatch ${s.dispatch.id}`, CreationDate: s.generated_at },
  });
  const chunks: Buffer[] = [];
  doc.on('data', (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise<void>((resolve, reject) => {
    doc.on('end', resolve);
    doc.on('error', reject);
  });

  if (fonts) {
    doc.registerFont('R', fonts.regular);
    doc.registerFont('B', fonts.bold);
  } else {
    doc.registerFont('R', 'Helvetica');
    doc.registerFont('B', 'Helvetica-Bold');
  }
  /** Korean label first, then English; English alone without a Hangul font. */
  const L = (ko: string, en: string) => (korean ? `${ko} · ${en}` : en);
  /** Text the font can show: U+2212 and dashes as ASCII; without Hangul, anything past Latin-1 as "?". */
  const t = (text: string) => {
    const plain = text.replace(/[\u2212\u2013\u2014]/g, '-');
    return korean ? plain : plain.replace(/[^\t\n -\u00ff]/g, '?');
  };

  const left = doc.page.margins.left;
  const width = doc.page.width - left - doc.page.margins.right;
  const heading = (text: string) => {
    doc.moveDown(0.6).font('B').fontSize(11).text(t(text), left, doc.y, { width });
    doc.moveDown(0.2);
  };
  const field = (label: string, value: string) => {
    doc.font('B').fontSize(9).text(t(label), left, doc.y, { width: 150, continued: false });
    doc.moveUp();
    doc
      .font('R')
      .fontSize(9)
      .text(t(value), left + 155, doc.y, { width: width - 155 });
  };

  // Title and parties.
  doc
    .font('B')
    .fontSize(18)
    .text(t(L('온도 기록', 'Temperature record')), left, doc.page.margins.top, { width });
  doc
    .font('R')
    .fontSize(10)
    .text(t(`${s.carrier} · ${L('배차', 'Dispatch')} #${s.dispatch.id}`), { width });
  doc.moveDown(0.5);
  field(L('운송사', 'Carrier'), s.carrier);
  field(
    L('배차 번호', 'Dispatch no.'),
    `${s.dispatch.id} (${s.dispatch.status}), ${L('배차 시각', 'assigned')} ${kst(s.dispatch.created_at)} KST${s.dispatch.finished_at ? `, ${L('종료', 'finished')} ${kst(s.dispatch.finished_at)} KST` : ''}`,
  );
  field(L('주문', 'Order'), `${s.order.id} (${s.order.status}), ${L('화주', 'shipper')} ${s.order.client.name}`);
  field(L('상차지', 'Pickup'), s.order.pickup_address);
  field(L('하차지', 'Delivery'), s.order.delivery_address);
  field(L('화물', 'Cargo'), `${korean ? `${s.order.cargo_label} ` : ''}${s.order.cargo_type}, ${s.order.weight} kg`);
  field(L('차량', 'Vehicle'), `${s.vehicle.license_plate} (${s.vehicle.vehicle_type})`);
  field(L('기사', 'Driver'), s.driver.name);

  // Profile and limits.
  heading(L('온도 기준', 'Profile and limits'));
  const source = {
    ORDER: L('주문 지정 한계', "order's own limits"),
    PROFILE: L('주문 지정 프로필', 'profile named by the order'),
    CARGO_CLASS: L('화물 종류 기본값', "cargo class's profile"),
  }[s.profile.source];
  field(
    L('프로필', 'Profile'),
    s.profile.code ? `${korean ? `${s.profile.label} ` : ''}${s.profile.label_en} (${s.profile.code}): ${s.profile.range}` : L('주문 지정', 'Custom'),
  );
  field(L('출처', 'Source'), source);
  const lim = s.limits;
  field(
    L('한계', 'Limits'),
    [
      `min ${c(lim.min_c)}`,
      `max ${c(lim.max_c)}`,
      lim.critical_min_c !== null ? `critical below ${c(lim.critical_min_c)}` : null,
      lim.critical_max_c !== null ? `critical above ${c(lim.critical_max_c)}` : null,
      lim.mkt_max_c !== null ? `MKT ≤ ${c(lim.mkt_max_c)} over ${duration(lim.mkt_window_s ?? 0)}` : null,
    ]
      .filter(Boolean)
      .join(', '),
  );

  // Statistics.
  heading(L('측정 요약', 'Readings summary'));
  if (s.readings.count === 0) {
    doc
      .font('R')
      .fontSize(9)
      .text(t(L('이 배차에는 기록된 측정값이 없습니다.', 'No readings were recorded for this dispatch.')), left, doc.y, { width });
  } else {
    field(L('측정 수', 'Readings'), `${s.readings.count}, ${kst(s.readings.first_at!)} – ${kst(s.readings.last_at!)} KST`);
    const cols = [0, 110, 165, 225, 285];
    const row = (cells: string[], bold = false) => {
      const y = doc.y;
      doc.font(bold ? 'B' : 'R').fontSize(9);
      cells.forEach((cell, i) => doc.text(t(cell), left + (cols[i] ?? 0), y, { lineBreak: false, width: 100 }));
      doc.y = y + 13;
    };
    row([L('센서', 'Sensor'), L('수', 'Count'), L('최저', 'Min'), L('최고', 'Max'), L('평균', 'Mean')], true);
    for (const st of s.readings.sensors) row([st.sensor, String(st.readings), c(st.min_c), c(st.max_c), c(st.mean_c)]);
    // The rolling MKT verdict (PHARMA_2_8): the warmest full window per sensor against the limit.
    for (const m of s.mkt ?? []) {
      const verdict = m.within_limit ? L('적합', 'within the limit') : L('초과', 'ABOVE THE LIMIT');
      const window = m.complete_window ? `${duration(m.window_s)}` : L('전체 기록 (기준 시간 미만)', 'whole record, shorter than the window');
      field(
        `MKT ${m.sensor}`,
        `${L('최고', 'highest')} ${c(m.mkt_c)} (${window}: ${kst(m.window_from)} – ${kst(m.window_to)} KST, ${m.readings}), ${L('기준', 'limit')} ≤ ${c(m.limit_c)}: ${verdict}`,
      );
    }
  }

  // Excursions and their corrective actions.
  heading(L('온도 이탈 및 조치', 'Excursions and corrective actions'));
  if (s.excursions.length === 0) {
    doc
      .font('R')
      .fontSize(9)
      .text(t(L('온도 이탈 없음.', 'No excursions.')), left, doc.y, { width });
  }
  for (const e of s.excursions) {
    const span = `${kst(e.started_at)} – ${e.ended_at ? kst(e.ended_at) : L('진행 중', 'ongoing')} KST (${duration(e.duration_s)})`;
    const peak = e.peak_c !== null ? `, peak ${c(e.peak_c)}${e.peak_at ? ` at ${kst(e.peak_at)}` : ''}` : '';
    const extra = [
      e.mean_c !== null ? `mean ${c(e.mean_c)}` : null,
      e.mkt_c !== null ? `MKT ${c(e.mkt_c)}` : null,
      e.door_open_s ? `door open ${duration(e.door_open_s)}` : null,
    ]
      .filter(Boolean)
      .join(', ');
    doc
      .font('B')
      .fontSize(9)
      .text(t(`#${e.id} ${e.kind} ${e.severity} ${e.status}, ${L('센서', 'sensor')} ${e.sensor}: ${span}`), left, doc.y, { width });
    doc
      .font('R')
      .fontSize(9)
      .text(t(`${e.readings} ${L('측정', 'readings')}${peak}${extra ? `, ${extra}` : ''}`), left + 12, doc.y, { width: width - 12 });
    if (e.actions.length === 0) doc.text(t(L('조치 없음', 'No corrective action recorded')), left + 12, doc.y, { width: width - 12 });
    for (const a of e.actions) {
      doc.text(
        t(`${L('조치', 'Action')}: ${a.action}, ${L('담당', 'by')} ${a.by.name ?? `user ${a.by.id ?? '?'}`}, ${kst(a.at)} KST${a.note ? `: ${a.note}` : ''}`),
        left + 12,
        doc.y,
        {
          width: width - 12,
        },
      );
    }
    doc.moveDown(0.3);
  }

  // Every reading, two blocks side by side per page.
  // Too close to the bottom for the heading, the table's header and a few rows: the table starts on a new page.
  if (report.readings.length > 0 && doc.y > doc.page.height - doc.page.margins.bottom - 120) doc.addPage();
  heading(L('전체 측정값 (KST)', 'Every reading (KST)'));
  if (report.readings.length === 0) {
    doc
      .font('R')
      .fontSize(9)
      .text(t(L('측정값 없음.', 'No readings.')), left, doc.y, { width });
  } else {
    doc
      .font('R')
      .fontSize(7.5)
      .text(t(L('표시: H 상한 초과, L 하한 미만, ! 위험 한계 초과', 'Flag: H above max, L below min, ! beyond a critical limit')), left, doc.y, { width });
    doc.moveDown(0.3);
    const rowH = 10.5;
    const bottom = doc.page.height - doc.page.margins.bottom - 14;
    const block = width / 2;
    const o = { time: 0, sensor: 76, temp: 136, set: 166, door: 206, flag: 240 } as const;
    const short = (ko: string, en: string) => (korean ? `${ko} ${en}` : en);
    const header: [string, number][] = [
      [short('시각', 'Time'), o.time],
      [short('센서', 'Sensor'), o.sensor],
      ['°C', o.temp],
      [short('설정', 'Set'), o.set],
      [short('문', 'Door'), o.door],
    ];
    let y = doc.y;
    let top = y;
    let col = 0;
    const drawHeader = (x: number, yy: number) => {
      doc.font('B').fontSize(7.5);
      for (const [h, dx] of header) doc.text(t(h), x + dx, yy, { lineBreak: false });
      doc.font('R');
    };
    drawHeader(left, y);
    y += rowH;
    for (const r of report.readings) {
      if (y > bottom) {
        if (col === 0) {
          col = 1;
          y = top;
        } else {
          doc.addPage();
          col = 0;
          top = doc.page.margins.top;
          y = top;
        }
        drawHeader(left + col * block, y);
        y += rowH;
      }
      const x = left + col * block;
      const k = classifyReading(r.temperature_c, report.limits);
      const flag = k.side === 'IN_RANGE' ? '' : `${k.side === 'HIGH' ? 'H' : 'L'}${k.critical ? '!' : ''}`;
      doc.text(kstTime(r.recorded_at), x + o.time, y, { lineBreak: false });
      doc.text(t(r.sensor.length > 12 ? `${r.sensor.slice(0, 11)}…` : r.sensor), x + o.sensor, y, { lineBreak: false });
      doc.text(r.temperature_c.toFixed(1), x + o.temp, y, { lineBreak: false });
      if (r.setpoint_c !== null) doc.text(r.setpoint_c.toFixed(1), x + o.set, y, { lineBreak: false });
      if (r.door_open !== null) doc.text(r.door_open ? 'open' : '-', x + o.door, y, { lineBreak: false });
      if (flag) doc.text(flag, x + o.flag, y, { lineBreak: false });
      y += rowH;
    }
  }

  // Footer on every page: generated time, dispatch, page x / n.
  const range = doc.bufferedPageRange();
  for (let i = range.start; i < range.start + range.count; i++) {
    doc.switchToPage(i);
    const bottomMargin = doc.page.margins.bottom;
    doc.page.margins.bottom = 0; // writing in the margin must not add a page
    doc
      .font('R')
      .fontSize(7.5)
      .text(
        t(
          `${s.carrier} · ${L('배차', 'Dispatch')} #${s.dispatch.id} · ${L('생성', 'Generated')} ${kst(s.generated_at)} KST · ${L('쪽', 'Page')} ${i + 1} / ${range.count}`,
        ),
        left,
        doc.page.height - bottomMargin + 12,
        { width, align: 'center', lineBreak: false },
      );
    doc.page.margins.bottom = bottomMargin;
  }
  doc.end();
  await done;
  return { bytes: Buffer.concat(chunks), pages: range.count, korean };
}
