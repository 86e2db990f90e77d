import { AppError } from './app-error.js';

export const NOT_FOUND = 'not_found';

export class NotFoundError extends AppError {
  constructor(what: string) {
    super(404, NOT_FOUND, `${what} not found`);
  }
}
