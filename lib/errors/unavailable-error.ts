import { AppError } from './app-error.js';

export const SERVICE_UNAVAILABLE = 'service_unavailable';

/** 503: a dependency (PostgreSQL, Redis, the proof storage) does not answer; the client may retry. */
export class UnavailableError extends AppError {
  constructor(dependency: 'database' | 'queue' | 'redis' | 'server' | 'storage', message?: string, retryAfterSeconds = 5) {
    super(
      503,
      SERVICE_UNAVAILABLE,
      message ?? `${dependency} unavailable, retry shortly`,
      { dependency },
      {
        'Retry-After': String(retryAfterSeconds),
      },
    );
  }
}
