/**
 * .github/deploy/rollout.sh, run against a stand-in docker CLI
 * (tests/deploy/fixtures/fake-docker.sh): migrations before anything else, new
 * replicas healthy before old ones stop, and the rollback when a version fails.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { projectPath } from '../../lib/paths.js';
import { run } from './support.js';

let host: string;
let state: string;

/** Running containers by service: the version each one runs. */
function running(): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const id of readdirSync(join(state, 'containers')).sort()) {
    const [service, version] = readFileSync(join(state, 'containers', id), 'utf8')
      .trim()
      .split(' ');
    (out[service!] ??= []).push(version!);
  }
  return out;
}

const calls = () => readFileSync(join(state, 'calls'), 'utf8').trim().split('\n');
const read = (name: string) => (existsSync(join(host, name)) ? readFileSync(join(host, name), 'utf8').trim() : '');

async function rollout(...args: string[]) {
  return run('bash', [projectPath('.github', 'deploy', 'rollout.sh'), ...args], {
    cwd: host,
    env: { PATH: `${join(host, 'bin')}:${process.env.PATH}`, FAKE_DOCKER_STATE: state, POLL_S: '0', HEALTH_TIMEOUT_S: '2' },
  });
}

beforeEach(() => {
  host = mkdtempSync(join(tmpdir(), 'uvis-rollout-'));
  state = join(host, 'docker');
  mkdirSync(join(host, 'bin'));
  mkdirSync(join(state, 'containers'), { recursive: true });
  copyFileSync(projectPath('tests', 'deploy', 'fixtures', 'fake-docker.sh'), join(host, 'bin', 'docker'));
  writeFileSync(join(host, 'bin', 'curl'), '#!/bin/sh\nexit 0\n');
  chmodSync(join(host, 'bin', 'docker'), 0o755);
  chmodSync(join(host, 'bin', 'curl'), 0o755);
  writeFileSync(join(host, '.env'), 'PUBLIC_HOSTNAME=uvis.example.com\nUVIS_VERSION=1.0.0\n');
  writeFileSync(join(host, '.deployed-version'), '1.0.0\n');
  // Version 1.0.0 runs: two API replicas and two workers.
  ['api', 'api', 'worker', 'worker'].forEach((service, i) => writeFileSync(join(state, 'containers', `c000${i}`), `${service} 1.0.0 healthy\n`));
  writeFileSync(join(state, 'counter'), '10');
});
afterEach(() => rmSync(host, { recursive: true, force: true }));

describe('rollout.sh', () => {
  it('migrates first, then replaces api and worker replicas, new ones healthy before old ones stop', async () => {
    const { code, output } = await rollout('1.1.0');
    expect(code, output).toBe(0);
    expect(running()).toEqual({ api: ['1.1.0', '1.1.0'], worker: ['1.1.0', '1.1.0'] });
    const log = calls();
    const at = (pattern: RegExp) => log.findIndex((c) => pattern.test(c));
    expect(at(/^compose run --rm --no-deps migrate \[UVIS_VERSION=1\.1\.0\]/)).toBeGreaterThan(-1);
    expect(at(/^compose run .* migrate/)).toBeLessThan(at(/^compose up .*--scale api=4 api/));
    // Both new API replicas exist before the first old one is stopped; workers come after the API.
    expect(at(/^compose up .*--scale api=4 api/)).toBeLessThan(at(/^stop c0000/));
    expect(at(/^stop c0001/)).toBeLessThan(at(/^compose up .*--scale worker=4 worker/));
    expect(read('.deployed-version')).toBe('1.1.0');
    expect(read('.deployed-version.previous')).toBe('1.0.0');
    expect(read('.env')).toContain('UVIS_VERSION=1.1.0');
  });

  it('keeps the old API serving when the new replicas never become healthy, and fails', async () => {
    const { code, output } = await rollout('1.1.0-bad-api');
    expect(code, output).toBe(1);
    expect(running()).toEqual({ api: ['1.0.0', '1.0.0'], worker: ['1.0.0', '1.0.0'] });
    expect(readFileSync(join(state, 'migrations'), 'utf8')).toContain('1.1.0-bad-api');
    expect(existsSync(join(state, 'stops'))).toBe(false);
    // The new replicas were started, found unhealthy, and removed.
    expect(calls().some((c) => /^compose up .*--scale api=4 api \[UVIS_VERSION=1\.1\.0-bad-api\]/.test(c))).toBe(true);
    expect(calls().some((c) => /^rm -f c0011 c0012/.test(c))).toBe(true);
    expect(read('.deployed-version')).toBe('1.0.0');
    expect(read('.env')).toContain('UVIS_VERSION=1.0.0');
  });

  it('rolls the API back to the previous version when the workers of the new one fail', async () => {
    const { code, output } = await rollout('1.1.0-bad-worker');
    expect(code, output).toBe(1);
    expect(output).toContain('rolling back to 1.0.0');
    // The API had moved to the new version before the workers failed, and came back.
    expect(calls().some((c) => /^stop /.test(c))).toBe(true);
    expect(running()).toEqual({ api: ['1.0.0', '1.0.0'], worker: ['1.0.0', '1.0.0'] });
    expect(read('.deployed-version')).toBe('1.0.0');
  });

  it('changes nothing when the migration fails', async () => {
    const { code } = await rollout('1.1.0-bad-migrate');
    expect(code).toBe(1);
    expect(running()).toEqual({ api: ['1.0.0', '1.0.0'], worker: ['1.0.0', '1.0.0'] });
    expect(calls().some((c) => c.startsWith('compose up'))).toBe(false);
  });

  it('--rollback returns to the version before, without running its migrations', async () => {
    expect((await rollout('1.1.0')).code).toBe(0);
    rmSync(join(state, 'migrations'));
    const { code, output } = await rollout('--rollback');
    expect(code, output).toBe(0);
    expect(running()).toEqual({ api: ['1.0.0', '1.0.0'], worker: ['1.0.0', '1.0.0'] });
    expect(existsSync(join(state, 'migrations'))).toBe(false);
    expect(read('.deployed-version')).toBe('1.0.0');
  });
});
