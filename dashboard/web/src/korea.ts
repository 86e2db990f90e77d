/**
 * A plot of South Korea without map tiles: a hand-written, approximate outline (a few
 * dozen coastline points, [latitude, longitude]) and the district centres of
 * data/kr-districts.csv, bundled at build time. Good enough to see where vehicles are
 * (Seoul from Busan, the west coast from the east); not for navigation.
 */
import districtsCsv from '../../../data/kr-districts.csv?raw';

type LatLng = readonly [number, number];

/** Clockwise from the west end of the border (Han River estuary) along the border, down the east coast, west along the south coast, up the west coast. */
// prettier-ignore
const MAINLAND: LatLng[] = [
  [37.75, 126.52], [37.95, 126.68], [38.1, 126.95], [38.25, 127.2], [38.3, 127.6], [38.32, 128.0], [38.45, 128.25], [38.61, 128.36],
  [38.38, 128.5], [38.2, 128.6], [37.9, 128.8], [37.75, 128.92], [37.52, 129.12], [37.43, 129.19], [37.1, 129.37], [36.99, 129.42],
  [36.65, 129.46], [36.41, 129.39], [36.2, 129.37], [36.03, 129.4], [36.08, 129.57], [35.95, 129.55], [35.8, 129.48], [35.55, 129.45],
  [35.35, 129.33], [35.2, 129.23], [35.1, 129.13], [35.05, 129.02],
  [35.08, 128.88], [35.02, 128.8], [34.85, 128.7], [34.72, 128.6], [34.83, 128.42], [34.92, 128.1], [34.75, 127.95], [34.9, 127.75],
  [34.7, 127.75], [34.6, 127.5], [34.5, 127.3], [34.6, 127.1], [34.45, 126.9], [34.32, 126.75], [34.3, 126.53], [34.45, 126.3],
  [34.7, 126.3], [34.8, 126.4], [35.0, 126.35], [35.25, 126.4], [35.45, 126.45], [35.6, 126.48], [35.8, 126.65], [35.98, 126.62],
  [36.1, 126.63], [36.33, 126.53], [36.5, 126.4], [36.6, 126.3], [36.75, 126.13], [36.9, 126.2], [37.0, 126.4], [36.98, 126.7],
  [36.92, 126.9], [37.05, 126.85], [37.15, 126.7], [37.3, 126.65], [37.45, 126.6], [37.6, 126.55],
];

// prettier-ignore
const JEJU: LatLng[] = [
  [33.52, 126.52], [33.56, 126.75], [33.5, 126.93], [33.43, 126.93], [33.32, 126.82], [33.25, 126.57], [33.23, 126.3], [33.28, 126.16],
  [33.38, 126.2], [33.47, 126.33],
];

// The plotted area, and an equirectangular projection scaled for latitude 36° (east-west degrees are shorter there).
const NORTH = 38.75;
const SOUTH = 33.0;
const WEST = 124.6;
const EAST = 130.0;
const SCALE = 100;
const X_SCALE = SCALE * Math.cos((36 * Math.PI) / 180);

export const VIEW_WIDTH = Math.round((EAST - WEST) * X_SCALE);
export const VIEW_HEIGHT = Math.round((NORTH - SOUTH) * SCALE);

export function project(lat: number, lng: number): { x: number; y: number } {
  const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
  // Points outside the plot (a bad fix, Ulleungdo) are pinned to its edge rather than lost.
  return { x: clamp((lng - WEST) * X_SCALE, 0, VIEW_WIDTH), y: clamp((NORTH - lat) * SCALE, 0, VIEW_HEIGHT) };
}

function pathOf(points: LatLng[]): string {
  return (
    points
      .map(([lat, lng], i) => {
        const { x, y } = project(lat, lng);
        return `${i === 0 ? 'M' : 'L'}${x.toFixed(1)} ${y.toFixed(1)}`;
      })
      .join(' ') + ' Z'
  );
}

export const OUTLINES: string[] = [pathOf(MAINLAND), pathOf(JEJU)];

export interface DistrictPoint {
  name: string;
  lat: number;
  lng: number;
}

export const DISTRICTS: DistrictPoint[] = districtsCsv
  .trim()
  .split(/\r?\n/)
  .slice(1)
  .map((row) => row.split(','))
  .filter((cols) => cols.length >= 4)
  .map(([sido, sigungu, lat, lng]) => ({ name: `${sido} ${sigungu}`, lat: Number(lat), lng: Number(lng) }));
