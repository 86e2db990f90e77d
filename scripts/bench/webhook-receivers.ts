/**
 * The shippers' side of bench:webhooks, in a process of its own (the receivers are not UVIS's
 * work): N node:http receivers answering 204, each remembering when the first attempt of every
 * event arrived. Tells the parent its ports, and on request the arrival times.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const count = Number(process.argv[2] ?? 10);
/** `${receiver}:${seq}` -> first arrival (ms since the epoch, the same clock as the parent's). */
const firstArrival = new Map<string, number>();

async function main() {
  const ports: number[] = [];
  for (let i = 0; i < count; i++) {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const now = Date.now();
        const seq = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { data: { seq: number } }).data.seq;
        const key = `${i}:${seq}`;
        if (!firstArrival.has(key)) firstArrival.set(key, now);
        res.statusCode = 204;
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    ports.push((server.address() as AddressInfo).port);
  }
  process.send!({ ports });
  process.on('message', (msg: { type: string }) => {
    if (msg.type === 'count') process.send!({ count: firstArrival.size });
    if (msg.type === 'arrivals') process.send!({ arrivals: [...firstArrival] });
  });
}

void main();
