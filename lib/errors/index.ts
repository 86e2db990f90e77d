export { AppError } from './app-error.js';
export { ValidationError, VALIDATION_FAILED, type FieldProblem } from './validation-error.js';
export { NotFoundError, NOT_FOUND } from './not-found-error.js';
export { ConflictError, CONFLICT } from './conflict-error.js';
export { UnauthorizedError, UNAUTHORIZED } from './unauthorized-error.js';
export { ForbiddenError, FORBIDDEN } from './forbidden-error.js';
export { UnavailableError, SERVICE_UNAVAILABLE } from './unavailable-error.js';
export { classifyError } from './classify.js';
