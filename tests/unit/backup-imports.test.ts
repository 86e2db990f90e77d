/**
 * The backups/ modules import each other without cycles, counting every kind of
 * import: value, type-only (`import type`, `type X` specifiers), re-exports and
 * dynamic import(). A cycle makes load order matter and hides which module owns what.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectPath } from '../../lib/paths.js';

const IMPORT = /(?:\bimport\s+(?:type\s+)?[^'"`;]*?\bfrom\s*|\bexport\s+(?:type\s+)?[^'"`;]*?\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+)['"]/g;

/** The project files a source file imports (relative specifiers only), as project-relative paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(projectPath(file), 'utf8');
  const found = new Set<string>();
  for (const match of text.matchAll(IMPORT)) {
    const target = resolve(dirname(projectPath(file)), match[1]!.replace(/\.js$/, '.ts'));
    if (existsSync(target)) found.add(relative(projectPath(), target));
  }
  return [...found];
}

/** Every cycle reachable from the given files, each as the list of files around it. */
function cycles(roots: string[]): string[][] {
  const graph = new Map<string, string[]>();
  const pending = [...roots];
  while (pending.length) {
    const file = pending.pop()!;
    if (graph.has(file)) continue;
    const edges = importsOf(file);
    graph.set(file, edges);
    pending.push(...edges);
  }
  const found: string[][] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'visiting');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'visiting') found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  // Only cycles through backups/ are this test's business.
  return found.filter((cycle) => cycle.some((f) => f.startsWith(`backups/`)));
}

describe('backups/ import graph', () => {
  const files = readdirSync(projectPath('backups'))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join('backups', f));

  it('the import scanner sees type-only and dynamic imports', () => {
    expect(importsOf('backups/run-backup.ts')).toContain(join('backups', 'manifest.ts'));
    expect(importsOf('backups/retention.ts')).toContain(join('backups', 'run-backup.ts')); // `import type`
  });

  it('has no cycles, type-only imports and dynamic imports included', () => {
    expect(cycles(files)).toEqual([]);
  });

  it('the storage interface does not know its implementations; the factory does', () => {
    const storage = importsOf('backups/storage.ts');
    expect(storage).not.toContain(join('backups', 'local-storage.ts'));
    expect(storage).not.toContain(join('backups', 's3-storage.ts'));
    for (const implementation of ['backups/local-storage.ts', 'backups/s3-storage.ts']) {
      expect(importsOf(implementation)).toContain(join('backups', 'storage.ts'));
    }
  });
});
