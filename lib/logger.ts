/** One pino root logger per process; everything else uses child loggers of it. */
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

// Anything that can carry a credential, where our code could put it. Explicit paths,
// not wildcards: wildcard redaction tripled the cost of every log line (measured,
// docs/performance.md), and request lines never include headers or bodies anyway.
const SECRET_FIELDS = ['password', 'token', 'access_token', 'refresh_token', 'authorization', 'cookie', 'jwtSecret', 'secretAccessKey'];
const CONTAINERS = ['headers', 'body', 'user', 'data', 'config', 'credentials', 'req.headers', 'res.headers', 'err.config.headers'];
export const REDACT_PATHS = [
  ...SECRET_FIELDS,
  ...CONTAINERS.flatMap((container) => SECRET_FIELDS.map((field) => `${container}.${field}`)),
  'req.headers["x-xsrf-token"]',
  'res.headers["set-cookie"]',
];

export interface LoggerOptions {
  level: string;
  /** Where lines go; stdout by default. Tests pass a stream to read lines back. */
  destination?: DestinationStream;
  base?: Record<string, unknown>;
}

export function createLogger({ level, destination, base }: LoggerOptions): Logger {
  return pino(
    {
      level,
      base: { service: 'uvis', ...base },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    // Asynchronous writes keep logging off the request's critical path; shutdown flushes.
    destination ?? pino.destination({ dest: 1, sync: false, minLength: 4096 }),
  );
}
