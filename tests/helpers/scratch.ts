/**
 * A test file's scratch space: temporary folders and things to stop, all removed after the file
 * (in reverse order, a failing cleanup not stopping the others). Call once at the top of the file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

export function useScratch() {
  const roots: string[] = [];
  const cleanups: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
    for (const root of roots) rmSync(root, { recursive: true, force: true });
  });
  return {
    /** A new empty folder named after `name`, removed after the file. */
    tempDir(name: string): string {
      const dir = mkdtempSync(join(tmpdir(), `uvis-${name}-`));
      roots.push(dir);
      return dir;
    },
    /** A folder made elsewhere, removed after the file. */
    removeAfter(dir: string): void {
      roots.push(dir);
    },
    cleanups,
  };
}
