import { AppError } from './app-error.js';

export const VALIDATION_FAILED = 'validation_failed';

export interface FieldProblem {
  /** Where the problem is: body, query or params, then the path inside it. */
  field: string;
  message: string;
}

export class ValidationError extends AppError {
  constructor(message: string, details: FieldProblem[] = []) {
    super(400, VALIDATION_FAILED, message, details);
  }
}
