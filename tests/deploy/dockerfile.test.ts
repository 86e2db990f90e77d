/**
 * The Dockerfile, read instruction by instruction (no Docker here), and the runtime
 * command it ends in, run without Docker: the image's layout (package.json, production
 * node_modules, dist/, data/, dashboard/) rebuilt in a temporary folder, then
 * `node dist/main.js migrate` on an empty database and `node dist/main.js api` and
 * `worker`, probed with the image's own HEALTHCHECK command.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectPath } from '../../lib/paths.js';
import { ApiClient, waitFor } from '../helpers/api-client.js';
import { baseUrls, createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { freePort } from '../helpers/private-redis.js';
import { deleteRedisPrefix, newPrefix } from '../helpers/uvis.js';
import { run, startChild } from './support.js';

interface Instruction {
  keyword: string;
  args: string;
  stage: number;
}

/** Instructions with continuation lines joined; comments and blank lines dropped. */
function parseDockerfile(text: string): Instruction[] {
  const joined = text.replace(/\\\n/g, ' ');
  let stage = -1;
  const out: Instruction[] = [];
  for (const line of joined.split('\n')) {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith('#')) continue;
    const [, keyword = '', args = ''] = /^(\S+)\s*(.*)$/.exec(trimmed) ?? [];
    if (keyword.toUpperCase() === 'FROM') stage++;
    out.push({ keyword: keyword.toUpperCase(), args: args.trim(), stage });
  }
  return out;
}

const dockerfile = parseDockerfile(readFileSync(projectPath('Dockerfile'), 'utf8'));
const stages = dockerfile.filter((i) => i.keyword === 'FROM');
const runtime = dockerfile.filter((i) => i.stage === stages.length - 1);
const one = (keyword: string) => {
  const found = runtime.filter((i) => i.keyword === keyword);
  expect(found, keyword).toHaveLength(1);
  return found[0]!.args;
};
const jsonArray = (args: string) => JSON.parse(args) as string[];

/** The HEALTHCHECK's shell command (after its options). */
function healthcheckCommand(): string {
  const args = one('HEALTHCHECK');
  const command = /\bCMD\s+(.*)$/s.exec(args)?.[1];
  expect(command).toBeTruthy();
  return command!;
}

describe('Dockerfile', () => {
  it('is multi-stage: a build stage that installs everything and builds, then a runtime stage', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const build = dockerfile.filter((i) => i.stage === 0);
    expect(build.some((i) => i.keyword === 'RUN' && /\bnpm ci\b/.test(i.args) && !/--omit=dev/.test(i.args))).toBe(true);
    expect(build.some((i) => i.keyword === 'RUN' && /\bnpm run build\b/.test(i.args))).toBe(true);
    expect(stages.at(-1)!.args).toMatch(/ AS runtime$/i);
  });

  it('runs on a slim Node 24 Debian image pinned to the exact version in .node-version (the one the tests run on)', () => {
    const pinned = readFileSync(projectPath('.node-version'), 'utf8').trim();
    expect(pinned).toMatch(/^24\.\d+\.\d+$/);
    const arg = dockerfile.find((i) => i.keyword === 'ARG' && i.args.startsWith('NODE_IMAGE='))!.args;
    expect(arg).toMatch(/^NODE_IMAGE=node:24\.\d+\.\d+-(bookworm|trixie)-slim$/);
    expect(arg).toBe(`NODE_IMAGE=node:${pinned}-bookworm-slim`);
    for (const from of stages) expect(from.args).toMatch(/^\$\{NODE_IMAGE\} AS \w+$/);
  });

  it('package.json asks for Node 24 or later, with matching type definitions', () => {
    const pkg = JSON.parse(readFileSync(projectPath('package.json'), 'utf8'));
    expect(pkg.engines.node).toMatch(/^>=24(\.|$)/);
    expect(pkg.devDependencies['@types/node']).toMatch(/^\^24\./);
  });

  it('installs production dependencies only in the runtime stage, and copies what lib/paths.ts looks for', () => {
    const runs = runtime.filter((i) => i.keyword === 'RUN').map((i) => i.args);
    expect(runs.some((r) => /\bnpm ci\b.*--omit=dev/.test(r))).toBe(true);
    expect(runs.some((r) => /\bnpm (ci|install)\b/.test(r) && !/--omit=dev/.test(r))).toBe(false);
    const copies = runtime.filter((i) => i.keyword === 'COPY').map((i) => i.args);
    for (const wanted of [
      'package.json package-lock.json ./',
      'data ./data',
      'dashboard/static ./dashboard/static',
      '--from=build /app/dashboard/web/dist ./dashboard/web/dist',
      '--from=build /app/dist ./dist',
    ]) {
      expect(copies, wanted).toContain(wanted);
    }
    // No node_modules from the build stage: they include the dev dependencies.
    expect(copies.some((c) => /--from=build\s+\S*node_modules/.test(c))).toBe(false);
  });

  it('has pg_dump and pg_restore (postgresql-client) and tini', () => {
    const apt = runtime
      .filter((i) => i.keyword === 'RUN' && i.args.includes('apt-get install'))
      .map((i) => i.args)
      .join(' ');
    expect(apt).toMatch(/\bpostgresql-client\b/);
    expect(apt).toMatch(/\btini\b/);
    expect(apt).toMatch(/rm -rf \/var\/lib\/apt\/lists/);
  });

  it('runs as an unprivileged user', () => {
    const user = one('USER');
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    // The user is created in the image, and USER comes after every RUN (nothing later runs as root).
    expect(runtime.some((i) => i.keyword === 'RUN' && new RegExp(`useradd .*\\b${user.split(':')[0]}\\b`).test(i.args))).toBe(true);
    const userAt = runtime.findIndex((i) => i.keyword === 'USER');
    expect(runtime.slice(userAt).some((i) => i.keyword === 'RUN')).toBe(false);
  });

  it('starts under tini, with the role as the command (api, worker, migrate or all), and the V8 flags npm scripts get from .npmrc', () => {
    const npmNodeOptions = /^node-options=(.*)$/m
      .exec(readFileSync(projectPath('.npmrc'), 'utf8'))![1]!
      .trim()
      .split(/\s+/);
    expect(npmNodeOptions).toContain('--max-semi-space-size=16');
    expect(jsonArray(one('ENTRYPOINT'))).toEqual(['/usr/bin/tini', '--', 'node', ...npmNodeOptions, 'dist/main.js']);
    expect(jsonArray(one('CMD'))).toEqual(['all']);
    expect(runtime.find((i) => i.keyword === 'ENV')!.args).toContain('NODE_ENV=production');
  });

  it('checks health on /api/v1/health with node (no curl in slim images)', () => {
    const command = healthcheckCommand();
    expect(one('HEALTHCHECK')).toMatch(/--interval=\S+ --timeout=\S+ --start-period=\S+ --retries=\d+/);
    expect(command).toMatch(/^node -e /);
    expect(command).toContain('/api/v1/health');
    expect(command).not.toMatch(/curl|wget/);
  });

  it('keeps secrets and local state out of the build context (.dockerignore)', () => {
    const ignored = readFileSync(projectPath('.dockerignore'), 'utf8').split('\n');
    for (const entry of ['.git', 'node_modules', 'dist', '.env', '.uvis', '**/*.pem']) expect(ignored, entry).toContain(entry);
  });
});

describe('the runtime command, without Docker', () => {
  const prefix = newPrefix();
  let app: string;
  let emptyDb: TestDatabase;
  let seededDb: TestDatabase;
  const production = () => ({
    NODE_ENV: 'production',
    JWT_SECRET: 'deploy-test-secret-0123456789abcdefghijklmnop',
    // Required in production (lib/config.ts).
    METRICS_TOKEN: 'deploy-test-metrics-token-4f7c1e9a',
    WEBHOOK_SECRET_KEY: 'Xb3kP9qL2vN7sR4tW8yB1cF6hJ0mQ5dG8aE3uI7oP1s=',
    REDIS_URL: baseUrls().redisUrl,
    REDIS_PREFIX: prefix,
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    SHUTDOWN_TIMEOUT_MS: '10000',
  });

  beforeAll(async () => {
    // The runtime stage's layout: package.json, production node_modules (here: the
    // checkout's, linked), dist/ from tsc, data/, dashboard/static and the dashboard build.
    app = mkdtempSync(join(tmpdir(), 'uvis-image-'));
    cpSync(projectPath('package.json'), join(app, 'package.json'));
    symlinkSync(projectPath('node_modules'), join(app, 'node_modules'), 'dir');
    cpSync(projectPath('data'), join(app, 'data'), { recursive: true });
    mkdirSync(join(app, 'dashboard', 'web'), { recursive: true });
    cpSync(projectPath('dashboard', 'static'), join(app, 'dashboard', 'static'), { recursive: true });
    const tsc = await run('npx', ['tsc', '-p', 'tsconfig.build.json', '--outDir', join(app, 'dist')], { timeoutMs: 240_000 });
    expect(tsc.code, `npm run build's tsc step:\n${tsc.output}`).toBe(0);
    if (existsSync(projectPath('dashboard', 'web', 'vite.config.ts'))) {
      // npm run build's dashboard step, written into the image layout instead of the checkout.
      const vite = await run(
        'npx',
        ['vite', 'build', '--config', 'dashboard/web/vite.config.ts', '--outDir', join(app, 'dashboard', 'web', 'dist'), '--emptyOutDir'],
        { timeoutMs: 240_000 },
      );
      expect(vite.code, vite.output).toBe(0);
    }
    emptyDb = await createTestDatabase(null);
    seededDb = await createTestDatabase();
  }, 300_000);

  afterAll(async () => {
    await emptyDb?.drop();
    await seededDb?.drop();
    await deleteRedisPrefix(prefix);
    if (app) rmSync(app, { recursive: true, force: true });
  });

  it('the build keeps its promise to the Dockerfile: package.json builds with tsc -p tsconfig.build.json', () => {
    const build = JSON.parse(readFileSync(projectPath('package.json'), 'utf8')).scripts.build as string;
    expect(build).toMatch(/^tsc -p tsconfig\.build\.json\b/);
    if (existsSync(projectPath('dashboard', 'web', 'vite.config.ts'))) expect(build).toMatch(/build:dashboard|vite build/);
  });

  it('node dist/main.js migrate migrates an empty database, then finds it up to date', async () => {
    const env = { ...production(), DATABASE_URL: emptyDb.url };
    const first = await run('node', ['dist/main.js', 'migrate'], { cwd: app, env });
    expect(first.code, first.output).toBe(0);
    expect(first.output).toMatch(/^applied: \S+/m);
    const second = await run('node', ['dist/main.js', 'migrate'], { cwd: app, env });
    expect(second.code, second.output).toBe(0);
    expect(second.output).toContain('database is up to date');
  });

  it('node dist/main.js api serves health, sign-in and the API reference; the HEALTHCHECK passes; SIGTERM exits 0', async () => {
    const port = await freePort();
    // The API reference is off by default in production: this deployment turns it on.
    const child = startChild('node', ['dist/main.js', 'api'], {
      cwd: app,
      env: { ...production(), API_DOCS: 'on', DATABASE_URL: seededDb.url, PORT: String(port) },
    });
    try {
      const api = new ApiClient(`http://127.0.0.1:${port}`);
      await waitFor(async () => (await api.get('/api/v1/health')).status === 200, { timeoutMs: 30_000, what: `the api (${child.output()})` });
      expect((await api.get('/api/v1/health/ready')).body).toMatchObject({ status: 'ready' });
      const token = await api.login();
      expect((await api.get('/api/v1/orders?limit=1', token)).status).toBe(200);
      expect((await api.get('/api/v1/openapi.json')).body.openapi).toBe('3.1.0');
      expect((await api.get('/docs/swagger-ui-bundle.js')).status).toBe(200);
      // The image's own health check, as Docker runs it (sh -c, the container's PORT).
      const check = await run('sh', ['-c', healthcheckCommand()], { env: { PORT: String(port), METRICS_PORT: '1' } });
      expect(check.code, check.output).toBe(0);
    } finally {
      const code = await child.stop();
      expect(code, child.output()).toBe(0);
    }
    // The same check fails when nothing answers.
    const down = await run('sh', ['-c', healthcheckCommand()], { env: { PORT: String(port), METRICS_PORT: '1' } });
    expect(down.code).toBe(1);
  });

  it('node dist/main.js worker answers the HEALTHCHECK on METRICS_PORT and stops cleanly', async () => {
    const metricsPort = await freePort();
    const child = startChild('node', ['dist/main.js', 'worker'], {
      cwd: app,
      env: { ...production(), DATABASE_URL: seededDb.url, METRICS_PORT: String(metricsPort), PORT: '1' },
    });
    try {
      await waitFor(async () => (await fetch(`http://127.0.0.1:${metricsPort}/api/v1/health`)).ok, {
        timeoutMs: 30_000,
        what: `the worker (${child.output()})`,
      });
      const check = await run('sh', ['-c', healthcheckCommand()], { env: { PORT: '1', METRICS_PORT: String(metricsPort) } });
      expect(check.code, check.output).toBe(0);
    } finally {
      expect(await child.stop(), child.output()).toBe(0);
    }
  });
});
