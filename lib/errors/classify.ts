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
  return (
    name === 'MaxRetriesPerRequestError' ||
    name === 'ClusterAllFailedError' ||
    /enableOfflineQueue|Connection is closed|Command timed out|Stream isn't writeable|ioredis/i.test(message) ||
    // Redis Cluster routing while slots move or a master is being replaced: the request was fine, retry it.
    REDIS_CLUSTER_REPLIES.test(message) ||
    /Too many Cluster redirections|Cluster isn't ready|Failed to refresh slots cache|None of startup nodes is available/.test(message)
  );
}

// Error replies of a cluster (or a replica) in transition: no route for the slot yet, a slot on the
// move, a master being elected, a former master now a read-only replica, a node still loading its data.
const REDIS_CLUSTER_REPLIES = /^(CLUSTERDOWN|TRYAGAIN|MOVED|ASK|MASTERDOWN|READONLY|LOADING|NOREPLICAS)\b/;

/**
 * The request field a constraint guards, in the API's words. Constraint, index and
 * table names are the schema's internals: they go to the logs (AppError.internal),
 * never to the client, who learns which field and what kind of problem.
 */
const CONSTRAINT_FIELDS: Record<string, string> = {
  vehicles_license_plate_key: 'license_plate',
  drivers_license_number_key: 'license_number',
  clients_business_number_key: 'business_number',
  users_email_key: 'email',
  users_driver_id_key: 'driver_id',
  users_driver_needs_driver: 'driver_id',
  dispatches_one_active_per_order: 'order_id',
  dispatches_one_active_per_vehicle: 'vehicle_id',
  dispatches_one_active_per_driver: 'driver_id',
  vehicles_capacity_kg_check: 'capacity_kg',
  orders_weight_kg_check: 'weight',
};

function fieldOf(e: Record<string, unknown>): string | null {
  const constraint = String(e.constraint ?? '');
  const mapped = CONSTRAINT_FIELDS[constraint];
  if (mapped) return mapped;
  // A foreign key <table>_<column>_fkey: its column is the body field holding the id (vehicle_id, client_id...).
  const table = String(e.table ?? '');
  const column = table && constraint.startsWith(`${table}_`) ? /^([a-z]+_id)_fkey$/.exec(constraint.slice(table.length + 1))?.[1] : undefined;
  return column ?? null;
}

// Data exceptions (class 22) a client can act on, in plain words.
const DATA_PROBLEMS: Record<string, { problem: string; message: string }> = {
  '22001': { problem: 'text_too_long', message: 'a text value is too long' },
  '22003': { problem: 'number_out_of_range', message: 'a number is out of range' },
  '22007': { problem: 'invalid_date_time', message: 'a date or time could not be read' },
  '22008': { problem: 'invalid_date_time', message: 'a date or time is out of range' },
  '22P02': { problem: 'wrong_type', message: 'a value is not of the expected type' },
};

function internalOf(e: Record<string, unknown>): Record<string, unknown> {
  return { sqlstate: e.code ?? null, constraint: e.constraint ?? null, table: e.table ?? null, column: e.column ?? null };
}

/** Maps infrastructure failures to a 503 the client can act on; everything else stays as is. */
export function classifyError(err: unknown): unknown {
  if (err instanceof AppError || typeof err !== 'object' || err === null) return err;
  const e = err as Record<string, unknown>;
  // Constraint violations that validation could not foresee (a race, a duplicate natural key).
  if (e.code === '23505') {
    const field = fieldOf(e);
    return new ConflictError(field ? `${field} is already taken by another record` : 'conflicts with an existing record', 'duplicate', { field }).withInternal(
      internalOf(e),
    );
  }
  if (e.code === '23503') {
    const field = fieldOf(e);
    return new AppError(422, 'invalid_reference', field ? `${field} refers to a record that does not exist` : 'refers to a record that does not exist', {
      field,
    }).withInternal(internalOf(e));
  }
  // A CHECK constraint the schema enforces beyond validation (a weight, a coordinate range).
  if (e.code === '23514') {
    const field = fieldOf(e);
    return new AppError(422, 'constraint_violated', field ? `${field} is outside what the record allows` : 'a value is outside what the record allows', {
      field,
    }).withInternal(internalOf(e));
  }
  // A data exception (class 22): a value validation let through that PostgreSQL cannot take.
  if (/^22/.test(String(e.code ?? ''))) {
    const known = DATA_PROBLEMS[String(e.code)];
    return new AppError(400, 'invalid_value', known?.message ?? 'a value could not be read or stored', {
      problem: known?.problem ?? 'invalid_value',
    }).withInternal(internalOf(e));
  }
  if (PG_RETRY_NOW.has(String(e.code ?? ''))) return new UnavailableError('database', 'collided with a concurrent change and was rolled back; retry', 1);
  if (isRedisDown(e)) return new UnavailableError('redis');
  if (isDatabaseDown(e)) return new UnavailableError('database');
  // ioredis retries connections internally and never surfaces these to callers; pg does.
  if (NETWORK_CODES.has(String(e.code ?? ''))) return new UnavailableError('database');
  return err;
}
