/**
 * What the public tracking page (GET /track/:token; issue 16 item 5) may show an order's
 * recipient: the status timeline, an approximate position while the cargo is on board, and
 * whether the temperature stayed in range. Never a name, phone number, plate, address or exact
 * position: the link may be forwarded to anyone.
 */
import type { DispatchStatus } from './dispatch-status.js';

/** 0.01° is about 1.1 km north-south and 0.9 km east-west in Korea: a neighbourhood, not a street. */
export const TRACKING_POSITION_STEP_DEG = 0.01;

/** The position rounded to the grid (and to the grid's decimals, so no float noise reveals more). */
export function coarsePosition(latitude: number, longitude: number): { latitude: number; longitude: number } {
  const round = (x: number) => Number((Math.round(x / TRACKING_POSITION_STEP_DEG) * TRACKING_POSITION_STEP_DEG).toFixed(2));
  return { latitude: round(latitude), longitude: round(longitude) };
}

/** Times on the page are to the minute. */
export const toMinute = (d: Date): Date => new Date(Math.floor(d.getTime() / 60_000) * 60_000);

/** A position is shown only while the cargo is on board. */
export const POSITION_SHOWN_WHILE: readonly DispatchStatus[] = ['PICKED_UP', 'IN_TRANSIT'];

/** Korean first, English beside it. */
export const TRACKING_STATUS_LABELS: Record<DispatchStatus | 'PENDING', { ko: string; en: string }> = {
  PENDING: { ko: '접수', en: 'Received' },
  ASSIGNED: { ko: '배차됨', en: 'Assigned' },
  ACCEPTED: { ko: '수락', en: 'Accepted' },
  PICKED_UP: { ko: '상차 완료', en: 'Picked up' },
  IN_TRANSIT: { ko: '운송 중', en: 'In transit' },
  DELIVERED: { ko: '배송 완료', en: 'Delivered' },
  COMPLETED: { ko: '완료', en: 'Completed' },
  CANCELLED: { ko: '취소', en: 'Cancelled' },
  FAILED: { ko: '실패', en: 'Failed' },
};

/** The temperature line: no record, stayed in range, or not (an excursion, open or closed). */
export type TemperatureState = 'NO_RECORD' | 'IN_RANGE' | 'OUT_OF_RANGE';

export function temperatureState(t: { readings: boolean; excursions: number }): TemperatureState {
  if (!t.readings) return 'NO_RECORD';
  return t.excursions > 0 ? 'OUT_OF_RANGE' : 'IN_RANGE';
}
