/**
 * Re-encoding a proof's image (DESIGN.md "Proof of delivery"): decoded and encoded anew by sharp
 * (libvips), never stored as sent. That applies the EXIF orientation to the pixels, drops every
 * piece of metadata (EXIF with its GPS position and camera make and model, XMP, IPTC, ICC after
 * conversion to sRGB: sharp keeps none unless asked to), shrinks the long side to PROOF_MAX_SIDE,
 * and turns anything that merely looks like an image into a refusal.
 *
 * The work runs on libuv's thread pool (sharp's native calls are asynchronous), so the event loop
 * keeps serving other requests while a photo is decoded.
 */
import sharp from 'sharp';
import { PROOF_MAX_INPUT_PIXELS, PROOF_MAX_SIDE, PROOF_STORED_TYPE, type ProofKind } from '../domain/proofs.js';
import { AppError } from '../lib/errors/index.js';

// Every proof is read once: libvips' operation cache would only hold memory (up to 50 MB by default).
sharp.cache(false);

/**
 * Re-encodes running at once in a process: one. Each holds a decoded photo (a 12-megapixel one is
 * 36 MB of pixels) and libvips' buffers. Measured with 20 concurrent uploads of 4 MB photos
 * (npm run bench:proofs, docs/performance.md): four at once (libuv's default threads) took the
 * API to 517 MB, two to 447 MB, one to 355 MB (target < 400 MB), at 3.8 photos a second instead
 * of 6 (the second core re-encoded a second photo). Hundreds of deliveries a day need far less;
 * memory is what an API process must not run out of. Waiting uploads stay on disk, not in memory.
 */
const MAX_CONCURRENT_REENCODES = 1;
let running = 0;
const queued: (() => void)[] = [];

async function inTurn<T>(work: () => Promise<T>): Promise<T> {
  if (running < MAX_CONCURRENT_REENCODES) running += 1;
  else await new Promise<void>((resolve) => queued.push(resolve)); // the finishing one hands its turn over
  try {
    return await work();
  } finally {
    const next = queued.shift();
    if (next) next();
    else running -= 1;
  }
}

export interface ProofImage {
  data: Buffer;
  contentType: 'image/jpeg' | 'image/png';
  extension: 'jpg' | 'png';
  width: number;
  height: number;
}

/** 422: the bytes say JPEG, PNG or WebP, but they do not decode as one (truncated, corrupt), or declare too many pixels. */
export class ImageRefusedError extends AppError {
  constructor(code: 'image_unreadable' | 'image_too_large', message: string) {
    super(422, code, message);
  }
}

/**
 * Reads the uploaded file at `path` (never into JavaScript memory as a whole) and returns the image to store:
 * a photo as JPEG on white (a transparent PNG would otherwise turn black), a signature as PNG.
 */
export function reencodeProofImage(path: string, kind: ProofKind): Promise<ProofImage> {
  return inTurn(() => reencode(path, kind));
}

async function reencode(path: string, kind: ProofKind): Promise<ProofImage> {
  const stored = PROOF_STORED_TYPE[kind];
  // failOn 'error': a truncated or corrupt image is refused rather than stored half grey.
  // limitInputPixels: the header's dimensions are checked before anything is decoded (PNG bombs).
  // animated false: the first frame of an animated WebP or PNG.
  let image = sharp(path, { failOn: 'error', limitInputPixels: PROOF_MAX_INPUT_PIXELS, animated: false })
    .rotate()
    .resize({ width: PROOF_MAX_SIDE, height: PROOF_MAX_SIDE, fit: 'inside', withoutEnlargement: true });
  image = kind === 'photo' ? image.flatten({ background: '#ffffff' }).jpeg({ quality: 85 }) : image.png({ compressionLevel: 9 });
  try {
    const { data, info } = await image.toBuffer({ resolveWithObject: true });
    return { data, contentType: stored.contentType, extension: stored.extension, width: info.width, height: info.height };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (/pixel limit/i.test(message)) {
      throw new ImageRefusedError('image_too_large', `the image declares more than ${PROOF_MAX_INPUT_PIXELS.toLocaleString('en')} pixels`);
    }
    throw new ImageRefusedError('image_unreadable', 'the image cannot be decoded (truncated or corrupt)');
  }
}
