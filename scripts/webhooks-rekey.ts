/**
 * npm run webhooks:rekey: after WEBHOOK_SECRET_KEY was changed, with the old key in
 * WEBHOOK_SECRET_KEY_PREVIOUS, encrypts every stored webhook signing secret again under the new
 * key (use-cases/webhooks.ts reencryptSecrets). Safe to run while UVIS runs (deliveries decrypt
 * with either key meanwhile) and to run again. Exit codes: 0 done, 1 failed, 2 not configured,
 * 3 some secrets are under neither key (named; rotate those endpoints' secrets).
 */
import { createDb } from '../db/knex.js';
import { ConfigError, loadConfig } from '../lib/config.js';
import { reencryptSecrets } from '../use-cases/webhooks.js';

async function main(): Promise<number> {
  const config = loadConfig();
  const previous = config.webhooks.previousSecretKey;
  if (!previous) {
    process.stderr.write('webhooks:rekey: set WEBHOOK_SECRET_KEY_PREVIOUS to the old key (and WEBHOOK_SECRET_KEY to the new one)\n');
    return 2;
  }
  const db = createDb({ url: config.databaseUrl, poolMin: 0, poolMax: 2, statementTimeoutMs: 60_000, applicationName: 'uvis-webhooks-rekey' });
  try {
    const result = await reencryptSecrets(db, { current: config.webhooks.secretKey, previous });
    process.stdout.write(`checked ${result.checked} endpoints; re-encrypted ${result.reencrypted} under the new key\n`);
    if (result.unreadable.length > 0) {
      process.stderr.write(
        `webhooks:rekey: endpoints ${result.unreadable.join(', ')} have a secret neither key decrypts; rotate their secrets (POST /api/v1/webhooks/endpoints/:id/rotate-secret)\n`,
      );
      return 3;
    }
    return 0;
  } finally {
    await db.destroy();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`webhooks:rekey: ${err instanceof ConfigError ? err.message : err instanceof Error ? err.message : String(err)}\n`);
    process.exit(err instanceof ConfigError ? 2 : 1);
  },
);
