import { AppError } from './app-error.js';

export const CONFLICT = 'conflict';

/** 409: the request is well formed but the current state refuses it; `code` says why. */
export class ConflictError extends AppError {
  constructor(message: string, code: string = CONFLICT, details?: unknown) {
    super(409, code, message, details);
  }
}
