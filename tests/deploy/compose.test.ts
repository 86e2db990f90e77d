/**
 * docker-compose.yml, checked without Docker: valid against the Compose
 * specification's JSON schema (tests/deploy/fixtures/compose-spec.json, from the
 * compose-spec/compose-spec repository), health checks where they matter, pinned
 * images, paths that exist, and the wiring the rest of the repository expects.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ENV_KEYS } from '../../lib/config.js';
import { projectPath } from '../../lib/paths.js';
import { composeVariables, interpolate, readCompose, readDotenv, readYaml, type Yaml } from './support.js';

const compose = readCompose();
const services = compose.services as Record<string, Yaml>;
const composeText = readFileSync(projectPath('docker-compose.yml'), 'utf8');

/** .env.example with every required secret filled, as an operator's .env would be. */
function exampleEnv(): Record<string, string> {
  const env = Object.fromEntries(readDotenv('.env.example'));
  for (const [key, value] of Object.entries(env)) if (value === '') env[key] = `test-${key.toLowerCase()}`;
  return env;
}

describe('docker-compose.yml', () => {
  it('validates against the Compose specification (interpolated with .env.example, and as written)', () => {
    const schema = JSON.parse(readFileSync(projectPath('tests', 'deploy', 'fixtures', 'compose-spec.json'), 'utf8'));
    delete schema.$schema; // draft-07, which Ajv applies by default
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats.default(ajv);
    const validate = ajv.compile(schema);
    expect(validate(compose), JSON.stringify(validate.errors, null, 2)).toBe(true);
    const interpolated = parseYaml(interpolate(composeText, exampleEnv()), { merge: true });
    expect(validate(interpolated), JSON.stringify(validate.errors, null, 2)).toBe(true);
  });

  it('has no obsolete version key, and a project name', () => {
    expect(compose).not.toHaveProperty('version');
    expect(compose.name).toBe('uvis');
  });

  it('names only variables that .env.example lists, and refuses to start without the secrets', () => {
    const listed = readDotenv('.env.example');
    const missing = [...composeVariables(composeText)].filter((name) => !listed.has(name) && name !== 'COMPOSE_PROJECT_NAME');
    expect(missing, 'add these to .env.example').toEqual([]);
    for (const secret of ['POSTGRES_PASSWORD', 'REDIS_PASSWORD', 'JWT_SECRET', 'METRICS_TOKEN', 'GRAFANA_ADMIN_PASSWORD', 'UVIS_VERSION']) {
      const env = exampleEnv();
      delete env[secret];
      expect(() => interpolate(composeText, env), secret).toThrow(new RegExp(secret));
    }
  });

  it('passes every setting UVIS reads to the UVIS containers', () => {
    const environment = compose['x-uvis-environment'] as Record<string, unknown>;
    const missing = ENV_KEYS.filter((key) => !(key in environment));
    expect(missing, 'add these to x-uvis-environment in docker-compose.yml').toEqual([]);
    for (const name of ['migrate', 'api', 'worker']) expect(services[name]!.environment).toEqual(environment);
    expect(environment.NODE_ENV).toBe('production');
    expect(environment.DEMO_DATA).toBe('false');
  });

  it('gives every long-running service that others wait for, or that serves users, a health check', () => {
    const needsHealthCheck = ['postgres', 'redis', 'api', 'worker', 'nginx', 'prometheus', 'alertmanager', 'grafana'];
    for (const name of needsHealthCheck) {
      const check = services[name]!.healthcheck;
      expect(check?.test, `${name} health check`).toBeTruthy();
      expect(check.disable, name).not.toBe(true);
    }
    // Every `condition: service_healthy` points at a service with a health check.
    for (const [name, service] of Object.entries(services)) {
      const deps = Array.isArray(service.depends_on) ? {} : ((service.depends_on ?? {}) as Record<string, { condition: string }>);
      for (const [dep, { condition }] of Object.entries(deps)) {
        expect(services[dep], `${name} depends on ${dep}`).toBeTruthy();
        if (condition === 'service_healthy') expect(services[dep]!.healthcheck?.test, `${dep} (waited for by ${name})`).toBeTruthy();
      }
    }
    // The one-shot migrate must not inherit the image's HEALTHCHECK as a reason to look unhealthy.
    expect(services.migrate!.healthcheck).toEqual({ disable: true });
  });

  it('pins every image to an explicit version tag (no latest, no bare names)', () => {
    const env = exampleEnv();
    for (const [name, service] of Object.entries(services)) {
      expect(service.image, `${name} has an image`).toBeTruthy();
      const image = interpolate(String(service.image), env);
      const tag = /:([^/:]+)$/.exec(image)?.[1];
      expect(tag, `${name}: ${image}`).toBeTruthy();
      expect(tag, `${name}: ${image}`).not.toMatch(/^latest$/);
      expect(tag, `${name}: ${image} names a version`).toMatch(/\d/);
    }
    // Compose's default for the UVIS image tag does not exist: UVIS_VERSION is required.
    expect(String(services.api!.image)).toContain('${UVIS_VERSION:?');
  });

  it('builds from paths that exist, and mounts files that exist', () => {
    for (const [name, service] of Object.entries(services)) {
      if (service.build) {
        const build = typeof service.build === 'string' ? { context: service.build } : service.build;
        const context = projectPath(build.context);
        expect(existsSync(context) && statSync(context).isDirectory(), `${name} build context`).toBe(true);
        expect(existsSync(projectPath(build.context, build.dockerfile ?? 'Dockerfile')), `${name} Dockerfile`).toBe(true);
      }
      for (const volume of (service.volumes ?? []) as string[]) {
        const source = volume.split(':')[0]!;
        if (!source.startsWith('./')) continue;
        expect(existsSync(projectPath(source)), `${name} mounts ${source}`).toBe(true);
      }
    }
    for (const { file } of Object.values(compose.secrets ?? {}) as { file?: string }[]) if (file) expect(existsSync(projectPath(file))).toBe(true);
  });

  it('runs migrations once, first: api and workers wait for the migrate service to finish', () => {
    expect(services.migrate!.command).toEqual(['migrate']);
    expect(services.migrate!.restart).toBe('no');
    for (const name of ['api', 'worker']) {
      expect(services[name]!.depends_on.migrate).toEqual({ condition: 'service_completed_successfully' });
      expect(services[name]!.depends_on.postgres.condition).toBe('service_healthy');
      expect(services[name]!.depends_on.redis.condition).toBe('service_healthy');
    }
    expect(services.api!.command).toEqual(['api']);
    expect(services.worker!.command).toEqual(['worker']);
  });

  it('lets api and worker scale: no container name, no fixed host port, and a stop grace longer than the drain', () => {
    for (const name of ['api', 'worker']) {
      expect(services[name], name).not.toHaveProperty('container_name');
      expect(services[name], name).not.toHaveProperty('ports');
    }
    const seconds = (s: string) => Number(/^(\d+)s$/.exec(s)![1]);
    expect(seconds(services.api!.stop_grace_period)).toBeGreaterThan((5000 + 15_000) / 1000);
  });

  it('runs the restore commands of docs/operations.md in services that mount what they write', () => {
    const operations = readFileSync(projectPath('docs/operations.md'), 'utf8');
    const commands = [...operations.matchAll(/^docker compose run .*--entrypoint node (\w+) dist\/scripts\/restore\.js(.*)$/gm)];
    expect(commands.length).toBeGreaterThanOrEqual(2);
    for (const [line, service, args] of commands) {
      const volumes = (services[service!]!.volumes as string[]) ?? [];
      expect(
        volumes.some((v) => v.startsWith('backups:/var/lib/uvis/backups')),
        line,
      ).toBe(true);
      // Unpacking uploaded files needs the uploads volume writable.
      if (args!.includes('--files')) expect(volumes, line).toContain('uploads:/var/lib/uvis/uploads');
    }
  });

  it('persists PostgreSQL and Redis, with the settings BullMQ needs', () => {
    expect(services.postgres!.volumes).toContain('pgdata:/var/lib/postgresql/data');
    expect(services.postgres!.healthcheck.test.join(' ')).toContain('pg_isready');
    const redis = (services.redis!.command as string[]).join(' ');
    expect(redis).toMatch(/--appendonly yes/);
    expect(redis).toMatch(/--appendfsync everysec/);
    expect(redis).toMatch(/--maxmemory-policy noeviction/);
    expect(services.redis!.volumes).toContain('redisdata:/data');
    expect(services.worker!.volumes).toContain('backups:/var/lib/uvis/backups');
    expect(compose['x-uvis-environment'].BACKUP_DIR).toBe('/var/lib/uvis/backups');
  });

  it('wires Prometheus to the names and ports monitoring/prometheus.yml scrapes, with its rules', () => {
    const prometheus = readYaml('monitoring', 'prometheus.yml');
    const mounts = services.prometheus!.volumes as string[];
    expect(mounts).toContain('./monitoring:/etc/prometheus:ro');
    expect(services.prometheus!.command).toContain('--config.file=/etc/prometheus/prometheus.yml');
    for (const file of prometheus.rule_files as string[]) expect(existsSync(projectPath('monitoring', file))).toBe(true);
    // UVIS needs METRICS_TOKEN in production: Prometheus reads the same value from a compose secret.
    expect(compose.secrets).toMatchObject({ metrics_token: { environment: 'METRICS_TOKEN' } });
    expect(services.prometheus!.secrets).toContain('metrics_token');
    for (const name of ['uvis-api', 'uvis-worker']) {
      const job = (prometheus.scrape_configs as Yaml[]).find((j) => j.job_name === name)!;
      expect(job.authorization, name).toEqual({ type: 'Bearer', credentials_file: '/run/secrets/metrics_token' });
    }
    for (const job of prometheus.scrape_configs as Yaml[]) {
      for (const sd of job.dns_sd_configs ?? []) {
        for (const host of sd.names as string[]) {
          expect(services[host], `service ${host}`).toBeTruthy();
          expect((services[host]!.expose as string[]).map(String), `${host} exposes ${sd.port}`).toContain(String(sd.port));
        }
      }
      for (const target of (job.static_configs ?? []).flatMap((s: Yaml) => s.targets as string[])) {
        const host = target.split(':')[0]!;
        if (host !== 'localhost') expect(services[host], `${job.job_name} target ${target}`).toBeTruthy();
      }
    }
  });

  it('starts Alertmanager through its render script, with the webhook and SMTP password as secrets from the environment', () => {
    const am = services.alertmanager!;
    expect(am.entrypoint).toEqual(['/bin/sh', '/etc/alertmanager/render-config.sh']);
    expect(am.volumes).toContain('./monitoring/alertmanager:/etc/alertmanager:ro');
    expect(am.secrets).toEqual(['slack_webhook_url', 'smtp_password']);
    expect(compose.secrets).toMatchObject({ slack_webhook_url: { environment: 'SLACK_WEBHOOK_URL' }, smtp_password: { environment: 'SMTP_PASSWORD' } });
    const template = readFileSync(projectPath('monitoring', 'alertmanager', 'alertmanager.yml.template'), 'utf8');
    expect(template).toContain('/run/secrets/slack_webhook_url');
    expect(template).toContain('/run/secrets/smtp_password');
    // Every variable the render script needs is given to the container.
    const script = readFileSync(projectPath('monitoring', 'alertmanager', 'render-config.sh'), 'utf8');
    const needed = /for name in ([A-Z_ ]+); do/.exec(script)![1]!.trim().split(/\s+/);
    for (const name of needed) expect(Object.keys(am.environment), name).toContain(name);
  });

  it('provisions Grafana with the dashboard and both datasources, and ships logs to Loki', () => {
    const grafana = services.grafana!.volumes as string[];
    expect(grafana).toContain('./monitoring/grafana/provisioning:/etc/grafana/provisioning:ro');
    expect(grafana).toContain('./monitoring/grafana/dashboards:/var/lib/grafana/dashboards:ro');
    const datasources = readYaml('monitoring', 'grafana', 'provisioning', 'datasources', 'datasources.yml').datasources as Yaml[];
    expect(datasources.map((d) => [d.uid, d.type, d.url])).toEqual([
      ['prometheus', 'prometheus', 'http://prometheus:9090'],
      ['loki', 'loki', 'http://loki:3100'],
    ]);
    const loki = readYaml('monitoring', 'loki', 'loki.yml');
    expect(loki.server.http_listen_port).toBe(3100);
    expect(loki.limits_config.retention_period).toBeTruthy();
    const alloy = readFileSync(projectPath('monitoring', 'loki', 'alloy.alloy'), 'utf8');
    expect(alloy).toContain('url = "http://loki:3100/loki/api/v1/push"');
    expect(alloy).toContain('loki.source.docker');
    // Request and job ids stay in the line (not labels), where `| json` finds them.
    expect(alloy).toMatch(/values = \{ service = "", role = "", level = "" \}/);
    expect(services.alloy!.volumes).toContain('/var/run/docker.sock:/var/run/docker.sock:ro');
  });

  it('puts nginx in front with the repository configuration and mounted certificates', () => {
    const nginx = services.nginx!;
    expect(nginx.ports).toEqual(['80:80', '443:443']);
    expect(nginx.volumes).toContain('./nginx/nginx.conf:/etc/nginx/nginx.conf:ro');
    expect(nginx.volumes).toContain('./nginx/templates:/etc/nginx/templates:ro');
    expect((nginx.volumes as string[]).some((v) => v.endsWith(':/etc/nginx/certs:ro'))).toBe(true);
    expect(nginx.environment.UVIS_UPSTREAM).toBe('api:3000');
    // Docker's embedded DNS, so scaled and replaced API replicas are found.
    expect(nginx.environment.UVIS_RESOLVER).toBe('127.0.0.11');
    const template = readFileSync(projectPath('nginx', 'templates', 'uvis.conf.template'), 'utf8');
    const placeholders = new Set([...template.matchAll(/\$\{(UVIS_[A-Z_]+)\}/g)].map((m) => m[1]));
    expect(
      [...placeholders].filter((p) => !(p! in nginx.environment)),
      'nginx placeholders without a value',
    ).toEqual([]);
  });
});
