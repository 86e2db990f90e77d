/** Shared helpers of the deployment tests: the compose file as compose reads it, HTTPS with a test CA, child processes. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { parse as parseYaml } from 'yaml';
import { projectPath } from '../../lib/paths.js';

export type Yaml = Record<string, any>;

/** Parses YAML the way compose does: merge keys (<<: *anchor) resolved. */
export function readYaml(...path: string[]): Yaml {
  return parseYaml(readFileSync(projectPath(...path), 'utf8'), { merge: true });
}

export function readCompose(): Yaml {
  return readYaml('docker-compose.yml');
}

/** KEY=value lines of a dotenv file; commented `# KEY=value` lines count as listed (with their value). */
export function readDotenv(path: string, { includeCommented = false } = {}): Map<string, string> {
  const keys = new Map<string, string>();
  for (const line of readFileSync(projectPath(path), 'utf8').split('\n')) {
    const match = (includeCommented ? /^#?\s*([A-Z][A-Z0-9_]*)=(.*)$/ : /^([A-Z][A-Z0-9_]*)=(.*)$/).exec(line.trim());
    if (match) keys.set(match[1]!, match[2]!.replace(/^'(.*)'$/, '$1').replace(/^"(.*)"$/, '$1'));
  }
  return keys;
}

/** Every variable a compose file interpolates (${NAME}, ${NAME:-default}, ${NAME:?message}, nested ones too). */
export function composeVariables(text: string): Set<string> {
  return new Set([...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!));
}

/**
 * Compose's interpolation, enough for our file: ${A}, ${A:-default}, ${A-default},
 * ${A:?error}, ${A?error}, nested defaults, and $$ for a literal dollar.
 */
export function interpolate(text: string, env: Record<string, string | undefined>): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    if (text.startsWith('$$', i)) {
      out += '$';
      i += 2;
      continue;
    }
    if (!text.startsWith('${', i)) {
      out += text[i++];
      continue;
    }
    let depth = 0;
    let end = i;
    for (; end < text.length; end++) {
      if (text.startsWith('${', end)) depth++;
      else if (text[end] === '}' && --depth === 0) break;
    }
    const body = text.slice(i + 2, end);
    const match = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])(.*))?$/s.exec(body);
    if (!match) throw new Error(`cannot interpolate \${${body}}`);
    const [, name, op, arg = ''] = match;
    const value = env[name!];
    const unset = op?.startsWith(':') ? !value : value === undefined;
    if (op?.endsWith('-')) out += unset ? interpolate(arg, env) : value;
    else if (op?.endsWith('?')) {
      if (unset) throw new Error(`required variable ${name} is missing: ${arg}`);
      out += value;
    } else out += value ?? '';
    i = end + 1;
  }
  return out;
}

export interface HttpsResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** HTTPS to a loopback server whose certificate our test CA signed. */
export function httpsFetch(
  url: string,
  options: { ca: string; method?: string; headers?: Record<string, string>; body?: string | Buffer; servername?: string; localAddress?: string },
): Promise<HttpsResponse> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        method: options.method ?? 'GET',
        headers: options.headers,
        ca: options.ca,
        servername: options.servername ?? 'localhost',
        localAddress: options.localAddress,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

export interface Child {
  process: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

export function startChild(command: string, args: string[], options: { cwd?: string; env?: Record<string, string>; detached?: boolean } = {}): Child {
  const child = spawn(command, args, {
    cwd: options.cwd ?? projectPath(),
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // detached: its own process group, so a signal can reach every process it starts.
    detached: options.detached ?? false,
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  // 'close', not 'exit': grandchildren sharing the pipes (npm → tsx → node) may still be writing.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return {
    process: child,
    output: () => output,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Runs a command to completion and returns its exit code and output. */
export function run(
  command: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<{ code: number | null; output: string }> {
  const child = startChild(command, args, options);
  const timer = setTimeout(() => child.process.kill('SIGKILL'), options.timeoutMs ?? 120_000);
  return child.exited.then((code) => {
    clearTimeout(timer);
    return { code, output: child.output() };
  });
}
