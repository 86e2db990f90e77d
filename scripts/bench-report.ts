/**
 * The printable temperature record of a 24-hour trip at one reading a minute (1,440
 * readings, two excursions with actions): ms per PDF (wall and CPU), pages, bytes; and
 * the same trip as CSV. Issue 15 asks for the PDF in under 1 second. Rendering only: the
 * database reads behind it are one indexed range scan of 1,440 rows.
 *   npm run bench:report [-- rounds]    (REPORT_FONT_PATH picks the Hangul font, as in the app)
 * Rounds default to BENCH_REPORT_ROUNDS, else 20: `npm run bench` runs this last and passes no arguments.
 */
import { renderTemperaturePdf } from '../api/reports/temperature-pdf.js';
import { renderTemperatureCsv, type TemperatureReport } from '../api/reports/temperature-report.js';
import { resolveOrderLimits } from '../domain/temperature-profiles.js';

const ROUNDS = Number(process.argv[2] ?? process.env.BENCH_REPORT_ROUNDS ?? 20);
const READINGS = 1440;
const start = Date.UTC(2026, 10, 28, 15, 0, 0); // 00:00 KST
const readings = Array.from({ length: READINGS }, (_, i) => ({
  recorded_at: new Date(start + i * 60_000),
  sensor: 'main',
  temperature_c: i >= 600 && i < 640 ? 12.5 + (i % 7) / 10 : 4 + Math.round(Math.sin(i / 30) * 20) / 10,
  setpoint_c: 4,
  door_open: i >= 600 && i < 620,
}));
const temps = readings.map((r) => r.temperature_c);
const limits = resolveOrderLimits({ cargo_class: 'CHILLED' }).limits;
const at = (minute: number) => new Date(start + minute * 60_000);
const report: TemperatureReport = {
  limits,
  readings,
  summary: {
    generated_at: new Date(),
    carrier: 'UVIS 냉장운송',
    dispatch: { id: 12345, status: 'DELIVERED', created_at: at(-10), finished_at: null },
    order: {
      id: 6789,
      status: 'DELIVERED',
      client: { id: 1, name: '한빛식품' },
      pickup_address: '서울특별시 송파구 문정동 가락시장',
      delivery_address: '부산광역시 해운대구 우동 1',
      cargo_type: 'CHILLED',
      cargo_label: '냉장',
      weight: 3200,
    },
    vehicle: { id: 7, license_plate: '12가3456', vehicle_type: 'REFRIGERATED' },
    driver: { id: 3, name: '김기사' },
    profile: { source: 'CARGO_CLASS', code: 'CHILLED', label: '냉장', label_en: 'Chilled', range: '0 to 10 °C' },
    limits: { min_c: 0, max_c: 10, critical_min_c: null, critical_max_c: null, mkt_max_c: null, mkt_window_s: null },
    readings: {
      count: READINGS,
      first_at: at(0),
      last_at: at(READINGS - 1),
      sensors: [
        {
          sensor: 'main',
          readings: READINGS,
          first_at: at(0),
          last_at: at(READINGS - 1),
          min_c: Math.min(...temps),
          max_c: Math.max(...temps),
          mean_c: Math.round((temps.reduce((a, b) => a + b, 0) / READINGS) * 100) / 100,
        },
      ],
    },
    mkt: null,
    excursions: [1, 2].map((id) => ({
      id,
      sensor: 'main',
      kind: 'HIGH' as const,
      severity: 'WARNING' as const,
      status: 'CLOSED' as const,
      started_at: at(600),
      ended_at: at(640),
      duration_s: 2400,
      peak_c: 13.1,
      peak_at: at(606),
      mean_c: 12.8,
      readings: 40,
      door_open_s: 1200,
      mkt_c: null,
      actions: [{ action: 'CLOSED_DOOR', note: '하차 중 문 열림, 닫고 점검', by: { id: 2, name: '박배차' }, at: at(650) }],
    })),
  },
};

async function time(op: () => Promise<unknown>) {
  await op(); // warm-up (font parsing, JIT)
  const cpu = process.cpuUsage();
  const wall = performance.now();
  for (let i = 0; i < ROUNDS; i++) await op();
  const used = process.cpuUsage(cpu);
  return { wallMs: (performance.now() - wall) / ROUNDS, cpuMs: (used.user + used.system) / 1000 / ROUNDS };
}

const pdf = await renderTemperaturePdf(report, { fontPath: process.env.REPORT_FONT_PATH });
const pdfTime = await time(() => renderTemperaturePdf(report, { fontPath: process.env.REPORT_FONT_PATH }));
const csv = renderTemperatureCsv(readings);
const csvTime = await time(async () => renderTemperatureCsv(readings));
console.log(`Node ${process.version}, ${READINGS} readings (24 h at one a minute), ${ROUNDS} rounds after a warm-up`);
console.log(
  `PDF: ${pdfTime.wallMs.toFixed(1)} ms wall, ${pdfTime.cpuMs.toFixed(1)} ms CPU per record; ${pdf.pages} pages, ${pdf.bytes.length} bytes, ${pdf.korean ? 'Korean labels (Hangul font found)' : 'English labels (no Hangul font)'}`,
);
console.log(`CSV: ${csvTime.wallMs.toFixed(2)} ms per log, ${Buffer.byteLength(csv)} bytes`);
