/**
 * Receiving a proof's multipart form as a stream (busboy): the file goes straight to a temporary
 * file under UPLOADS_DIR/.incoming (mode 0600), hashed and counted on the way, and never whole in
 * memory. What can be refused is refused while reading, not after:
 * - a declared Content-Length beyond the largest photo, before a byte is read (413);
 * - a file past its kind's limit, the moment it passes it (413): the kind sent before the file
 *   decides the limit; a file sent first is held to the photo limit and checked again once `kind` arrives;
 * - bytes that are not JPEG, PNG or WebP, from the first 4 KiB (415; file-type reads the magic numbers).
 * Such an early answer carries `Connection: close`, so the rest of the body is not read.
 *
 * Whatever ends the upload early (a refusal, a client that disconnects, a timeout) removes the
 * temporary file before the promise settles; the caller removes it after use with `cleanup`.
 */
import busboy from 'busboy';
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Request } from 'express';
import { fileTypeFromBuffer } from 'file-type';
import { INCOMING_UPLOADS } from '../backups/proof-storage.js';
import { ACCEPTED_IMAGE_TYPES, PROOF_KINDS, PROOF_MAX_BYTES, type ProofKind } from '../domain/proofs.js';
import { AppError } from '../lib/errors/index.js';

/** The folder of uploads in progress, inside UPLOADS_DIR (the weekly backup leaves it out). */
export const INCOMING_DIR = INCOMING_UPLOADS;

/** What file-type may need to tell a format; JPEG, PNG and WebP need far less. */
const SNIFF_BYTES = 4100;
/** Room for the form's boundaries, part headers and text fields beside the largest file. */
const FORM_OVERHEAD_BYTES = 64 * 1024;
const FIELDS = ['kind', 'recipient_name', 'note'] as const;

export type SniffedType = (typeof ACCEPTED_IMAGE_TYPES)[number];

export interface ReceivedUpload {
  /** The text fields as sent (validated by the caller). */
  fields: Record<string, string>;
  /** The file part, or undefined when the form had none. */
  file?: { path: string; bytes: number; sha256: string; type: SniffedType };
  /** Removes the temporary file. */
  cleanup(): Promise<void>;
}

/** A refusal that may come before the body is read: the connection closes after the answer. */
function refuse(status: number, code: string, message: string, details?: unknown): AppError {
  return new AppError(status, code, message, details, { Connection: 'close' });
}

function tooLarge(kind: ProofKind): AppError {
  const limit = PROOF_MAX_BYTES[kind];
  return refuse(413, 'file_too_large', `a ${kind} may be at most ${limit} bytes (${kind === 'photo' ? '10 MiB' : '512 KiB'})`, { kind, limit_bytes: limit });
}

const isKind = (value: string | undefined): value is ProofKind => (PROOF_KINDS as readonly string[]).includes(value ?? '');

/** Counts, hashes and sniffs the file's bytes on their way to disk; errors (413, 415) stop the stream at once. */
class Inspector extends Transform {
  bytes = 0;
  type: SniffedType | undefined;
  private readonly hash = createHash('sha256');
  private head: Buffer[] = [];
  private headBytes = 0;

  constructor(private readonly limit: () => { kind: ProofKind; bytes: number }) {
    super();
  }

  get sha256(): string {
    return this.hash.digest('hex');
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null, data?: Buffer) => void): void {
    this.bytes += chunk.length;
    const limit = this.limit();
    if (this.bytes > limit.bytes) return done(tooLarge(limit.kind));
    this.hash.update(chunk);
    if (this.type || this.headBytes >= SNIFF_BYTES) return done(null, chunk);
    this.head.push(chunk);
    this.headBytes += chunk.length;
    if (this.headBytes < SNIFF_BYTES) return done(null, chunk);
    this.sniff().then(() => done(null, chunk), done);
  }

  override _flush(done: (err?: Error | null) => void): void {
    if (this.type) return done();
    if (this.bytes === 0) return done(refuse(400, 'validation_failed', 'request is invalid', [{ field: 'body.file', message: 'the file is empty' }]));
    this.sniff().then(() => done(), done);
  }

  private async sniff(): Promise<void> {
    const found = await fileTypeFromBuffer(Buffer.concat(this.head));
    this.head = [];
    if (!found || !(ACCEPTED_IMAGE_TYPES as readonly string[]).includes(found.mime)) {
      throw refuse(415, 'unsupported_image_type', `the file is not a JPEG, PNG or WebP image${found ? ` (its bytes say ${found.mime})` : ''}`, {
        detected: found?.mime ?? null,
        accepted: ACCEPTED_IMAGE_TYPES,
      });
    }
    this.type = found.mime as SniffedType;
  }
}

/** Reads the form of `req`; resolves once all of it is read and the file is on disk, rejects (with the file removed) otherwise. */
export async function receiveProofUpload(req: Request, uploadsDir: string): Promise<ReceivedUpload> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > PROOF_MAX_BYTES.photo + FORM_OVERHEAD_BYTES) throw tooLarge('photo');
  const dir = join(uploadsDir, INCOMING_DIR);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, `${randomUUID()}.upload`);
  const cleanup = () => rm(path, { force: true });

  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: req.headers,
      defParamCharset: 'utf8',
      // The file's own limit is the Inspector's; busboy's only stop a runaway form (one spare
      // field and part, so that an unknown or repeated field is named by the checks below).
      limits: { files: 1, fields: FIELDS.length + 1, parts: FIELDS.length + 2, fieldSize: 4096, headerPairs: 20, fileSize: PROOF_MAX_BYTES.photo + 1 },
    });
  } catch (err) {
    throw refuse(400, 'invalid_form', `not a readable multipart/form-data body: ${err instanceof Error ? err.message : String(err)}`);
  }

  return new Promise<ReceivedUpload>((resolve, reject) => {
    const fields: Record<string, string> = {};
    let fileStream: Readable | undefined;
    let inspector: Inspector | undefined;
    let writing: Promise<void> | undefined;
    let settled = false;

    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      req.unpipe(parser);
      parser.removeAllListeners();
      parser.on('error', () => {});
      fileStream?.resume();
      inspector?.destroy();
      // The write stream must be closed before the file is removed, or its open could create it again afterwards.
      void (writing ?? Promise.resolve())
        .catch(() => {})
        .then(cleanup)
        .finally(() => reject(err));
    };

    parser.on('field', (name, value, info) => {
      if (!(FIELDS as readonly string[]).includes(name))
        return fail(refuse(400, 'validation_failed', 'request is invalid', [{ field: `body.${name}`, message: 'unknown field' }]));
      if (name in fields) return fail(refuse(400, 'validation_failed', 'request is invalid', [{ field: `body.${name}`, message: 'sent twice' }]));
      if (info.valueTruncated) return fail(refuse(400, 'validation_failed', 'request is invalid', [{ field: `body.${name}`, message: 'too long' }]));
      fields[name] = value;
    });
    parser.on('file', (name, stream) => {
      if (name !== 'file' || writing) {
        stream.resume();
        return fail(refuse(400, 'validation_failed', 'request is invalid', [{ field: `body.${name}`, message: 'one file, in the field "file"' }]));
      }
      fileStream = stream;
      const current = (inspector = new Inspector(() => {
        const kind = isKind(fields.kind) ? fields.kind : 'photo';
        return { kind, bytes: PROOF_MAX_BYTES[kind] };
      }));
      writing = pipeline(stream, current, createWriteStream(path, { flags: 'wx', mode: 0o600 }));
      writing.catch(fail);
    });
    for (const limit of ['partsLimit', 'filesLimit', 'fieldsLimit'] as const) {
      parser.on(limit, () =>
        fail(refuse(400, 'validation_failed', 'request is invalid', [{ field: 'body', message: `only the fields ${FIELDS.join(', ')} and one file` }])),
      );
    }
    parser.on('error', (err: unknown) =>
      fail(refuse(400, 'invalid_form', `the multipart/form-data body is malformed: ${err instanceof Error ? err.message : String(err)}`)),
    );
    parser.on('close', () => {
      void (writing ?? Promise.resolve()).then(
        () => {
          if (settled) return;
          settled = true;
          const file = inspector ? { path, bytes: inspector.bytes, sha256: inspector.sha256, type: inspector.type! } : undefined;
          resolve({ fields, file, cleanup });
        },
        () => {},
      );
    });
    // A client that goes away (or a request timeout) mid-upload: nothing of it may stay.
    req.on('close', () => {
      if (!req.complete) fail(new AppError(400, 'request_aborted', 'the upload was interrupted'));
    });
    req.pipe(parser);
  });
}

/** Removes uploads a crashed process left in UPLOADS_DIR/.incoming (older than `olderThanMs`). */
export async function sweepIncomingUploads(uploadsDir: string, olderThanMs: number, now = Date.now()): Promise<number> {
  const dir = join(uploadsDir, INCOMING_DIR);
  let removed = 0;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    const path = join(dir, name);
    const info = await stat(path).catch(() => undefined);
    if (info?.isFile() && now - info.mtimeMs > olderThanMs) {
      await rm(path, { force: true });
      removed++;
    }
  }
  return removed;
}
