import { describe, expect, it } from 'vitest';
import { lazy } from '../../lib/lazy.js';

describe('lazy', () => {
  it('makes the value once and shares it, even between concurrent callers', async () => {
    let made = 0;
    const get = lazy(async () => ++made);
    expect(await Promise.all([get(), get(), get()])).toEqual([1, 1, 1]);
    expect(await get()).toBe(1);
  });

  it('does not keep a failure: the next caller tries again', async () => {
    let calls = 0;
    const get = lazy(async () => {
      calls += 1;
      if (calls === 1) throw new Error('bucket unreachable');
      return 'storages';
    });
    await expect(get()).rejects.toThrow('bucket unreachable');
    expect(await get()).toBe('storages');
    expect(calls).toBe(2);
  });
});
