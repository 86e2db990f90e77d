import { AppError } from './app-error.js';

export const UNAUTHORIZED = 'unauthorized';

export class UnauthorizedError extends AppError {
  constructor(message = 'authentication required', code: string = UNAUTHORIZED) {
    super(401, code, message, undefined, { 'WWW-Authenticate': 'Bearer' });
  }
}
