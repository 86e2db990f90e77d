import { describe, expect, it } from 'vitest';
import { pgConnection } from '../../backups/pg-tools.js';

describe('pgConnection', () => {
  it('keeps the password off the command line and hands it over in PGPASSWORD', () => {
    const { dbnameArg, env } = pgConnection('postgres://uvis:p%40ss%3Aw0rd@db.internal:5433/uvis?sslmode=require');
    expect(dbnameArg).toBe('--dbname=postgres://uvis@db.internal:5433/uvis?sslmode=require');
    expect(dbnameArg).not.toContain('w0rd');
    expect(env.PGPASSWORD).toBe('p@ss:w0rd');
  });

  it('leaves the environment alone when the URL has no password', () => {
    const { dbnameArg, env } = pgConnection('postgres://postgres@localhost:5432/uvis');
    expect(dbnameArg).toBe('--dbname=postgres://postgres@localhost:5432/uvis');
    expect(env).toBe(process.env);
  });
});
