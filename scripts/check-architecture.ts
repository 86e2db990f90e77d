/**
 * Reports what the layer rules forbid, from the source text (type-only imports count:
 * they tie files together just the same):
 *  - import cycles between files,
 *  - import cycles between top-level folders (the layers),
 *  - SQL or knex table access outside the data layer (db/, migrations/), and in backups/
 *    knex access to any table but its own manifest (`backups`).
 *
 * `npm run check:architecture` prints the report and exits 1 when a limit is exceeded
 * (0 file cycles, 0 folder cycles, no SQL outside the data layer). `--json` prints the
 * figures only. ESLint keeps the direction of each import (eslint.config.js); this
 * script sees whole cycles, which a per-import rule cannot.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Application code: the layers and the entry point. Tests, scripts and the browser bundle are outside. */
const SOURCE_FOLDERS = ['domain', 'lib', 'db', 'migrations', 'backups', 'use-cases', 'jobs', 'api', 'dashboard', 'app'];
const SOURCE_FILES = ['main.ts'];
/** The folders allowed to hold SQL and knex table access. */
const DATA_LAYER = new Set(['db', 'migrations']);
/** Folders that own some tables (and may run server-level SQL: pg_dump, scratch databases) but reach no other table. */
const TABLE_OWNERS: Record<string, string[]> = { backups: ['backups'] };
const SKIPPED_DIRS = new Set(['node_modules', 'web', 'static', 'dist']);

export interface ArchitectureReport {
  files: number;
  fileCycles: string[][];
  folderCycles: string[][];
  sqlOutsideDataLayer: { file: string; line: number; text: string }[];
}

function sourceFiles(root: string): string[] {
  const found: string[] = SOURCE_FILES.filter((file) => existsSync(join(root, file)));
  const walk = (dir: string) => {
    for (const name of readdirSync(join(root, dir))) {
      const path = join(dir, name);
      if (statSync(join(root, path)).isDirectory()) {
        if (!SKIPPED_DIRS.has(name)) walk(path);
      } else if (/\.ts$/.test(name) && !name.endsWith('.d.ts')) found.push(path);
    }
  };
  for (const folder of SOURCE_FOLDERS) if (existsSync(join(root, folder))) walk(folder);
  return found.sort();
}

/** Relative imports and re-exports, static and dynamic, type-only included. */
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm;

function importsOf(file: string, source: string): string[] {
  const targets: string[] = [];
  for (const match of source.matchAll(IMPORT)) {
    const target = normalize(join(dirname(file), match[1]!)).replace(/\.js$/, '.ts');
    targets.push(target);
  }
  return targets;
}

/** Strongly connected components with more than one member, or a member importing itself (Tarjan). */
function cycles(graph: Map<string, Set<string>>): string[][] {
  let index = 0;
  const stack: string[] = [];
  const onStack = new Set<string>();
  const indexes = new Map<string, number>();
  const low = new Map<string, number>();
  const found: string[][] = [];
  const visit = (node: string) => {
    indexes.set(node, index);
    low.set(node, index);
    index += 1;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!indexes.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, indexes.get(next)!));
      }
    }
    if (low.get(node) === indexes.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || graph.get(node)?.has(node)) found.push(component.sort());
    }
  };
  for (const node of [...graph.keys()].sort()) if (!indexes.has(node)) visit(node);
  return found;
}

const folderOf = (file: string) => (file.includes('/') ? file.split('/')[0]! : '(root)');

/**
 * Knex table access, naming the table: `db('orders')`, `trx('users as u')`, and the
 * builder forms `.from('orders')`, `.into('orders')`, `.table('orders')` (also on a line
 * of their own, as a chain continues). `Buffer.from(` and `Array.from(` are not queries.
 */
const TABLE_ACCESS = [
  /\b(?:db|trx|knex|tx\.trx|this\.db|deps\.db|ctx\.db)\s*\(\s*['"`](\w+)/,
  /(?<!\b(?:Buffer|Array|Uint8Array|Object))\.(?:from|into|table)\s*\(\s*['"`](\w+)/,
];
/**
 * SQL in a string or template (a statement keyword followed by its clause), raw SQL
 * (`.raw(`, `.whereRaw(`...) and row locks.
 */
const SQL_PATTERNS = [
  /['"`]\s*(select\s.+\sfrom\s|insert\s+into\s|update\s+\w+\s+set\s|delete\s+from\s|with\s+\w+\s+as\s*\()/i,
  /\.(raw|whereRaw|orderByRaw|joinRaw|havingRaw|selectRaw)\s*\(/,
  /\.(forUpdate|forShare|forNoKeyUpdate|forKeyShare)\s*\(/,
];

/** Lines with SQL or table access; with `ownTables`, only access to other tables counts (comments are skipped). */
function sqlLines(file: string, source: string, ownTables?: string[]): ArchitectureReport['sqlOutsideDataLayer'] {
  const hits: ArchitectureReport['sqlOutsideDataLayer'] = [];
  source.split('\n').forEach((text, i) => {
    const code = text.trim();
    if (code.startsWith('//') || code.startsWith('*') || code.startsWith('/*')) return;
    const tables = TABLE_ACCESS.map((pattern) => pattern.exec(code)?.[1]).filter((t): t is string => t !== undefined);
    const found = ownTables ? tables.some((t) => !ownTables.includes(t)) : tables.length > 0 || SQL_PATTERNS.some((pattern) => pattern.test(code));
    if (found) hits.push({ file, line: i + 1, text: code.slice(0, 120) });
  });
  return hits;
}

/** The report for a project tree (this one by default). */
export function checkArchitecture(root = ROOT): ArchitectureReport {
  const files = sourceFiles(root);
  const fileGraph = new Map<string, Set<string>>();
  const folderGraph = new Map<string, Set<string>>();
  const sql: ArchitectureReport['sqlOutsideDataLayer'] = [];
  for (const file of files) {
    const source = readFileSync(join(root, file), 'utf8');
    const targets = importsOf(file, source).filter((t) => !relative(root, join(root, t)).startsWith('..'));
    fileGraph.set(file, new Set(targets));
    const from = folderOf(file);
    const folders = folderGraph.get(from) ?? new Set<string>();
    for (const target of targets) if (folderOf(target) !== from) folders.add(folderOf(target));
    folderGraph.set(from, folders);
    if (!DATA_LAYER.has(from)) sql.push(...sqlLines(file, source, TABLE_OWNERS[from]));
  }
  return { files: files.length, fileCycles: cycles(fileGraph), folderCycles: cycles(folderGraph), sqlOutsideDataLayer: sql };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === normalize(process.argv[1])) {
  const report = checkArchitecture();
  if (process.argv.includes('--json')) {
    process.stdout.write(
      `${JSON.stringify({ files: report.files, fileCycles: report.fileCycles.length, folderCycles: report.folderCycles.length, sqlOutsideDataLayer: report.sqlOutsideDataLayer.length })}\n`,
    );
  } else {
    const out: string[] = [`architecture: ${report.files} files`];
    out.push(`file cycles: ${report.fileCycles.length}`, ...report.fileCycles.map((c) => `  ${c.join(' <-> ')}`));
    out.push(`folder cycles: ${report.folderCycles.length}`, ...report.folderCycles.map((c) => `  ${c.join(' <-> ')}`));
    out.push(`SQL outside the data layer: ${report.sqlOutsideDataLayer.length}`, ...report.sqlOutsideDataLayer.map((h) => `  ${h.file}:${h.line}: ${h.text}`));
    process.stdout.write(`${out.join('\n')}\n`);
  }
  const failed = report.fileCycles.length > 0 || report.folderCycles.length > 0 || report.sqlOutsideDataLayer.length > 0;
  process.exit(failed ? 1 : 0);
}
