/**
 * Builds the dashboard (Vite) when its build is missing or older than its sources, so
 * the browser tests always drive the current page. About a second; skipped when fresh.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { projectPath } from '../../lib/paths.js';

const WEB = projectPath('dashboard', 'web');
const BUILT = join(WEB, 'dist', 'index.html');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'dist' || entry.name === 'node_modules') continue;
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

export async function ensureDashboardBuilt(): Promise<void> {
  const sources = Math.max(newestSource(WEB), statSync(projectPath('data', 'kr-districts.csv')).mtimeMs);
  if (existsSync(BUILT) && statSync(BUILT).mtimeMs >= sources) return;
  try {
    await promisify(execFile)(process.execPath, [projectPath('node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', join(WEB, 'vite.config.ts')], {
      cwd: projectPath(),
      timeout: 120_000,
    });
  } catch (err) {
    // Another test run may have built (and emptied dist/ under us) at the same moment: its build will do.
    if (!(existsSync(BUILT) && statSync(BUILT).mtimeMs >= sources)) throw err;
  }
}
