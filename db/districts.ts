/** Loads data/kr-districts.csv once: approximate centre points of Korean cities and districts. */
import { readFileSync } from 'node:fs';
import type { District } from '../domain/geo.js';
import { projectPath } from '../lib/paths.js';

let cached: District[] | undefined;

export function districts(): District[] {
  if (cached) return cached;
  const csv = readFileSync(projectPath('data', 'kr-districts.csv'), 'utf8');
  const [, ...rows] = csv.trim().split(/\r?\n/);
  cached = rows.map((row) => {
    const [sido, sigungu, lat, lng] = row.split(',');
    return { sido: sido!, sigungu: sigungu!, lat: Number(lat), lng: Number(lng) };
  });
  return cached;
}
