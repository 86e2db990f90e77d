import { AppError } from './app-error.js';

export const FORBIDDEN = 'forbidden';

export class ForbiddenError extends AppError {
  constructor(message = 'not allowed for your role', code: string = FORBIDDEN) {
    super(403, code, message);
  }
}
