/** SHA-256 of a stream while it flows past, and of a stored object. */
import { createHash } from 'node:crypto';
import { Transform, pipeline, type Readable } from 'node:stream';

/** Passes `source` through unchanged; digest() is valid once the stream has ended. */
export function hashing(source: Readable): { stream: Readable; digest: () => string } {
  const hash = createHash('sha256');
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  // pipeline propagates a failure of the source to `stream`, where the consumer sees it.
  pipeline(source, stream, () => {});
  return { stream, digest: () => hash.digest('hex') };
}
