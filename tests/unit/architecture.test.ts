/** The layer rules hold: no import cycles between files or folders, no SQL outside the data layer. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkArchitecture } from '../../scripts/check-architecture.js';

const scratch = mkdtempSync(join(tmpdir(), 'uvis-architecture-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(scratch, 'tree-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe('architecture', () => {
  it('has no file cycles, no folder cycles and no SQL outside db/, migrations/ and backups/', () => {
    const report = checkArchitecture();
    expect(report.files).toBeGreaterThan(100);
    expect(report.fileCycles).toEqual([]);
    expect(report.folderCycles).toEqual([]);
    expect(report.sqlOutsideDataLayer).toEqual([]);
  });

  it('finds a file cycle made only of type imports, a folder cycle, SQL and table access in routes, jobs and use-cases, and backups/ reaching past its own table', () => {
    const root = tree({
      'backups/storage.ts': "import { local } from './local-storage.js';\nexport interface Storage { name: string }\nexport const all = [local];\n",
      'backups/local-storage.ts': "import type { Storage } from './storage.js';\nexport const local: Storage = { name: 'local' };\n",
      'lib/config.ts': "import { QUEUES } from '../jobs/index.js';\nexport const names = QUEUES;\n",
      'jobs/index.ts':
        "import type { Config } from '../lib/config.js';\nexport const QUEUES = ['a'];\nexport const load = (db: any) => db('orders').where({ id: 1 });\n",
      'api/routes/health.ts': "export const ping = (db: any) => db.raw('select 1');\n// db('orders') in a comment is not SQL\n",
      'db/orders.ts': "export const all = (db: any) => db('orders').select('*');\n",
      'jobs/report.ts': "export const rows = (k: any) =>\n  k\n    .select('*')\n    .from('orders');\nexport const token = Buffer.from('Bearer x');\n",
      'use-cases/audit.ts': "export const write = (q: any) => q.insert({ a: 1 }).into('audit');\n",
      'backups/manifest.ts':
        "export const own = (db: any) => db('backups').select('*');\nexport const other = (db: any) => db('outbox').update({ a: 1 });\nexport const probe = (db: any) => db.raw('select 1');\n",
    });
    const report = checkArchitecture(root);
    expect(report.fileCycles).toEqual([
      ['backups/local-storage.ts', 'backups/storage.ts'],
      ['jobs/index.ts', 'lib/config.ts'],
    ]);
    expect(report.folderCycles).toEqual([['jobs', 'lib']]);
    expect(report.sqlOutsideDataLayer.map((hit) => `${hit.file}:${hit.line}`)).toEqual([
      'api/routes/health.ts:1',
      // backups/ owns only its manifest table (server-level SQL such as a probe is its business).
      'backups/manifest.ts:2',
      'jobs/index.ts:3',
      'jobs/report.ts:4',
      'use-cases/audit.ts:1',
    ]);
  });
});
