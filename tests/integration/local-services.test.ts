/** The start and test commands start private PostgreSQL and Redis servers when none answers. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureDatabase } from '../../db/ensure-database.js';
import { ensurePostgres, ensureRedis, portAnswers } from '../../lib/local-services.js';
import { freePort } from '../helpers/private-redis.js';

const root = mkdtempSync(join(tmpdir(), 'uvis-local-'));
const stops: (() => void)[] = [];
afterAll(() => {
  for (const stop of stops) {
    try {
      stop();
    } catch {
      // already stopped
    }
  }
  rmSync(root, { recursive: true, force: true });
});

describe('local services', () => {
  it('reports an already running server as running', async () => {
    expect(await ensureRedis('redis://127.0.0.1:6379', root)).toBe('running');
  });

  it('starts a private Redis with append-only persistence and noeviction', async () => {
    const port = await freePort();
    expect(await ensureRedis(`redis://127.0.0.1:${port}`, root)).toBe('started');
    const redis = new Redis(`redis://127.0.0.1:${port}`);
    stops.push(() => execFileSync('redis-cli', ['-p', String(port), 'shutdown', 'nosave']));
    expect(await redis.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
    expect(await redis.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
    redis.disconnect();
  });

  it('initialises and starts a private PostgreSQL, then creates the database', async () => {
    const port = await freePort();
    const url = `postgres://postgres@127.0.0.1:${port}/uvis_local`;
    expect(await ensurePostgres(url, root)).toBe('started');
    // SIGINT is PostgreSQL's fast shutdown; the postmaster's pid is the first line of postmaster.pid.
    stops.push(() => process.kill(Number(readFileSync(join(root, `postgres-${port}`, 'postmaster.pid'), 'utf8').split('\n')[0]), 'SIGINT'));
    expect(await portAnswers('127.0.0.1', port)).toBe(true);
    expect(await ensureDatabase(url)).toBe(true);
    expect(await ensureDatabase(url)).toBe(false);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const { rows } = await client.query(`select pg_encoding_to_char(encoding) as enc, datctype from pg_database where datname = 'uvis_local'`);
    await client.end();
    expect(rows[0]).toEqual({ enc: 'UTF8', datctype: 'C.UTF-8' });
  }, 60_000);
});
