/** UVIS as real child processes (node main.ts <role>), for tests that kill, stop and restart them. */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { projectPath } from '../../lib/paths.js';
import { waitFor } from './api-client.js';
import { freePort } from './private-redis.js';

export interface UvisProcess {
  role: string;
  port: number;
  url: string;
  child: ChildProcess;
  output: () => string;
  /** SIGTERM, then waits for the exit (graceful shutdown). */
  stop(): Promise<number | null>;
  /** SIGKILL: a crash, no cleanup at all. */
  kill(): Promise<void>;
}

export interface UvisProcessOptions {
  /** Its stdout goes to this file, not a pipe, as when an operator redirects it; output() then reads the file and stderr. */
  stdoutFile?: string;
  /** Leads its own process group, so a test can signal the group as Ctrl-C does: process.kill(-pid, 'SIGINT'). */
  processGroup?: boolean;
}

/** Starts a process; `port` pins the listening port (a restart behind a load balancer needs the same one). */
export async function startUvisProcess(
  role: 'api' | 'worker' | 'all',
  env: Record<string, string>,
  port?: number,
  options: UvisProcessOptions = {},
): Promise<UvisProcess> {
  port ??= await freePort();
  const stdoutFd = options.stdoutFile === undefined ? undefined : openSync(options.stdoutFile, 'w');
  const child = spawn(process.execPath, ['--import', 'tsx', projectPath('main.ts'), role], {
    cwd: projectPath(),
    env: {
      ...process.env,
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      ...(role === 'worker' ? { METRICS_PORT: String(port) } : { PORT: String(port), METRICS_PORT: String(await freePort()) }),
      ...env,
    },
    stdio: ['ignore', stdoutFd ?? 'pipe', 'pipe'],
    detached: options.processGroup ?? false,
  });
  // The child has its own copy of the descriptor.
  if (stdoutFd !== undefined) closeSync(stdoutFd);
  let captured = '';
  child.stdout?.on('data', (d) => (captured = (captured + d).slice(-20_000)));
  child.stderr!.on('data', (d) => (captured = (captured + d).slice(-20_000)));
  const output = () => (options.stdoutFile === undefined ? captured : readFileSync(options.stdoutFile, 'utf8').slice(-20_000) + captured);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`uvis ${role} exited at start: ${output()}`);
      return (await fetch(`${url}/api/v1/health`)).ok;
    },
    { timeoutMs: 30_000, intervalMs: 200, what: `uvis ${role} to start` },
  );
  return {
    role,
    port,
    url,
    child,
    output,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
