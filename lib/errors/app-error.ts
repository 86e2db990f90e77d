/** Base of every error a client may see: a stable code, an HTTP status and optional details. */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = new.target.name;
  }

  /**
   * What only the logs may see (a constraint, table or SQLSTATE): the error handler
   * logs it with the request id and never puts it in the response.
   */
  internal?: Record<string, unknown>;

  withInternal(internal: Record<string, unknown>): this {
    this.internal = internal;
    return this;
  }
}
