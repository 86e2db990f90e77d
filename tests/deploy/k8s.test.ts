/**
 * deploy/k8s/, checked without a cluster. Each kustomization (the base, the production
 * overlay, and their migration Jobs) is rendered by `kubectl kustomize` (kustomize 5, built
 * into kubectl: the real renderer, not a copy of its rules), and every rendered object is
 * validated against its schema: Kubernetes' from kubernetes-models, KEDA's ScaledObject and
 * the Prometheus Operator's PodMonitor from their @kubernetes-models CRD packages. Those
 * validators (JSON Schema, compiled with Ajv) let unknown fields through, as the OpenAPI
 * schemas do, while the API server refuses them; so the rendered objects are also
 * type-checked with tsc against the same packages' types, whose excess-property check
 * catches a misspelt field. What no schema can know is checked after that: selectors,
 * references between objects, settings against lib/config.ts, the queue groups against
 * the job catalogue, probes against a running API and workers, and the ScaledObjects'
 * PromQL in promtool.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PodMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { QUEUE_NAMES, workerQueues } from '../../jobs/index.js';
import { ENV_KEYS, ROLES, loadConfig } from '../../lib/config.js';
import { projectPath } from '../../lib/paths.js';
import { parseMetrics } from '../helpers/prom-text.js';
import { startTestUvis, type TestUvis } from '../helpers/uvis.js';
import type { Yaml } from './support.js';

const KUSTOMIZATIONS = ['base', 'base/migrate', 'overlays/production', 'overlays/production/migrate'] as const;
type Kustomization = (typeof KUSTOMIZATIONS)[number];

/** Every kind the manifests use, with the model whose schema validates it; a new kind must be added here. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/ServiceAccount': ServiceAccount,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'batch/v1/Job': Job,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'networking.k8s.io/v1/Ingress': Ingress,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
  'monitoring.coreos.com/v1/PodMonitor': PodMonitor,
};

/** The module and type name of each kind's TypeScript interface, for the unknown-field check. */
const TYPES: Record<string, [module: string, type: string]> = {
  'v1/ServiceAccount': ['kubernetes-models/v1/ServiceAccount', 'IServiceAccount'],
  'v1/ConfigMap': ['kubernetes-models/v1/ConfigMap', 'IConfigMap'],
  'v1/Secret': ['kubernetes-models/v1/Secret', 'ISecret'],
  'v1/Service': ['kubernetes-models/v1/Service', 'IService'],
  'apps/v1/Deployment': ['kubernetes-models/apps/v1/Deployment', 'IDeployment'],
  'batch/v1/Job': ['kubernetes-models/batch/v1/Job', 'IJob'],
  'policy/v1/PodDisruptionBudget': ['kubernetes-models/policy/v1/PodDisruptionBudget', 'IPodDisruptionBudget'],
  'autoscaling/v2/HorizontalPodAutoscaler': ['kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler', 'IHorizontalPodAutoscaler'],
  'networking.k8s.io/v1/Ingress': ['kubernetes-models/networking.k8s.io/v1/Ingress', 'IIngress'],
  'networking.k8s.io/v1/NetworkPolicy': ['kubernetes-models/networking.k8s.io/v1/NetworkPolicy', 'INetworkPolicy'],
  'keda.sh/v1alpha1/ScaledObject': ['@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject', 'IScaledObject'],
  'monitoring.coreos.com/v1/PodMonitor': ['@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor', 'IPodMonitor'],
};

const kindKey = (o: Yaml) => `${o.apiVersion}/${o.kind}`;
const where = (k: string, o: Yaml) => `${k}: ${o.kind}/${o.metadata?.name}`;

function render(dir: Kustomization): Yaml[] {
  const text = execFileSync('kubectl', ['kustomize', projectPath('deploy', 'k8s', dir)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return parseAllDocuments(text)
    .map((doc) => doc.toJS() as Yaml)
    .filter(Boolean);
}

const rendered = {} as Record<Kustomization, Yaml[]>;
const of = (k: Kustomization, kind: string) => rendered[k].filter((o) => o.kind === kind);
const named = (k: Kustomization, kind: string, name: string) => of(k, kind).find((o) => o.metadata.name === name);
/** Deployments and Jobs: what has a pod template. */
const workloads = (k: Kustomization) => rendered[k].filter((o) => o.kind === 'Deployment' || o.kind === 'Job');
const podLabels = (w: Yaml): Record<string, string> => w.spec.template.metadata.labels;
const container = (w: Yaml): Yaml => w.spec.template.spec.containers[0];

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** Kubernetes' label selector semantics (matchLabels and the four matchExpressions operators). */
function selects(selector: LabelSelector, labels: Record<string, string>): boolean {
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpressions = (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
    if (operator === 'In') return key in labels && values.includes(labels[key]!);
    if (operator === 'NotIn') return !(key in labels) || !values.includes(labels[key]!);
    if (operator === 'Exists') return key in labels;
    if (operator === 'DoesNotExist') return !(key in labels);
    throw new Error(`unknown selector operator ${operator}`);
  });
  return byLabels && byExpressions;
}

/** The containerPort a probe, Service or policy names (by name or number) in a pod's container. */
function portNumber(w: Yaml, port: string | number): number | undefined {
  const ports: { name?: string; containerPort: number }[] = container(w).ports ?? [];
  return typeof port === 'number' ? ports.find((p) => p.containerPort === port)?.containerPort : ports.find((p) => p.name === port)?.containerPort;
}

function configData(k: Kustomization): Record<string, string> {
  const maps = of(k, 'ConfigMap');
  expect(maps, `${k}: one ConfigMap`).toHaveLength(1);
  return maps[0]!.data;
}

/** The `kubectl create secret generic uvis-secrets` command of docs/deploy.md, continuation lines joined. */
function documentedSecretCommand(): string {
  const lines = readFileSync(projectPath('docs', 'deploy.md'), 'utf8').split('\n');
  const start = lines.findIndex((l) => /^kubectl -n uvis create secret generic uvis-secrets\b/.test(l));
  expect(start, 'docs/deploy.md shows how to create the Secret uvis-secrets').toBeGreaterThan(0);
  let command = lines[start]!;
  for (let i = start + 1; command.endsWith('\\'); i++) command = `${command.slice(0, -1).trimEnd()} ${lines[i]!.trim()}`;
  return command;
}

/** The Secret that command makes, run with --dry-run=client against no cluster, as key -> value. */
function documentedSecret(): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'uvis-k8s-secret-'));
  try {
    const json = execFileSync('bash', ['-c', `${documentedSecretCommand()} --dry-run=client -o json`], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH!, HOME: dir, KUBECONFIG: join(dir, 'no-such-kubeconfig') },
    });
    const secret = JSON.parse(json);
    new Secret(secret).validate();
    expect(secret.metadata).toMatchObject({ name: 'uvis-secrets', namespace: 'uvis' });
    return Object.fromEntries(Object.entries(secret.data as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

beforeAll(() => {
  let version: string;
  try {
    version = execFileSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
  } catch {
    throw new Error('kubectl is needed to render deploy/k8s (`kubectl kustomize`); it is part of the machine image');
  }
  const kustomize = /Kustomize Version: v(\d+)\./.exec(version);
  expect(Number(kustomize?.[1]), `kustomize 5 or newer in kubectl (components, labels): ${version}`).toBeGreaterThanOrEqual(5);
  for (const k of KUSTOMIZATIONS) rendered[k] = render(k);
});

describe('deploy/k8s renders, and every object is valid for its schema', () => {
  it('renders each kustomization with kubectl kustomize, with the kinds expected', () => {
    const kinds = (k: Kustomization) => [...new Set(rendered[k].map((o) => o.kind))].sort();
    expect(kinds('base')).toEqual([
      'ConfigMap',
      'Deployment',
      'HorizontalPodAutoscaler',
      'Ingress',
      'NetworkPolicy',
      'PodDisruptionBudget',
      'ScaledObject',
      'Service',
      'ServiceAccount',
    ]);
    expect(kinds('overlays/production')).toEqual([...kinds('base'), 'PodMonitor'].sort());
    expect(kinds('base/migrate')).toEqual(['ConfigMap', 'Job', 'NetworkPolicy', 'ServiceAccount']);
    expect(kinds('overlays/production/migrate')).toEqual(kinds('base/migrate'));
    // No Secret is ever rendered: the one Secret is created by hand (docs/deploy.md).
    for (const k of KUSTOMIZATIONS) expect(of(k, 'Secret'), k).toEqual([]);
  });

  it('validates every rendered object against the Kubernetes, KEDA and Prometheus Operator schemas', () => {
    for (const k of KUSTOMIZATIONS) {
      for (const object of rendered[k]) {
        const Model = MODELS[kindKey(object)];
        expect(Model, `${where(k, object)}: no schema known for ${kindKey(object)}; add it to MODELS`).toBeDefined();
        expect(() => new Model!(object as never).validate(), where(k, object)).not.toThrow();
      }
    }
  });

  it('would refuse an object its schema forbids (the validators are not a formality)', () => {
    const deployment = structuredClone(named('base', 'Deployment', 'uvis-api')!);
    deployment.spec.template.spec.containers[0].ports[0].containerPort = 'three thousand';
    expect(() => new Deployment(deployment as never).validate()).toThrow(/containerPort/);
    const scaled = structuredClone(of('base', 'ScaledObject')[0]!);
    delete scaled.spec.triggers;
    expect(() => new ScaledObject(scaled as never).validate()).toThrow(/triggers/);
    scaled.spec.triggers = [];
    scaled.spec.fallback.behavior = 'sometimes';
    expect(() => new ScaledObject(scaled as never).validate()).toThrow(/behavior/);
  });

  it('has no field the schemas do not know (tsc: every object against its type, and a misspelt control that must fail)', () => {
    // tsc resolves the packages from the file's folder: a scratch folder under node_modules.
    const root = join(projectPath('node_modules'), '.cache');
    mkdirSync(root, { recursive: true });
    const dir = mkdtempSync(join(root, 'uvis-k8s-types-'));
    try {
      const imports = new Set<string>();
      const lines: string[] = [];
      let n = 0;
      const add = (object: Yaml) => {
        const [module, type] = TYPES[kindKey(object)]!;
        imports.add(`import type { ${type} } from '${module}';`);
        lines.push(`export const o${n++} = ${JSON.stringify(object)} satisfies ${type};`);
      };
      for (const k of KUSTOMIZATIONS) for (const object of rendered[k]) add(object);
      const control = structuredClone(named('base', 'Deployment', 'uvis-api')!);
      control.spec.template.spec.containers[0].readinesProbe = control.spec.template.spec.containers[0].readinessProbe;
      add(control);
      const file = join(dir, 'objects.ts');
      writeFileSync(file, [...imports, ...lines].join('\n') + '\n');
      let output = '';
      try {
        execFileSync(
          projectPath('node_modules', '.bin', 'tsc'),
          ['--noEmit', '--strict', '--skipLibCheck', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--pretty', 'false', file],
          { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
        );
      } catch (err) {
        output = (err as { stdout: string }).stdout;
      }
      const errors = output.split('\n').filter((l) => l.includes('error TS'));
      // The control, on the last line, and nothing else.
      expect(errors, output).toHaveLength(1);
      expect(errors[0]).toContain(`objects.ts(${imports.size + lines.length},`);
      expect(errors[0]).toMatch(/readinesProbe.* does not exist in type 'IContainer'/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('references between the objects', () => {
  for (const k of ['base', 'overlays/production'] as const) {
    it(`${k}: every Deployment's selector matches its own pod labels`, () => {
      for (const w of of(k, 'Deployment')) expect(selects(w.spec.selector, podLabels(w)), where(k, w)).toBe(true);
    });
  }

  for (const k of ['base', 'overlays/production'] as const) {
    it(`${k}: each Deployment's pods are selected by its own selector only, and each PDB covers exactly one Deployment`, () => {
      const deployments = of(k, 'Deployment');
      for (const a of deployments) {
        for (const b of deployments)
          if (a !== b) expect(selects(a.spec.selector, podLabels(b)), `${a.metadata.name} selects ${b.metadata.name}'s pods`).toBe(false);
      }
      for (const pdb of of(k, 'PodDisruptionBudget')) {
        expect(deployments.filter((d) => selects(pdb.spec.selector, podLabels(d))).map((d) => d.metadata.name)).toEqual([pdb.metadata.name]);
      }
      expect(
        of(k, 'PodDisruptionBudget')
          .map((p) => p.metadata.name)
          .sort(),
      ).toEqual(deployments.map((d) => d.metadata.name).sort());
    });

    it(`${k}: the Service selects the API's pods and its targetPort is one of their ports`, () => {
      const [service] = of(k, 'Service');
      const targets = of(k, 'Deployment').filter((d) => selects({ matchLabels: service!.spec.selector }, podLabels(d)));
      expect(targets.map((d) => d.metadata.name)).toEqual(['uvis-api']);
      for (const port of service!.spec.ports) expect(portNumber(targets[0]!, port.targetPort), port.name).toBe(3000);
    });

    it(`${k}: every Ingress routes to an existing Service port, on one host with its TLS certificate`, () => {
      const hosts = new Set<string>();
      for (const ingress of of(k, 'Ingress')) {
        expect(ingress.spec.ingressClassName).toBe('nginx');
        for (const rule of ingress.spec.rules) {
          hosts.add(rule.host);
          expect(
            ingress.spec.tls.flatMap((t: Yaml) => t.hosts),
            ingress.metadata.name,
          ).toContain(rule.host);
          for (const path of rule.http.paths) {
            const service = named(k, 'Service', path.backend.service.name);
            expect(service, `${ingress.metadata.name} ${path.path}`).toBeDefined();
            expect(service!.spec.ports.map((p: Yaml) => p.name)).toContain(path.backend.service.port.name);
          }
        }
      }
      expect([...hosts]).toEqual(['uvis.example.com']);
    });

    it(`${k}: the HPA and every ScaledObject target an existing Deployment, one autoscaler each, and no Deployment sets replicas`, () => {
      const autoscaled = [...of(k, 'HorizontalPodAutoscaler'), ...of(k, 'ScaledObject')].map((a) => {
        expect(a.spec.scaleTargetRef).toMatchObject({ apiVersion: 'apps/v1', kind: 'Deployment' });
        expect(named(k, 'Deployment', a.spec.scaleTargetRef.name), where(k, a)).toBeDefined();
        return a.spec.scaleTargetRef.name as string;
      });
      expect(autoscaled.sort()).toEqual(
        of(k, 'Deployment')
          .map((d) => d.metadata.name as string)
          .sort(),
      );
      // The HPA and KEDA own the counts: a replicas field would reset them at every apply.
      for (const d of of(k, 'Deployment')) expect(d.spec.replicas, d.metadata.name).toBeUndefined();
      const [hpa] = of(k, 'HorizontalPodAutoscaler');
      expect(hpa!.spec.scaleTargetRef.name).toBe('uvis-api');
      expect(hpa!.spec.metrics).toEqual([{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }]);
      expect(hpa!.spec.minReplicas).toBeGreaterThanOrEqual(2);
      // Utilization is relative to the request: the API must have one.
      expect(container(named(k, 'Deployment', 'uvis-api')!).resources.requests.cpu).toBeTruthy();
    });
  }

  for (const k of ['base', 'overlays/production'] as const) {
    it(`${k}: every NetworkPolicy selects pods that exist, and names ports they have`, () => {
      const pods = workloads(k).concat(workloads(`${k}/migrate`));
      for (const policy of of(k, 'NetworkPolicy')) {
        const selected = pods.filter((w) => selects(policy.spec.podSelector, podLabels(w)));
        expect(selected.length, policy.metadata.name).toBeGreaterThan(0);
        for (const rule of policy.spec.ingress ?? []) {
          for (const { port } of rule.ports)
            for (const w of selected) expect(portNumber(w, port), `${policy.metadata.name}: ${w.metadata.name} ${port}`).toBeDefined();
        }
      }
    });
  }

  it('NetworkPolicies: deny by default; the API takes traffic from the ingress controller and Prometheus, workers from Prometheus only; only webhook workers reach the internet', () => {
    const k = 'overlays/production';
    const policies = of(k, 'NetworkPolicy');
    const pods = [...workloads(k), ...workloads(`${k}/migrate`)];
    const applying = (w: Yaml, type: 'Ingress' | 'Egress') =>
      policies.filter((p) => p.spec.policyTypes.includes(type) && selects(p.spec.podSelector, podLabels(w)));
    const namespacesFrom = (w: Yaml) =>
      applying(w, 'Ingress').flatMap((p) =>
        (p.spec.ingress ?? []).flatMap((r: Yaml) => r.from.map((f: Yaml) => f.namespaceSelector?.matchLabels['kubernetes.io/metadata.name'])),
      );
    for (const w of pods) {
      // Every pod is under a policy of both types, so anything not allowed is denied.
      expect(applying(w, 'Ingress').length, w.metadata.name).toBeGreaterThan(0);
      expect(applying(w, 'Egress').length, w.metadata.name).toBeGreaterThan(0);
      const expected = w.metadata.name === 'uvis-api' ? ['ingress-nginx', 'monitoring'] : w.kind === 'Job' ? [] : ['monitoring'];
      expect(namespacesFrom(w).sort(), w.metadata.name).toEqual(expected);
      const internet = applying(w, 'Egress').some((p) => (p.spec.egress ?? []).some((r: Yaml) => r.to?.some((t: Yaml) => t.ipBlock?.cidr === '0.0.0.0/0')));
      expect(internet, w.metadata.name).toBe(w.metadata.name === 'uvis-worker-webhooks');
    }
    // Webhooks never reach private, metadata or loopback addresses (as lib/address-guard.ts refuses).
    const webhooks = named(k, 'NetworkPolicy', 'uvis-egress-webhooks')!;
    expect(webhooks.spec.egress[0].to[0].ipBlock.except).toEqual(
      expect.arrayContaining(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16', '127.0.0.0/8']),
    );
  });
});

describe('settings: keys of lib/config.ts, secrets by reference, a production configuration that starts', () => {
  const SECRET_KEYS = [
    'DATABASE_URL',
    // PostgreSQL itself, past PgBouncer (DATABASE_URL): migrations and backups keep session state.
    'DATABASE_DIRECT_URL',
    'REDIS_URL',
    'JWT_SECRET',
    'METRICS_TOKEN',
    'WEBHOOK_SECRET_KEY',
    'BACKUP_S3_ACCESS_KEY_ID',
    'BACKUP_S3_SECRET_ACCESS_KEY',
  ];

  for (const k of KUSTOMIZATIONS) {
    it(`${k}: the ConfigMap and every container's env name only settings UVIS reads, and no secret`, () => {
      const data = configData(k);
      expect(
        Object.keys(data).filter((key) => !ENV_KEYS.includes(key)),
        'not keys of lib/config.ts',
      ).toEqual([]);
      expect(
        Object.keys(data).filter((key) => SECRET_KEYS.includes(key)),
        'secrets belong in uvis-secrets',
      ).toEqual([]);
      for (const w of workloads(k)) {
        const c = container(w);
        for (const { name } of c.env ?? []) expect(ENV_KEYS, `${w.metadata.name}: ${name}`).toContain(name);
        // Settings from the rendered ConfigMap (its generated name), secrets from uvis-secrets, nothing inline.
        expect(c.envFrom, w.metadata.name).toEqual([{ configMapRef: { name: of(k, 'ConfigMap')[0]!.metadata.name } }, { secretRef: { name: 'uvis-secrets' } }]);
        for (const { valueFrom } of c.env ?? []) expect(valueFrom, w.metadata.name).toBeUndefined();
      }
    });
  }

  it('the migration Job runs with the same image and the same ConfigMap as the application it precedes', () => {
    for (const k of ['base', 'overlays/production'] as const) {
      const job = of(`${k}/migrate`, 'Job')[0]!;
      expect(of(`${k}/migrate`, 'ConfigMap')[0]).toEqual(of(k, 'ConfigMap')[0]);
      for (const w of of(k, 'Deployment')) expect(container(w).image, w.metadata.name).toBe(container(job).image);
      expect(container(job).image).toMatch(/^ghcr\.io\/[\w-]+\/uvis:\d+\.\d+\.\d+$/);
    }
  });

  it('docs/deploy.md creates the Secret with exactly the keys production needs (run with --dry-run=client)', () => {
    expect(Object.keys(documentedSecret()).sort()).toEqual([...SECRET_KEYS].sort());
  });

  it('every production pod gets a configuration that loads under production rules, with the documented Secret', () => {
    const secret = documentedSecret();
    for (const k of ['overlays/production', 'overlays/production/migrate'] as const) {
      for (const w of workloads(k)) {
        const c = container(w);
        const env = { ...configData(k), ...secret, ...Object.fromEntries((c.env ?? []).map((e: Yaml) => [e.name, e.value])) };
        const config = loadConfig(env);
        expect(config.isProduction, w.metadata.name).toBe(true);
        expect(config.backup.targets).toEqual(['s3']);
        expect(config.proofs.storage).toBe('s3');
        expect(config.port).toBe(portNumber(named('overlays/production', 'Deployment', 'uvis-api')!, 'http'));
        // Without the Secret, production refuses to start (so the Secret is what makes it work).
        expect(() => loadConfig({ ...configData(k), ...Object.fromEntries((c.env ?? []).map((e: Yaml) => [e.name, e.value])) }), w.metadata.name).toThrow(
          /JWT_SECRET: required in production/,
        );
      }
    }
  });

  it('the commands are the roles main.ts knows: api, worker for each group, migrate for the Job', () => {
    for (const k of ['base', 'overlays/production'] as const) {
      for (const d of of(k, 'Deployment')) {
        const [role] = container(d).args;
        expect(ROLES).toContain(role);
        expect(role).toBe(d.metadata.name === 'uvis-api' ? 'api' : 'worker');
      }
      expect(container(of(`${k}/migrate`, 'Job')[0]!).args).toEqual(['migrate']);
    }
  });

  it('the worker groups cover every queue of the catalogue exactly once', () => {
    for (const k of ['base', 'overlays/production'] as const) {
      const workers = of(k, 'Deployment').filter((d) => container(d).args[0] === 'worker');
      const served = workers.flatMap((d) => {
        const value = container(d).env.find((e: Yaml) => e.name === 'WORKER_QUEUES')?.value;
        expect(value, `${d.metadata.name}: WORKER_QUEUES`).toBeTruthy();
        return workerQueues(loadConfig({ WORKER_QUEUES: value }).worker.queues);
      });
      expect([...served].sort()).toEqual([...QUEUE_NAMES].sort());
      expect(served.length).toBe(new Set(served).size);
    }
  });

  it('every pod stops within its grace period: drain delay + shutdown timeout + 5 s < terminationGracePeriodSeconds', () => {
    for (const k of ['base', 'overlays/production'] as const) {
      const data = configData(k);
      for (const d of of(k, 'Deployment')) {
        const budgetMs = Number(data.SHUTDOWN_TIMEOUT_MS) + (d.metadata.name === 'uvis-api' ? Number(data.SHUTDOWN_DRAIN_DELAY_MS) : 0) + 5000;
        expect(d.spec.template.spec.terminationGracePeriodSeconds * 1000, d.metadata.name).toBeGreaterThanOrEqual(budgetMs);
      }
    }
  });
});

describe('pods: restricted security, resources, pinned image', () => {
  for (const k of KUSTOMIZATIONS) {
    it(`${k}: non-root, read-only root, no privilege escalation or capabilities, runtime seccomp; requests and a memory limit; no service account token`, () => {
      for (const w of workloads(k)) {
        const pod = w.spec.template.spec;
        const c = container(w);
        expect(pod.securityContext, w.metadata.name).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' } });
        expect(c.securityContext, w.metadata.name).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
        expect(pod.automountServiceAccountToken).toBe(false);
        expect(named(k, 'ServiceAccount', pod.serviceAccountName), `${w.metadata.name}: service account`).toBeDefined();
        expect(c.resources.requests.cpu && c.resources.requests.memory && c.resources.limits.memory, w.metadata.name).toBeTruthy();
        expect(c.image, w.metadata.name).toMatch(/:[\w.-]+$/);
        expect(c.image).not.toMatch(/:latest$/);
        // A read-only root: everything UVIS writes is on a mounted volume that exists.
        const volumes = pod.volumes.map((v: Yaml) => v.name);
        for (const mount of c.volumeMounts) expect(volumes, `${w.metadata.name}: ${mount.name}`).toContain(mount.name);
        const mounted = c.volumeMounts.map((m: Yaml) => m.mountPath);
        expect(mounted).toContain('/tmp');
        const data = configData(k);
        if (container(w).args[0] === 'api') expect(mounted).toContain(data.UPLOADS_DIR);
        // The backups worker reads BACKUP_DIR (leftovers sweep) and archives UPLOADS_DIR weekly.
        if ((c.env ?? []).some((e: Yaml) => e.name === 'WORKER_QUEUES' && e.value.split(',').includes('backups'))) {
          expect(mounted).toContain(data.BACKUP_DIR);
          expect(mounted).toContain(data.UPLOADS_DIR);
        }
      }
    });
  }
});

describe('probes answer on a running API and workers', () => {
  const processes: TestUvis[] = [];
  let metricsText = '';

  beforeAll(async () => {
    // One process per Deployment of the production render, with its role and WORKER_QUEUES.
    for (const d of of('overlays/production', 'Deployment')) {
      const env = Object.fromEntries((container(d).env ?? []).map((e: Yaml) => [e.name, e.value]));
      const first = processes[0];
      processes.push(
        await startTestUvis({ role: container(d).args[0], env, ...(first ? { database: first.database, prefix: first.config.redisPrefix } : {}) }),
      );
    }
    const api = processes[0]!;
    metricsText = await (await fetch(`${api.baseUrl}/metrics`)).text();
  }, 120_000);

  afterAll(async () => {
    for (const p of processes.slice(1).reverse()) await p.stop({ keepData: true });
    await processes[0]?.stop();
  });

  it('every probe names a port of its container, which is PORT (API) or METRICS_PORT (workers), and its path answers 200 there', async () => {
    const data = configData('overlays/production');
    const deployments = of('overlays/production', 'Deployment');
    for (const [i, d] of deployments.entries()) {
      const c = container(d);
      const role = c.args[0];
      const running = processes[i]!.running;
      const probes = (['startupProbe', 'livenessProbe', 'readinessProbe'] as const).filter((p) => c[p]);
      expect(probes, d.metadata.name).toContain('livenessProbe');
      if (role === 'api') expect(probes).toContain('readinessProbe');
      for (const name of probes) {
        const { path, port } = c[name].httpGet;
        const containerPort = portNumber(d, port);
        expect(containerPort, `${d.metadata.name} ${name}: port ${port}`).toBe(Number(role === 'api' ? data.PORT : data.METRICS_PORT));
        // The test processes listen on free ports: the probe's path is asked where the role listens.
        const listening = role === 'api' ? running.port : running.metricsPort;
        const response = await fetch(`http://127.0.0.1:${listening}${path}`);
        expect(response.status, `${d.metadata.name} ${name} ${path}`).toBe(200);
      }
    }
  });

  it("the ScaledObjects' queries name queues and states that uvis_queue_jobs exports, the namespace they are in, and their target's queues", () => {
    const exported = parseMetrics(metricsText).filter((s) => s.name === 'uvis_queue_jobs');
    const queues = new Set(exported.map((s) => s.labels.queue));
    const states = new Set(exported.map((s) => s.labels.state));
    expect([...queues].sort()).toEqual([...QUEUE_NAMES].sort());
    for (const k of ['base', 'overlays/production'] as const) {
      for (const scaled of of(k, 'ScaledObject')) {
        const target = named(k, 'Deployment', scaled.spec.scaleTargetRef.name)!;
        const served = container(target)
          .env.find((e: Yaml) => e.name === 'WORKER_QUEUES')
          .value.split(',');
        const triggered: string[] = [];
        for (const trigger of scaled.spec.triggers) {
          expect(trigger.type).toBe('prometheus');
          expect(trigger.metricType).toBe('AverageValue');
          const query: string = trigger.metadata.query;
          const matchers = Object.fromEntries([...query.matchAll(/(\w+)(=~?)"([^"]*)"/g)].map(([, label, op, value]) => [label, { op, value }]));
          expect(matchers.namespace, query).toEqual({ op: '=', value: scaled.metadata.namespace });
          expect(matchers.queue.op).toBe('=');
          expect(queues, query).toContain(matchers.queue.value);
          expect(trigger.name).toBe(matchers.queue.value);
          triggered.push(matchers.queue.value);
          expect(matchers.state.op).toBe('=~');
          const queried = matchers.state.value.split('|');
          expect([...queried].sort()).toEqual(['delayed', 'prioritized', 'waiting']);
          for (const state of queried) expect(states, state).toContain(state);
          expect(Number(trigger.metadata.threshold)).toBeGreaterThan(0);
          expect(trigger.metadata.ignoreNullValues).toBe('false');
        }
        expect(triggered.sort(), scaled.metadata.name).toEqual([...served].sort());
      }
    }
  });
});

describe("the ScaledObjects' PromQL, evaluated by promtool", () => {
  it('gives waiting + prioritized + delayed of its queue, once however many processes export it, in its namespace only', () => {
    // Every process exports every queue's counts; the worker's scrape is a little newer
    // than the API's (1 more of each). Another namespace's UVIS must not count.
    const STATES = ['waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized'];
    const value = (q: number, s: number) => (q + 1) * 1000 + (s + 1) * 10;
    const series: { series: string; values: string }[] = [];
    QUEUE_NAMES.forEach((queue, q) =>
      STATES.forEach((state, s) => {
        series.push({
          series: `uvis_queue_jobs{namespace="uvis",job="uvis-api",pod="api-1",queue="${queue}",state="${state}"}`,
          values: `${value(q, s) - 1}+0x3`,
        });
        series.push({
          series: `uvis_queue_jobs{namespace="uvis",job="uvis-worker",pod="worker-1",queue="${queue}",state="${state}"}`,
          values: `${value(q, s)}+0x3`,
        });
        series.push({
          series: `uvis_queue_jobs{namespace="staging",job="uvis-worker",pod="worker-9",queue="${queue}",state="${state}"}`,
          values: '999999+0x3',
        });
      }),
    );
    const tests = of('overlays/production', 'ScaledObject').flatMap((scaled) =>
      scaled.spec.triggers.map((trigger: Yaml) => {
        const q = QUEUE_NAMES.indexOf(trigger.name);
        const expected = ['waiting', 'prioritized', 'delayed'].reduce((sum, state) => sum + value(q, STATES.indexOf(state)), 0);
        return { expr: trigger.metadata.query, eval_time: '2m', exp_samples: [{ labels: '{}', value: expected }] };
      }),
    );
    expect(tests.length).toBe(QUEUE_NAMES.length);
    const dir = mkdtempSync(join(tmpdir(), 'uvis-k8s-promql-'));
    try {
      const file = join(dir, 'queries.test.yml');
      writeFileSync(
        file,
        JSON.stringify({ rule_files: [], evaluation_interval: '1m', tests: [{ interval: '1m', input_series: series, promql_expr_test: tests }] }),
      );
      const output = execFileSync('promtool', ['test', 'rules', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      expect(output).toContain('SUCCESS');
      // And wrong queries fail there: BullMQ's `wait` alone, or a sum over the processes.
      const first = tests[0]!;
      for (const expr of [first.expr.replace('waiting|prioritized|delayed', 'waiting'), first.expr.replace('max by (state)', 'sum by (state)')]) {
        expect(expr).not.toBe(first.expr);
        writeFileSync(
          file,
          JSON.stringify({
            rule_files: [],
            evaluation_interval: '1m',
            tests: [{ interval: '1m', input_series: series, promql_expr_test: [{ ...first, expr }] }],
          }),
        );
        expect(() => execFileSync('promtool', ['test', 'rules', file], { stdio: ['ignore', 'pipe', 'pipe'] }), expr).toThrow();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('docs/deploy.md', () => {
  const docs = readFileSync(projectPath('docs', 'deploy.md'), 'utf8');
  const section = docs.slice(docs.indexOf('## Kubernetes'));

  it('describes applying the overlay after the migration Job, and marks every shell block as not run here', () => {
    expect(section).toContain('kubectl apply -k deploy/k8s/overlays/production/migrate');
    expect(section).toContain('kubectl -n uvis wait --for=condition=complete job/uvis-migrate');
    expect(section.indexOf('kubectl apply -k deploy/k8s/overlays/production/migrate')).toBeLessThan(
      section.indexOf('kubectl apply -k deploy/k8s/overlays/production\n'),
    );
    for (const [, body] of section.matchAll(/```(?:sh|bash|shell)\n([\s\S]*?)```/g)) expect(body!.split('\n')[0]).toMatch(/^# not run: .{6,}/);
  });

  it('names every worker Deployment with its WORKER_QUEUES', () => {
    for (const d of of('overlays/production', 'Deployment').filter((w) => container(w).args[0] === 'worker')) {
      const queues = container(d).env.find((e: Yaml) => e.name === 'WORKER_QUEUES').value;
      expect(section).toContain(`| \`${d.metadata.name}\` | \`${queues}\` |`);
    }
  });
});
