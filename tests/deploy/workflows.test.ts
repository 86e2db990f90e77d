/** The GitHub Actions workflows parse, name only npm scripts that exist, and do what docs/deploy.md says. */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { projectPath } from '../../lib/paths.js';
import { readYaml, run, type Yaml } from './support.js';

const scripts = JSON.parse(readFileSync(projectPath('package.json'), 'utf8')).scripts as Record<string, string>;
const workflowFiles = readdirSync(projectPath('.github', 'workflows')).filter((f) => /\.ya?ml$/.test(f));
const workflows = Object.fromEntries(workflowFiles.map((f) => [f, readYaml('.github', 'workflows', f)])) as Record<string, Yaml>;

/** Every `run:` of every step of every job. */
function runSteps(workflow: Yaml): { job: string; name: string; run: string; env?: Record<string, string> }[] {
  return Object.entries(workflow.jobs as Record<string, Yaml>).flatMap(([job, spec]) =>
    (spec.steps as Yaml[]).filter((s) => s.run).map((s) => ({ job, name: String(s.name ?? s.run), run: String(s.run), env: s.env })),
  );
}

/** npm scripts a shell snippet runs: `npm run x`, `npm test`, `npm start`. */
function npmScripts(shell: string): string[] {
  const found = [...shell.matchAll(/\bnpm\s+run(?:-script)?\s+([\w:.-]+)/g)].map((m) => m[1]!);
  for (const m of shell.matchAll(/\bnpm\s+(test|start|stop|restart)\b/g)) found.push(m[1]!);
  return found;
}

describe('GitHub Actions workflows', () => {
  it('exist and parse as YAML with jobs', () => {
    expect(workflowFiles.sort()).toEqual(['ci.yml', 'release.yml']);
    for (const [file, workflow] of Object.entries(workflows)) {
      expect(workflow.name, file).toBeTruthy();
      expect(Object.keys(workflow.jobs ?? {}).length, file).toBeGreaterThan(0);
    }
  });

  it('name only npm scripts that exist in package.json', () => {
    const named = Object.values(workflows).flatMap((w) => runSteps(w).flatMap((s) => npmScripts(s.run)));
    expect(named.length).toBeGreaterThan(0);
    expect(
      [...new Set(named)].filter((name) => !(name in scripts)),
      'scripts missing from package.json',
    ).toEqual([]);
  });

  it('CI installs, lints, type-checks, tests (with PostgreSQL and Redis services), runs the chaos tests and the audit', () => {
    const ci = workflows['ci.yml']!;
    const test = ci.jobs.test as Yaml;
    expect(Object.keys(test.services).sort()).toEqual(['postgres', 'redis']);
    const steps = runSteps(ci).filter((s) => s.job === 'test');
    const order = ['npm ci', 'npm run format:check', 'npm run lint', 'npm run typecheck', 'npm test', 'npm run test:chaos', 'npm run audit'];
    const positions = order.map((cmd) => steps.findIndex((s) => s.run.includes(cmd)));
    expect(
      positions.every((p) => p >= 0),
      JSON.stringify(positions),
    ).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(steps.find((s) => s.run.includes('npm run audit'))!.env).toEqual({ AUDIT_REQUIRED: '1' });
    // The Debian packages .ci/run installs for the same tests.
    const apt = steps.find((s) => s.run.includes('apt-get install'))!.run;
    for (const pkg of ['prometheus', 'prometheus-alertmanager', 'nginx']) expect(apt).toMatch(new RegExp(`\\s${pkg}(\\s|$)`));
    expect(steps.some((s) => s.run.includes('chromium'))).toBe(true);
  });

  it('CI sets up Node 24 from .node-version, the exact version the Dockerfile and .ci/run use', () => {
    const pinned = readFileSync(projectPath('.node-version'), 'utf8').trim();
    expect(pinned).toMatch(/^24\.\d+\.\d+$/);
    const setups = Object.values(workflows).flatMap((w) =>
      Object.values(w.jobs as Record<string, Yaml>).flatMap((job) =>
        (job.steps as Yaml[]).filter((s) => String(s.uses ?? '').startsWith('actions/setup-node')),
      ),
    );
    expect(setups.length).toBeGreaterThan(0);
    for (const setup of setups) {
      expect(setup.with['node-version-file']).toBe('.node-version');
      expect(setup.with['node-version']).toBeUndefined();
    }
  });

  it('.ci/run puts that Node first on PATH (scripts/with-node.sh) before npm ci, and checks formatting before lint', () => {
    const ci = readFileSync(projectPath('.ci', 'run'), 'utf8');
    const at = (needle: string) => ci.indexOf(needle);
    expect(at('scripts/with-node.sh')).toBeGreaterThan(0);
    expect(at('scripts/with-node.sh')).toBeLessThan(at('npm ci'));
    expect(at('npm ci')).toBeLessThan(at('npm run format:check'));
    expect(at('npm run format:check')).toBeLessThan(at('npm run lint'));
    expect(npmScripts(ci).filter((name) => !(name in scripts))).toEqual([]);
  });

  it('scripts/with-node.sh is valid bash and runs a command on the pinned Node', async () => {
    expect((await run('bash', ['-n', projectPath('scripts', 'with-node.sh')])).code).toBe(0);
    const pinned = readFileSync(projectPath('.node-version'), 'utf8').trim();
    // Fetches the binary into .cache/node once if the node on PATH is another version (as .ci/run does).
    const { code, output } = await run('bash', [projectPath('scripts', 'with-node.sh'), 'node', '-p', 'process.version'], { timeoutMs: 180_000 });
    expect(code, output).toBe(0);
    expect(output.trim().split('\n').at(-1)).toBe(`v${pinned}`);
  }, 200_000);

  it('CI builds the production image and scans it with Trivy', () => {
    const image = workflows['ci.yml']!.jobs.image as Yaml;
    const build = (image.steps as Yaml[]).find((s) => String(s.uses ?? '').startsWith('docker/build-push-action'));
    expect(build?.with.file).toBe('Dockerfile');
    expect(runSteps(workflows['ci.yml']!).some((s) => s.job === 'image' && /trivy\S* image .*--exit-code 1/s.test(s.run))).toBe(true);
  });

  it('release runs on version tags, pushes a tagged image (never latest) and rolls out with migrate first and a rollback', () => {
    const release = workflows['release.yml']!;
    expect(release.on.push.tags).toEqual(['v[0-9]+.[0-9]+.[0-9]+']);
    expect(release.permissions.packages).toBe('write');
    const text = readFileSync(projectPath('.github', 'workflows', 'release.yml'), 'utf8');
    expect(text).toContain('ghcr.io/');
    expect(text).not.toMatch(/:latest\b/);
    expect(release.jobs.deploy.needs).toBe('image');
    expect(release.jobs.deploy.environment).toBe('production');
    expect(runSteps(release).some((s) => s.job === 'deploy' && s.run.includes('.github/deploy/rollout.sh'))).toBe(true);
    const rollout = readFileSync(projectPath('.github', 'deploy', 'rollout.sh'), 'utf8');
    const at = (needle: string) => rollout.indexOf(needle);
    expect(at('compose run --rm --no-deps migrate')).toBeGreaterThan(0);
    expect(at('compose run --rm --no-deps migrate')).toBeLessThan(at('roll api'));
    expect(at('roll api')).toBeLessThan(at('roll worker'));
    expect(rollout).toMatch(/rolling back to \$PREVIOUS/);
  });

  it('the rollout script is valid bash', async () => {
    const { code, output } = await run('bash', ['-n', projectPath('.github', 'deploy', 'rollout.sh')]);
    expect(code, output).toBe(0);
  });
});
