/**
 * An async value made on first use and shared after. A failure is not kept: the next
 * caller tries again (a bucket that was unreachable at the first download must not
 * break downloads until the process restarts).
 */
export function lazy<T>(make: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () =>
    (value ??= make().catch((err: unknown) => {
      value = undefined;
      throw err;
    }));
}
