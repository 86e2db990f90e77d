/**
 * Slow links (api/middleware/receive-deadline.ts): a proof upload may take longer than
 * REQUEST_TIMEOUT_MS in all as long as it keeps sending (a phone on a slow mobile link), but one
 * that pauses longer than that gets 408 and its socket closed, leaving no file; every other
 * request's body must still arrive whole within REQUEST_TIMEOUT_MS, however steadily it comes.
 * Raw HTTP with timed writes; REQUEST_TIMEOUT_MS is 2 s here.
 */
import { request, type IncomingMessage } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/api-client.js';
import { BOUNDARY, FORM_TAIL, dispatchWithDriver, filesBelow, formHead, noiseJpeg } from '../helpers/proofs.js';
import { startTestUvis, type TestUvis } from '../helpers/uvis.js';

const REQUEST_TIMEOUT_MS = 2000;
let uvis: TestUvis;
let admin: string;
let uploads: string;

beforeAll(async () => {
  uploads = mkdtempSync(join(tmpdir(), 'uvis-proof-slow-'));
  uvis = await startTestUvis({ role: 'api', env: { UPLOADS_DIR: uploads, HEADERS_TIMEOUT_MS: '1000', REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS) } });
  admin = await uvis.api.login();
});
afterAll(async () => {
  await uvis?.stop();
  rmSync(uploads, { recursive: true, force: true });
});

interface Answer {
  status: number | undefined;
  body: string;
  /** Whether the server closed the connection. */
  closed: boolean;
  /** Milliseconds from the first byte sent to the answer (or the close). */
  afterMs: number;
}

/** Sends `chunks` one every `everyMs` (after `pauseMs` more before chunk `pauseAt`), and waits for the answer or the close. */
function timedPost(
  path: string,
  headers: Record<string, string | number>,
  chunks: Buffer[],
  options: { everyMs: number; pauseAt?: number; pauseMs?: number },
): Promise<Answer> {
  const url = new URL(uvis.baseUrl);
  return new Promise((resolve) => {
    const started = Date.now();
    let answer: Answer | undefined;
    const req = request({ host: url.hostname, port: url.port, method: 'POST', path, headers });
    const done = (closed: boolean) => {
      if (answer) return;
      answer = { status: undefined, body: '', closed, afterMs: Date.now() - started };
    };
    req.on('response', (res: IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, body, closed: res.headers.connection === 'close', afterMs: Date.now() - started }));
    });
    req.on('error', () => {
      done(true);
      resolve(answer!);
    });
    req.flushHeaders();
    let i = 0;
    const send = () => {
      if (req.destroyed || i >= chunks.length) return void (i >= chunks.length && req.end());
      req.write(chunks[i++]!);
      setTimeout(send, options.everyMs + (i === options.pauseAt ? (options.pauseMs ?? 0) : 0));
    };
    send();
  });
}

function split(data: Buffer, n: number): Buffer[] {
  const size = Math.ceil(data.length / n);
  return Array.from({ length: n }, (_, k) => data.subarray(k * size, (k + 1) * size)).filter((b) => b.length > 0);
}

async function uploadBody() {
  const { dispatchId, driver } = await dispatchWithDriver(uvis.api, admin);
  const body = Buffer.concat([formHead({ kind: 'photo' }), await noiseJpeg(800, 600), FORM_TAIL]);
  const headers = { authorization: `Bearer ${driver.token}`, 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, 'content-length': body.length };
  return { path: `/api/v1/mobile/dispatches/${dispatchId}/proofs`, headers, body, dispatchId };
}

describe('uploads on slow links', () => {
  it('an upload that keeps sending for twice REQUEST_TIMEOUT_MS is stored (201)', async () => {
    const { path, headers, body, dispatchId } = await uploadBody();
    const answer = await timedPost(path, headers, split(body, 10), { everyMs: 450 });
    expect(answer.afterMs).toBeGreaterThan(2 * REQUEST_TIMEOUT_MS);
    expect(answer.status, answer.body).toBe(201);
    expect(await uvis.running.deps.db('proofs').where({ dispatch_id: dispatchId }).count({ n: '*' }).first()).toEqual({ n: 1 });
  });

  it('an upload that pauses longer than REQUEST_TIMEOUT_MS gets 408, its connection closed, and leaves no file', async () => {
    const { path, headers, body, dispatchId } = await uploadBody();
    const answer = await timedPost(path, headers, split(body, 6), { everyMs: 100, pauseAt: 3, pauseMs: REQUEST_TIMEOUT_MS + 1500 });
    expect(answer.status, answer.body).toBe(408);
    expect(JSON.parse(answer.body).error.code).toBe('request_timeout');
    expect(answer.closed).toBe(true);
    expect(await uvis.running.deps.db('proofs').where({ dispatch_id: dispatchId }).count({ n: '*' }).first()).toEqual({ n: 0 });
    await waitFor(async () => filesBelow(join(uploads, '.incoming')).length === 0, { what: 'the interrupted upload removed' });
    expect(filesBelow(join(uploads, 'proofs'))).toHaveLength(1); // the first test's, nothing more
  });

  it('any other request must arrive whole within REQUEST_TIMEOUT_MS, however steadily it comes (408)', async () => {
    const json = Buffer.from(JSON.stringify({ refresh_token: 'x'.repeat(300) }));
    const answer = await timedPost('/api/v1/auth/refresh', { 'content-type': 'application/json', 'content-length': json.length }, split(json, 20), {
      everyMs: 250,
    });
    expect(answer.status, answer.body).toBe(408);
    expect(answer.afterMs).toBeLessThan(REQUEST_TIMEOUT_MS + 1500);
    expect(answer.closed).toBe(true);
  });
});
