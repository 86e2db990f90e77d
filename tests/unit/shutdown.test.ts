import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../lib/logger.js';
import { Shutdown } from '../../lib/shutdown.js';

const quietLog = () => createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, cb) => cb() }) });

describe('shutdown', () => {
  it('runs every step in order even when one throws and one hangs', async () => {
    const ran: string[] = [];
    const shutdown = new Shutdown(quietLog(), 300)
      .add('first', () => void ran.push('first'))
      .add('throws', () => {
        ran.push('throws');
        throw new Error('boom');
      })
      .add('hangs', () => {
        ran.push('hangs');
        return new Promise<void>(() => {});
      })
      .add('last', async () => void ran.push('last'));
    const started = Date.now();
    const errors = await shutdown.run('test');
    expect(ran).toEqual(['first', 'throws', 'hangs', 'last']);
    expect(errors.map((e) => e.message)).toEqual(['throws: boom', expect.stringMatching(/^hangs: timed out/)]);
    // Bounded: the hanging step got what was left of the budget, the last step still ran.
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('runs once however often it is asked', async () => {
    let runs = 0;
    const shutdown = new Shutdown(quietLog(), 1000).add('count', () => void runs++);
    await Promise.all([shutdown.run('SIGTERM'), shutdown.run('SIGINT')]);
    expect(runs).toBe(1);
  });
});
