/** One pino root logger per process; everything else uses child loggers of it. */
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

// Anything that can carry a credential. pino removes these before a line is written.
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-xsrf-token"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'authorization',
  'password',
  'token',
  'access_token',
  'refresh_token',
  '*.password',
  '*.token',
  '*.access_token',
  '*.refresh_token',
  '*.authorization',
  '*.jwtSecret',
  '*.secretAccessKey',
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
