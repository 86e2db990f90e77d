/**
 * The temperature record's PDF without a Hangul font: English labels only, characters
 * Helvetica cannot show as "?", one warning however many records, never a crash. Read
 * back with poppler's pdftotext, like the integration test.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { renderTemperaturePdf } from '../../api/reports/temperature-pdf.js';
import type { TemperatureReport } from '../../api/reports/temperature-report.js';
import { resolveOrderLimits } from '../../domain/temperature-profiles.js';
import { createLogger } from '../../lib/logger.js';

const tmp = mkdtempSync(join(tmpdir(), 'uvis-pdf-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const at = (minute: number) => new Date(Date.UTC(2026, 10, 28, 15, minute));
const report: TemperatureReport = {
  limits: resolveOrderLimits({ cargo_class: 'FROZEN' }).limits,
  readings: [
    { recorded_at: at(0), sensor: 'main', temperature_c: -19.5, setpoint_c: -20, door_open: false },
    { recorded_at: at(1), sensor: 'main', temperature_c: -14.2, setpoint_c: -20, door_open: true },
  ],
  summary: {
    generated_at: at(90),
    carrier: 'UVIS',
    dispatch: { id: 4242, status: 'IN_TRANSIT', created_at: at(-5), finished_at: null },
    order: {
      id: 77,
      status: 'IN_TRANSIT',
      client: { id: 1, name: '한빛식품' },
      pickup_address: '서울시 강남구',
      delivery_address: 'Busan',
      cargo_type: 'FROZEN',
      cargo_label: '냉동',
      weight: 500,
    },
    vehicle: { id: 1, license_plate: '12가3456', vehicle_type: 'FREEZER' },
    driver: { id: 1, name: '김기사' },
    profile: { source: 'CARGO_CLASS', code: 'FROZEN', label: '냉동', label_en: 'Frozen', range: '−18 °C or colder (critical above −15 °C)' },
    limits: { min_c: null, max_c: -18, critical_min_c: null, critical_max_c: -15, mkt_max_c: null, mkt_window_s: null },
    readings: {
      count: 2,
      first_at: at(0),
      last_at: at(1),
      sensors: [{ sensor: 'main', readings: 2, first_at: at(0), last_at: at(1), min_c: -19.5, max_c: -14.2, mean_c: -16.85 }],
    },
    mkt: null,
    excursions: [],
  },
};

function pdfText(bytes: Buffer): string {
  const file = join(tmp, `${Math.random().toString(16).slice(2)}.pdf`);
  writeFileSync(file, bytes);
  return execFileSync('pdftotext', ['-enc', 'UTF-8', file, '-'], { encoding: 'utf8' });
}

describe('temperature record PDF without a Hangul font', () => {
  it('prints English labels, "?" for Hangul, flags a critical reading, and warns once', async () => {
    const lines: string[] = [];
    const log = createLogger({
      level: 'warn',
      destination: new Writable({
        write(chunk: Buffer, _encoding, callback) {
          lines.push(chunk.toString('utf8'));
          callback();
        },
      }),
    });
    const options = { fontPath: join(tmp, 'missing.ttf'), fallbackFontPath: null, log };
    const first = await renderTemperaturePdf(report, options);
    const second = await renderTemperaturePdf(report, options);
    for (const pdf of [first, second]) {
      expect(pdf.korean).toBe(false);
      expect(pdf.bytes.subarray(0, 5).toString('latin1')).toBe('%PDF-');
      const text = pdfText(pdf.bytes);
      expect(text).toContain('Temperature record');
      expect(text).toContain('Dispatch #4242');
      expect(text).not.toContain('온도');
      expect(text).toContain('12?3456');
      expect(text).toContain('-18 °C or colder (critical above -15 °C)');
      expect(text).toMatch(/H!/); // -14.2 °C is above the critical -15 °C
    }
    expect(lines.filter((l) => l.includes('English labels only'))).toHaveLength(1);
  });

  it('with the Hangul font (NanumGothic, as CI and the image install) prints Korean labels first', async () => {
    const pdf = await renderTemperaturePdf(report);
    expect(pdf.korean).toBe(true);
    const text = pdfText(pdf.bytes);
    expect(text).toContain('온도 기록 · Temperature record');
    expect(text).toContain('12가3456');
  });
});
