/** A local webhook receiver (node:http on 127.0.0.1): records every request and answers as each path is told to. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
  at: number;
}

/** What to do with the n-th request (0-based) to a path: a status, or 'hang' (never answer). */
export type Behaviour = (n: number) => number | 'hang';

export interface WebhookReceiver {
  url(path: string): string;
  /** Requests so far, per path. */
  received(path: string): Received[];
  on(path: string, behaviour: Behaviour): void;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<WebhookReceiver> {
  const log = new Map<string, Received[]>();
  const behaviours = new Map<string, Behaviour>();
  const hanging = new Set<ServerResponse>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      const list = log.get(path) ?? [];
      const n = list.length;
      list.push({ path, headers: req.headers as Record<string, string>, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
      log.set(path, list);
      const action = (behaviours.get(path) ?? (() => 204))(n);
      if (action === 'hang') {
        hanging.add(res);
        return;
      }
      res.statusCode = action;
      res.end(action >= 400 ? `failure ${action}` : '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    received: (path) => log.get(path) ?? [],
    on: (path, behaviour) => void behaviours.set(path, behaviour),
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
