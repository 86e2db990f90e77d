/** .env.example names every setting (UVIS's and the stack's) and holds no secret. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ENV_KEYS } from '../../lib/config.js';
import { projectPath } from '../../lib/paths.js';
import { readDotenv } from './support.js';

/** Keys the compose stack adds beside UVIS's own. */
const STACK_KEYS = [
  'UVIS_IMAGE',
  'UVIS_VERSION',
  'API_REPLICAS',
  'WORKER_REPLICAS',
  'PUBLIC_HOSTNAME',
  'TLS_CERT_DIR',
  'POSTGRES_PASSWORD',
  'REDIS_PASSWORD',
  'REDIS_MAXMEMORY',
  'GRAFANA_ADMIN_PASSWORD',
  'SLACK_CHANNEL',
  'SLACK_WEBHOOK_URL',
  'ALERT_EMAIL_TO',
  'ALERT_EMAIL_FROM',
  'SMTP_SMARTHOST',
  'SMTP_USERNAME',
  'SMTP_PASSWORD',
];

const SECRETS = [
  'JWT_SECRET',
  'POSTGRES_PASSWORD',
  'REDIS_PASSWORD',
  'GRAFANA_ADMIN_PASSWORD',
  'SLACK_WEBHOOK_URL',
  'SMTP_PASSWORD',
  'METRICS_TOKEN',
  'BACKUP_S3_SECRET_ACCESS_KEY',
  'BACKUP_S3_ACCESS_KEY_ID',
];

describe('.env.example', () => {
  const listed = readDotenv('.env.example', { includeCommented: true });

  it('lists every key in ENV_KEYS (lib/config.ts)', () => {
    const missing = ENV_KEYS.filter((key) => !listed.has(key));
    expect(missing, 'add these keys to .env.example').toEqual([]);
  });

  it('lists the keys the compose stack adds (database, Grafana, alerting, image)', () => {
    expect(STACK_KEYS.filter((key) => !listed.has(key))).toEqual([]);
  });

  it('names no key twice and nothing UVIS and the stack do not read', () => {
    const lines = readFileSync(projectPath('.env.example'), 'utf8')
      .split('\n')
      .filter((l) => /^#?\s*[A-Z][A-Z0-9_]*=/.test(l.trim()));
    const names = lines.map((l) => /([A-Z][A-Z0-9_]*)=/.exec(l)![1]!);
    expect(names.length).toBe(new Set(names).size);
    const known = new Set([...ENV_KEYS, ...STACK_KEYS]);
    expect(names.filter((n) => !known.has(n))).toEqual([]);
  });

  it('commits no secret: secrets are empty placeholders', () => {
    for (const key of SECRETS) expect(listed.get(key), key).toBe('');
  });

  it('keeps .env itself out of git and out of the image build context', () => {
    expect(readFileSync(projectPath('.gitignore'), 'utf8').split('\n')).toContain('.env');
    const dockerignore = readFileSync(projectPath('.dockerignore'), 'utf8').split('\n');
    expect(dockerignore).toContain('.env');
    expect(dockerignore).toContain('.env.*');
  });
});
