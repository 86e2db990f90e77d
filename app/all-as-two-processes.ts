/**
 * `all` from the command line: the API and the workers in two child processes of one
 * parent, so a batch of GPS inserts or a backup on the workers' event loop no longer
 * delays every HTTP request behind it (issue 20: the API's p99). Each child is the
 * same entry with role `api` or `worker`, the contract of those roles unchanged; the
 * parent only starts them, relays their output and stops them.
 *
 * A child that exits without being asked to stops the other one gracefully, and the
 * parent then exits 1. Restarting it here instead would hide a crash loop from the
 * supervisor that already restarts with back-off and counts restarts (Docker's restart
 * policy, systemd, Kubernetes), while the API kept answering and the queues grew;
 * `all` lives and dies as one unit, as it did when it was one process.
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { Logger } from '../lib/logger.js';
import { relayLines } from '../lib/line-relay.js';

/** Set in the children's environment: the parent has prepared the machine, and a child stops when the parent goes. */
export const SUPERVISED_ENV = 'UVIS_SUPERVISED';

const CHILD_ROLES = ['api', 'worker'] as const;
type ChildRole = (typeof CHILD_ROLES)[number];

export interface TwoProcessOptions {
  /** The entry each child runs (main.ts under tsx, dist/main.js when compiled) with its role as argument. */
  entry: string;
  log: Logger;
  /** Where the children's whole lines go: the parent's stdout and stderr. */
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** How long a child may take to stop once asked before it is killed: its SHUTDOWN_TIMEOUT_MS and a margin. */
  stopTimeoutMs: number;
}

export interface TwoProcesses {
  pids: Record<ChildRole, number>;
  /** Asks both children to stop (SIGTERM; each drains on its own); later calls only log. */
  stop(reason: string): void;
  /** The parent's exit code once both children are gone: 0 only when both were asked to stop and stopped cleanly. */
  exited: Promise<number>;
}

interface Child {
  role: ChildRole;
  process: ChildProcess;
  /** Both exited and its output relayed to the end, so its last lines come before the parent's. */
  closed: Promise<number | null>;
}

export function runAllAsTwoProcesses(options: TwoProcessOptions): TwoProcesses {
  const { log } = options;
  let stopping = false;
  let failed = false;
  let killTimer: NodeJS.Timeout | undefined;

  const children: Child[] = CHILD_ROLES.map((role) => {
    // execArgv is the parent's, so under tsx the children load TypeScript the same way.
    const child = fork(options.entry, [role], {
      env: { ...process.env, [SUPERVISED_ENV]: '1' },
      execArgv: process.execArgv,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const relayed = Promise.all([relayLines(child.stdout!, options.stdout), relayLines(child.stderr!, options.stderr)]);
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    const closed = Promise.all([exit, relayed]).then(([{ code, signal }]) => {
      if (!stopping) {
        failed = true;
        log.error(
          { child: role, pid: child.pid, code, signal },
          `the ${role} process exited unexpectedly: stopping the other, then exiting 1 for the supervisor to restart both`,
        );
        stop(`${role} exited`);
      } else if (code === null && signal === 'SIGTERM') {
        // Ended by the SIGTERM it was sent, so it had no handler yet: it was still loading its
        // modules (main.ts takes signals before it starts anything), with nothing begun to drain.
        log.info({ child: role, pid: child.pid }, `the ${role} process was stopped while it was still starting`);
      } else if (code !== 0) {
        failed = true;
        log.error({ child: role, pid: child.pid, code, signal }, `the ${role} process did not stop cleanly`);
      }
      return code;
    });
    log.info({ child: role, pid: child.pid }, `started the ${role} process`);
    return { role, process: child, closed };
  });

  function stop(reason: string): void {
    if (stopping) {
      log.info({ reason }, 'already shutting down');
      return;
    }
    stopping = true;
    log.info({ reason }, 'stopping the api and worker processes');
    for (const { process: child } of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    killTimer = setTimeout(() => {
      for (const { role, process: child } of children) {
        if (child.exitCode !== null || child.signalCode !== null) continue;
        log.error({ child: role, pid: child.pid, timeoutMs: options.stopTimeoutMs }, `the ${role} process did not stop in time: killing it`);
        child.kill('SIGKILL');
      }
    }, options.stopTimeoutMs);
  }

  const exited = Promise.all(children.map((c) => c.closed)).then(() => {
    clearTimeout(killTimer);
    const code = failed ? 1 : 0;
    log.info({ code }, 'the api and worker processes have stopped');
    return code;
  });
  const pids = Object.fromEntries(children.map((c) => [c.role, c.process.pid!])) as Record<ChildRole, number>;
  return { pids, stop, exited };
}
