import { AppError } from './app-error.js';
import { ConflictError } from './conflict-error.js';
import { UnavailableError } from './unavailable-error.js';

// Connection-level failures: the request itself was fine, a dependency was not.
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN']);
// PostgreSQL SQLSTATEs for a server that is shutting down, starting or gone.
const PG_UNAVAILABLE = new Set(['57P01', '57P02', '57P03', '08000', '08001', '08003', '08006', '53300']);
// Deadlock and serialization failure: PostgreSQL rolled the transaction back; the same request succeeds on a retry.
const PG_RETRY_NOW = new Set(['40P01', '40001']);

function isDatabaseDown(err: Record<string, unknown>): boolean {
  const name = String(err.name ?? '');
  const message = String(err.message ?? '');
  return (
    name === 'KnexTimeoutError' ||
    PG_UNAVAILABLE.has(String(err.code ?? '')) ||
    /Connection terminated|connection timeout|Client has encountered a connection error/i.test(message)
  );
}

function isRedisDown(err: Record<string, unknown>): boolean {
  const name = String(err.name ?? '');
  const message = String(err.message ?? '');
  return name === 'MaxRetriesPerRequestError' || /enableOfflineQueue|Connection is closed|Command timed out|Stream isn't writeable|ioredis/i.test(message);
}

/** Maps infrastructure failures to a 503 the client can act on; everything else stays as is. */
export function classifyError(err: unknown): unknown {
  if (err instanceof AppError || typeof err !== 'object' || err === null) return err;
  const e = err as Record<string, unknown>;
  // Constraint violations that validation could not foresee (a race, a duplicate natural key).
  if (e.code === '23505') return new ConflictError('conflicts with an existing record', 'duplicate', { constraint: e.constraint ?? null });
  if (e.code === '23503') return new AppError(422, 'invalid_reference', 'refers to a record that does not exist', { constraint: e.constraint ?? null });
  // A CHECK constraint the schema enforces beyond validation (a weight, a coordinate range).
  if (e.code === '23514') return new AppError(422, 'constraint_violated', 'a value is outside what the record allows', { constraint: e.constraint ?? null });
  // A data exception (class 22): a value validation let through that PostgreSQL cannot take.
  if (/^22/.test(String(e.code ?? ''))) return new AppError(400, 'invalid_value', 'a value could not be read or stored', { sqlstate: e.code });
  if (PG_RETRY_NOW.has(String(e.code ?? ''))) return new UnavailableError('database', 'collided with a concurrent change and was rolled back; retry', 1);
  if (isRedisDown(e)) return new UnavailableError('redis');
  if (isDatabaseDown(e)) return new UnavailableError('database');
  // ioredis retries connections internally and never surfaces these to callers; pg does.
  if (NETWORK_CODES.has(String(e.code ?? ''))) return new UnavailableError('database');
  return err;
}
