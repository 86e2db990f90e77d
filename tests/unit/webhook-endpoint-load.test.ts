/** The per-endpoint limit on webhook attempts in flight (jobs/webhooks.ts): generous while an endpoint answers, tight once it is slow. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EndpointLoad, endpointLimits } from '../../jobs/webhooks.js';

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date('2026-11-29T12:00:00Z'));
});
afterEach(() => {
  vi.useRealTimers();
});

const fill = (load: EndpointLoad, endpointId: number, n: number) => Array.from({ length: n }, () => load.tryStart(endpointId));

describe('webhook endpoint load', () => {
  it('limits: a quarter of the slots while healthy; a quarter, at most 10, once slow', () => {
    expect(endpointLimits(200)).toEqual({ healthy: 50, slow: 10 });
    expect(endpointLimits(8)).toEqual({ healthy: 2, slow: 2 });
    expect(endpointLimits(1)).toEqual({ healthy: 1, slow: 1 });
  });

  it('a healthy endpoint gets up to the healthy limit in flight, and not one more', () => {
    const load = new EndpointLoad(endpointLimits(200));
    expect(fill(load, 1, 50).every((t) => t !== undefined)).toBe(true);
    expect(load.tryStart(1)).toBeUndefined();
    // Another endpoint is not affected.
    expect(load.tryStart(2)).toBeDefined();
  });

  it('once an attempt has been in flight for a second, the endpoint is held to the slow limit', () => {
    const load = new EndpointLoad(endpointLimits(200));
    fill(load, 1, 11);
    vi.advanceTimersByTime(999);
    expect(load.tryStart(1)).toBeDefined(); // 12 in flight, the oldest 999 ms old: still healthy
    vi.advanceTimersByTime(1);
    expect(load.tryStart(1)).toBeUndefined(); // the oldest is 1 s old: over the slow limit of 10
  });

  it('an endpoint whose attempts averaged a second or more stays at the slow limit until it answers quickly again', () => {
    const load = new EndpointLoad(endpointLimits(200));
    for (let i = 0; i < 20; i++) {
      const token = load.tryStart(1)!;
      vi.advanceTimersByTime(3000);
      load.finish(1, token);
    }
    const tokens = fill(load, 1, 11);
    expect(tokens.slice(0, 10).every((t) => t !== undefined)).toBe(true);
    expect(tokens[10]).toBeUndefined();
    for (const t of tokens.slice(0, 10)) load.finish(1, t!);
    // Quick answers bring the average down, and the healthy limit back.
    for (let i = 0; i < 30; i++) load.finish(1, load.tryStart(1)!);
    expect(fill(load, 1, 50).every((t) => t !== undefined)).toBe(true);
  });
});
