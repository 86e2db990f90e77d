/**
 * Locust for `npm run loadtest`: found (or installed from Debian where we may), then
 * run headless on the seed's locustfile, unchanged, with locust_steady_window.py beside it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectPath } from '../../lib/paths.js';

const STEADY_MARKER = 'uvis-loadtest: steady window starts';

/** Debian's python3-locust puts `locust` on PATH; a pip install may only be reachable as a module. */
function findLocust(): string[] | undefined {
  const candidates = [['locust'], ['/usr/bin/locust'], ['python3', '-m', 'locust'], ['/usr/bin/python3', '-m', 'locust']];
  return candidates.find(([cmd, ...args]) => spawnSync(cmd!, [...args, '--help'], { stdio: 'ignore' }).status === 0);
}

/** The command that runs Locust; installs Debian's python3-locust when missing and we are root with apt-get, else says what to install. */
export function ensureLocust(): string[] {
  const found = findLocust();
  if (found) return found;
  const root = process.getuid?.() === 0;
  const apt = spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status === 0;
  if (!root || !apt) {
    throw new Error('Locust is not installed. Install it, then run again: `sudo apt-get install python3-locust` (Debian/Ubuntu) or `pip install locust`.');
  }
  console.log('Locust is missing: installing Debian’s python3-locust (apt-get)');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [
    ['update', '-qq'],
    ['install', '-y', '-qq', '--no-install-recommends', 'python3-locust'],
  ]) {
    if (spawnSync('apt-get', args, { stdio: 'inherit', env }).status !== 0) throw new Error(`apt-get ${args.join(' ')} failed: install python3-locust by hand`);
  }
  const installed = findLocust();
  if (!installed) throw new Error('python3-locust was installed but `locust --help` still fails');
  return installed;
}

/** One row of Locust's own statistics (its _stats.csv), times in ms. */
export interface LocustRow {
  endpoint: string;
  requests: number;
  failures: number;
  medianMs: number;
  averageMs: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  requestsPerSecond: number;
}

export interface LocustRun {
  exitCode: number;
  /** Locust's final table: the steady window for every endpoint, the whole run for sign-in. */
  steady: LocustRow[];
  /** Requests and failures per endpoint over the whole run (ramp-up included). */
  wholeRun: Record<string, { requests: number; failures: number }>;
  userExceptions: number;
  window: { startedAt: number | null; endedAt: number | null };
}

function parseStatsCsv(text: string): LocustRow[] {
  const [header, ...lines] = text.trim().split('\n');
  const columns = header!.split(',');
  return lines.map((line) => {
    // Names are paths without commas; Locust quotes no field here.
    const cells = line.split(',');
    const at = (name: string) => Number(cells[columns.indexOf(name)]);
    return {
      endpoint: `${cells[columns.indexOf('Type')]} ${cells[columns.indexOf('Name')]}`.trim(),
      requests: at('Request Count'),
      failures: at('Failure Count'),
      medianMs: at('Median Response Time'),
      averageMs: Math.round(at('Average Response Time')),
      p95Ms: at('95%'),
      p99Ms: at('99%'),
      maxMs: Math.round(at('Max Response Time')),
      requestsPerSecond: Math.round(at('Requests/s') * 10) / 10,
    };
  });
}

/**
 * Runs Locust headless against `host` until the plugin ends the steady window
 * (`steadySeconds` after the last sign-in); Locust's stdout (its final table) is
 * passed through (to stdout). `onSteady` runs when the steady window starts.
 */
export async function runLocust(o: {
  command: string[];
  host: string;
  users: number;
  spawnRate: number;
  steadySeconds: number;
  /** Told how many sign-ins succeeded: the API has answered at least those. */
  onSteady: (signedIn: number) => void;
}): Promise<LocustRun> {
  const dir = mkdtempSync(join(tmpdir(), 'uvis-locust-'));
  const json = join(dir, 'whole-run.json');
  // A cap in case some user never gets a sign-in answer: the ramp-up, three minutes, the window.
  const cap = Math.ceil(o.users / o.spawnRate) + 180 + o.steadySeconds;
  const [cmd, ...pre] = o.command;
  const args = [
    ...pre,
    '-f',
    `${projectPath('tests', 'load', 'locustfile.py')},${projectPath('scripts', 'bench', 'locust_steady_window.py')}`,
    '--headless',
    '--only-summary',
    '-H',
    o.host,
    '-u',
    String(o.users),
    '-r',
    String(o.spawnRate),
    '-t',
    `${cap}s`,
    // Users finish the request they are in before Locust exits: a point the API accepted is counted.
    '--stop-timeout',
    '30',
    '--csv',
    join(dir, 'run'),
    '--loglevel',
    'WARNING',
  ];
  try {
    const child = spawn(cmd!, args, {
      cwd: projectPath(),
      env: { ...process.env, LOADTEST_STEADY_SECONDS: String(o.steadySeconds), LOADTEST_LOCUST_JSON: json, PYTHONUNBUFFERED: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Locust logs its final table to stderr: both streams become this report's stdout.
    child.stderr.pipe(process.stdout, { end: false });
    let pending = '';
    child.stdout.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      pending += chunk.toString();
      const marker = new RegExp(`${STEADY_MARKER} after (\\d+) successful sign-ins\\n`).exec(pending);
      if (marker) {
        pending = '';
        o.onSteady(Number(marker[1]));
      } else {
        pending = pending.slice(-(STEADY_MARKER.length + 40));
      }
    });
    const exitCode = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => resolve(code ?? 1));
    });
    const whole = JSON.parse(readFileSync(json, 'utf8')) as {
      wholeRun: LocustRun['wholeRun'];
      userExceptions: number;
      window: { started_at: number | null; ended_at: number | null };
    };
    return {
      exitCode,
      steady: parseStatsCsv(readFileSync(join(dir, 'run_stats.csv'), 'utf8')),
      wholeRun: whole.wholeRun,
      userExceptions: whole.userExceptions,
      window: { startedAt: whole.window.started_at, endedAt: whole.window.ended_at },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
