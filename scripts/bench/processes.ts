/** Child processes for benchmarks and load tests: UVIS roles and the baseline, with their resident memory. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { projectPath } from '../../lib/paths.js';

export interface Child {
  process: ChildProcess;
  stop(): Promise<void>;
  /** Resident memory in MB, from /proc (Linux). */
  rssMb(): number;
  /** Resident memory in MB of the process and all its descendants (a parent that forks its roles). */
  treeRssMb(): number;
}

function rssOfPidMb(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

/** The pid and every descendant's, from the parent pids in /proc/<pid>/stat. */
function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The fourth field follows the command name, which is in parentheses and may hold spaces.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // exited meanwhile
    }
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i]!) ?? []));
  return tree;
}

/**
 * Runs a script: TypeScript through tsx, or a compiled .js from dist/ as production
 * does (the figures that matter come from the compiled build; see ensureBuilt).
 * nodeOptions go before the script (e.g. --cpu-prof).
 */
export function spawnNode(script: string, args: string[], env: Record<string, string>, nodeOptions: string[] = []): Child {
  const entry = script.endsWith('.ts') ? ['--import', 'tsx', projectPath(script)] : [projectPath(script)];
  const child = spawn(process.execPath, [...nodeOptions, ...entry, ...args], {
    cwd: projectPath(),
    // Fewer glibc malloc arenas: the resident memory a production image gets (Dockerfile sets the same).
    env: { ...process.env, MALLOC_ARENA_MAX: '2', ...env },
    // Logs go to /dev/null: a real deployment pipes them to a collector, which costs about the same.
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return {
    process: child,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 20_000).unref();
      }),
    rssMb: () => rssOfPidMb(child.pid!),
    treeRssMb: () => processTree(child.pid!).reduce((sum, pid) => sum + rssOfPidMb(pid), 0),
  };
}

/** The environment every measured UVIS process runs with: development, no demo data, no schedules, logs at info. */
export function uvisEnv(databaseUrl: string, redisUrl: string, prefix: string): Record<string, string> {
  return {
    NODE_ENV: 'development',
    DEMO_DATA: 'false',
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    REDIS_PREFIX: prefix,
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    SCHEDULES: 'off',
  };
}

/** Resolves when url answers 2xx; rejects at once if the process behind it exits. */
export async function waitForHttp(url: string, timeoutMs = 60_000, child?: Child): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && child.process.exitCode !== null) throw new Error(`the process behind ${url} exited with ${child.process.exitCode}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}

/** Compiles the server (tsc into dist/) so measurements run what production runs. */
export function ensureBuilt(): void {
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: projectPath(), stdio: 'inherit' });
}
