/**
 * The examples in README.md and docs/*.md run, so they stay true.
 *
 * Convention for every curl example (checked here, so a new one cannot drift):
 * - it sits in a fenced ```sh (or bash, shell) block, one curl command, lines joined
 *   by a trailing backslash, no pipes or redirections;
 * - it calls http://localhost:3000 (a development instance, `npm start`);
 * - tokens are $TOKEN or $ADMIN_TOKEN (admin test@example.com), $DISPATCHER_TOKEN,
 *   $DRIVER_TOKEN (driver2@example.com) and $REFRESH_TOKEN;
 * - it must answer below 400, unless a `# expect: <status>` line stands right above it;
 * - a `# not run: <reason>` line right above it exempts it (it needs a value only a
 *   running system has, or another host).
 * Each example runs with curl against a live UVIS in document order. The README's
 * quick start (`npm start`) runs too, as a child process, with the README's sign-in.
 */
import { readdirSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectPath } from '../../lib/paths.js';
import { DEMO_DISPATCHER, DEMO_DRIVER2, waitFor } from '../helpers/api-client.js';
import { baseUrls, createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { freePort } from '../helpers/private-redis.js';
import { deleteRedisPrefix, newPrefix, startTestUvis, type TestUvis } from '../helpers/uvis.js';
import { run, startChild } from './support.js';

export interface Example {
  file: string;
  line: number;
  command: string;
  expect?: number;
  notRun?: string;
}

const PLACEHOLDERS = ['TOKEN', 'ADMIN_TOKEN', 'DISPATCHER_TOKEN', 'DRIVER_TOKEN', 'REFRESH_TOKEN'];

/** Every curl command in the fenced shell blocks of a markdown file. */
export function extractExamples(file: string, text: string): Example[] {
  const examples: Example[] = [];
  const lines = text.split('\n');
  let inShell = false;
  let inFence = false;
  let directives: Pick<Example, 'expect' | 'notRun'> = {};
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const fence = /^\s*```(\S*)/.exec(line);
    if (fence) {
      inFence = !inFence;
      inShell = inFence && ['sh', 'bash', 'shell'].includes(fence[1]!);
      directives = {};
      continue;
    }
    if (!inShell) continue;
    const trimmed = line.trim();
    const expectMatch = /^# expect: (\d{3})$/.exec(trimmed);
    const notRun = /^# not run: (.+)$/.exec(trimmed);
    if (expectMatch) directives.expect = Number(expectMatch[1]);
    else if (notRun) directives.notRun = notRun[1];
    else if (/^curl\s/.test(trimmed)) {
      let command = trimmed;
      const start = i;
      while (command.endsWith('\\') && i + 1 < lines.length) command = `${command.slice(0, -1).trimEnd()} ${lines[++i]!.trim()}`;
      examples.push({ file, line: start + 1, command, ...directives });
      directives = {};
    } else if (trimmed) directives = {};
  }
  return examples;
}

function documents(): { file: string; text: string }[] {
  const docs = readdirSync(projectPath('docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`);
  return ['README.md', ...docs].map((file) => ({ file, text: readFileSync(projectPath(file), 'utf8') }));
}

const all = documents().flatMap(({ file, text }) => extractExamples(file, text));
const runnable = all.filter((e) => !e.notRun);
const where = (e: Example) => `${e.file}:${e.line}: ${e.command}`;

/** Runs one example with curl; the body goes to a file, the status is what curl prints. */
async function runExample(example: Example, port: number, env: Record<string, string>, cwd: string) {
  const command = example.command.replaceAll('localhost:3000', `127.0.0.1:${port}`);
  const { code, output } = await run('bash', ['-c', `${command} -o "$EXAMPLE_BODY" -w '%{http_code}'`], {
    cwd,
    env: { ...env, EXAMPLE_BODY: join(cwd, 'body') },
    timeoutMs: 30_000,
  });
  const body = readFileSync(join(cwd, 'body'), 'utf8');
  return { curlExit: code, status: Number(output.trim().slice(-3)), body };
}

describe('the examples follow the convention', () => {
  it('are found in the documents (the README and the API guide at least)', () => {
    expect(runnable.length).toBeGreaterThanOrEqual(15);
    expect(runnable.some((e) => e.file === 'README.md' && e.command.includes('/auth/login'))).toBe(true);
    expect(runnable.filter((e) => e.file === 'docs/api.md').length).toBeGreaterThanOrEqual(10);
  });

  it('call the development instance, use only the known placeholders, and are single commands', () => {
    for (const example of runnable) {
      expect(example.command, where(example)).toContain('localhost:3000');
      const vars = [...example.command.matchAll(/\$([A-Z_]+)/g)].map((m) => m[1]!);
      expect(
        vars.filter((v) => !PLACEHOLDERS.includes(v)),
        where(example),
      ).toEqual([]);
      // Outside quotes: no pipe, redirection, chaining or output file of its own.
      const unquoted = example.command.replace(/'[^']*'|"(?:[^"\\]|\\.)*"/g, '');
      expect(unquoted, where(example)).not.toMatch(/[|;&<>]|\s-o\s|\s-w\s|#/);
    }
  });

  it('say why when they are not run', () => {
    for (const example of all.filter((e) => e.notRun)) expect(example.notRun!.length, where(example)).toBeGreaterThan(5);
  });
});

describe('every curl example in README.md and docs/*.md, against a live instance', () => {
  let uvis: TestUvis;
  let env: Record<string, string>;
  let cwd: string;

  beforeAll(async () => {
    uvis = await startTestUvis({ role: 'all' });
    const admin = await uvis.api.request('POST', '/api/v1/auth/login', { form: { username: 'test@example.com', password: 'testpass' } });
    const refresh = await uvis.api.request('POST', '/api/v1/auth/login', { form: { username: 'test@example.com', password: 'testpass' } });
    env = {
      TOKEN: admin.body.access_token,
      ADMIN_TOKEN: admin.body.access_token,
      DISPATCHER_TOKEN: await uvis.api.login(DEMO_DISPATCHER),
      DRIVER_TOKEN: await uvis.api.login(DEMO_DRIVER2),
      REFRESH_TOKEN: refresh.body.refresh_token,
    };
    cwd = mkdtempSync(join(tmpdir(), 'uvis-examples-'));
  });
  afterAll(async () => {
    await uvis?.stop();
    if (cwd) rmSync(cwd, { recursive: true, force: true });
  });

  it.each(runnable.map((e) => [where(e), e] as const))('%s', async (_name, example) => {
    const result = await runExample(example, uvis.running.port!, env, cwd);
    expect(result.curlExit, result.body).toBe(0);
    if (example.expect) expect(result.status, result.body).toBe(example.expect);
    else expect(result.status, result.body).toBeLessThan(400);
    expect(result.body.length).toBeGreaterThan(0);
  });
});

describe("the README's quick start", () => {
  const readme = readFileSync(projectPath('README.md'), 'utf8');
  let database: TestDatabase;
  const prefix = newPrefix();

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
    await deleteRedisPrefix(prefix);
  });

  it('names the install, start and test commands that package.json has', () => {
    expect(readme).toMatch(/^npm ci && npm start\b/m);
    expect(readme).toMatch(/^npm ci && npm test\b/m);
    const scripts = JSON.parse(readFileSync(projectPath('package.json'), 'utf8')).scripts;
    expect(scripts.start).toMatch(/\btsx main\.ts all$/);
    // `npm test` is this suite (it includes this file), then the Redis users' tests again on a
    // Redis Cluster (vitest.cluster.config.ts), so it is not run again from here.
    expect(scripts.test).toBe('vitest run && npm run test:cluster');
    expect(scripts['test:cluster']).toBe('vitest run --config vitest.cluster.config.ts');
  });

  it('`npm start` serves on PORT, the README sign-in works against it, and it stops on SIGTERM', async () => {
    const port = await freePort();
    const child = startChild('npm', ['start'], {
      env: {
        PORT: String(port),
        // `all` runs a worker process too, whose metrics server would take the default 9464.
        METRICS_PORT: String(await freePort()),
        HOST: '127.0.0.1',
        DATABASE_URL: database.url,
        REDIS_URL: baseUrls().redisUrl,
        REDIS_PREFIX: prefix,
        NODE_ENV: 'development',
        LOG_LEVEL: 'info',
      },
      detached: true,
    });
    try {
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/api/v1/health`)).ok, {
        timeoutMs: 60_000,
        what: `npm start (${child.output().slice(-2000)})`,
      });
      const login = runnable.find((e) => e.file === 'README.md' && e.command.includes('/auth/login'))!;
      const cwd = mkdtempSync(join(tmpdir(), 'uvis-readme-'));
      try {
        const result = await runExample(login, port, {}, cwd);
        expect(result.status, result.body).toBe(200);
        expect(JSON.parse(result.body)).toMatchObject({ token_type: 'bearer', access_token: expect.any(String) });
      } finally {
        rmSync(cwd, { recursive: true, force: true });
      }
    } finally {
      // What Ctrl-C in a terminal does: the signal goes to the whole process group (npm, tsx, node).
      process.kill(-child.process.pid!, 'SIGTERM');
      await child.exited;
    }
    expect(child.output()).toContain('"msg":"shutdown complete"');
  }, 120_000);
});
