/** Images and uploads for the proof-of-delivery tests: real files (sharp, exiftool), real multipart over HTTP. */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import type { ApiClient } from './api-client.js';
import { assign, createDriverAccount, createOrder, createVehicle } from './fixtures.js';
import { expect } from 'vitest';

export const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

/**
 * A 400 × 200 JPEG, left quarter blue and the rest red, carrying EXIF GPS (서울시청), camera make and
 * model, and Orientation 6 ("rotate 90° clockwise to display"), written by exiftool as a phone would.
 */
export async function phoneJpeg(): Promise<Buffer> {
  const blue = await sharp({ create: { width: 100, height: 200, channels: 3, background: '#0000ff' } })
    .png()
    .toBuffer();
  const plain = await sharp({ create: { width: 400, height: 200, channels: 3, background: '#ff0000' } })
    .composite([{ input: blue, left: 0, top: 0 }])
    .jpeg({ quality: 95 })
    .toBuffer();
  const dir = mkdtempSync(join(tmpdir(), 'uvis-exif-'));
  try {
    const file = join(dir, 'phone.jpg');
    writeFileSync(file, plain);
    await promisify(execFile)('exiftool', [
      '-overwrite_original',
      '-n',
      '-Make=UVIS Phone Maker',
      '-Model=Model X-1000',
      '-Orientation=6',
      '-GPSLatitude=37.5665',
      '-GPSLatitudeRef=N',
      '-GPSLongitude=126.978',
      '-GPSLongitudeRef=E',
      '-DateTimeOriginal=2026:11:29 14:03:00',
      file,
    ]);
    return readFileSync(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A small signature-like PNG with transparency. */
export function signaturePng(width = 300, height = 120): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
    .composite([
      {
        input: Buffer.from(
          `<svg width="${width}" height="${height}"><path d="M10 60 Q 80 10 150 60 T 290 60" stroke="black" stroke-width="4" fill="none"/></svg>`,
        ),
      },
    ])
    .png()
    .toBuffer();
}

/** A valid JPEG of noise, about `bytes` large (noise does not compress). */
export async function noiseJpeg(width: number, height: number): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 2654435761) >>> 24;
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 95 })
    .toBuffer();
}

function crc32(buf: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of buf) {
    let c = (crc ^ byte) & 0xff;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    crc = (crc >>> 8) ^ c;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A PNG "bomb": a few kilobytes declaring 100,000 × 100,000 pixels (30 GB decoded). */
export function pngBomb(side = 100_000): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(side, 0);
  header.writeUInt32BE(side, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // RGB
  const row = Buffer.alloc(1 + side * 3);
  const data = deflateSync(Buffer.concat(Array.from({ length: 16 }, () => row)));
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), pngChunk('IHDR', header), pngChunk('IDAT', data), pngChunk('IEND', Buffer.alloc(0))]);
}

export interface ProofFormFields {
  kind?: string;
  recipient_name?: string;
  note?: string;
}

/** Uploads through fetch's FormData: fields first, then the file (as a phone's app would). */
export function uploadProof(
  api: ApiClient,
  token: string | undefined,
  dispatchId: number,
  fields: ProofFormFields,
  file: Uint8Array | undefined,
  options: { filename?: string; type?: string; headers?: Record<string, string> } = {},
) {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) if (value !== undefined) form.append(name, value);
  if (file) form.append('file', new Blob([new Uint8Array(file)], { type: options.type ?? 'image/jpeg' }), options.filename ?? 'photo.jpg');
  return fetch(`${api.baseUrl}/api/v1/mobile/dispatches/${dispatchId}/proofs`, {
    method: 'POST',
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...options.headers },
    body: form,
  }).then(async (res) => {
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, body: text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text };
  });
}

export const BOUNDARY = '----uvis-proof-test-boundary';

/** The multipart bytes before a file's content: the fields, then the file part's headers. */
export function formHead(fields: ProofFormFields, filename = 'photo.jpg'): Buffer {
  let text = '';
  for (const [name, value] of Object.entries(fields)) text += `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  text += `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: image/jpeg\r\n\r\n`;
  return Buffer.from(text, 'utf8');
}
export const FORM_TAIL = Buffer.from(`\r\n--${BOUNDARY}--\r\n`, 'utf8');

/**
 * A raw upload over node:http that sends only `send` of the body (never the rest) and waits for an
 * answer: proves the server answered before reading the whole body. Resolves with the status, or
 * 'no answer' after `waitMs`.
 */
export function partialUpload(
  baseUrl: string,
  token: string,
  dispatchId: number,
  send: Buffer[],
  options: { contentLength?: number; waitMs?: number } = {},
): Promise<{ status: number | 'no answer'; body: string }> {
  const url = new URL(`${baseUrl}/api/v1/mobile/dispatches/${dispatchId}/proofs`);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { authorization: `Bearer ${token}`, 'content-type': `multipart/form-data; boundary=${BOUNDARY}` };
    if (options.contentLength !== undefined) headers['content-length'] = options.contentLength;
    const req = httpRequest({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers });
    const timer = setTimeout(() => {
      req.destroy();
      resolve({ status: 'no answer', body: '' });
    }, options.waitMs ?? 5000);
    req.on('response', (res: IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        clearTimeout(timer);
        req.destroy();
        resolve({ status: res.statusCode!, body });
      });
    });
    // The server may close the connection while we still write: that is the point, not a failure.
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (!['EPIPE', 'ECONNRESET'].includes(err.code ?? '')) {
        clearTimeout(timer);
        reject(err);
      }
    });
    req.flushHeaders();
    for (const chunk of send) req.write(chunk);
  });
}

/** Every file below dir (relative paths), recursively; [] when dir does not exist. */
export function filesBelow(dir: string): string[] {
  const out: string[] = [];
  const walk = (sub: string) => {
    let names: string[];
    try {
      names = readdirSync(join(dir, sub));
    } catch {
      return;
    }
    for (const name of names) {
      const rel = sub ? join(sub, name) : name;
      if (statSync(join(dir, rel)).isDirectory()) walk(rel);
      else out.push(rel);
    }
  };
  walk('');
  return out.sort();
}

/** A dispatch of a new order (client 1 unless given) to a new vehicle and a new driver with a sign-in. */
export async function dispatchWithDriver(api: ApiClient, admin: string, orderOverrides: Record<string, unknown> = {}) {
  const vehicle = await createVehicle(api, admin);
  const driver = await createDriverAccount(api, admin);
  const order = await createOrder(api, admin, orderOverrides);
  const created = await assign(api, admin, order.id, vehicle.id, driver.driverId);
  expect(created.status, created.text).toBe(201);
  return { dispatchId: created.body.id as number, orderId: order.id, driver, vehicleId: vehicle.id, order: order as Record<string, unknown> };
}
