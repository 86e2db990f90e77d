/**
 * A TCP proxy between UVIS and a server (Redis), for losing answers in a real way: the
 * client's bytes always reach the server, so its commands run, while the server's replies
 * on a chosen connection are held back. Held replies are delayed, never dropped: dropping
 * bytes of a RESP stream would hand later replies to the wrong commands, which no real
 * network does (a real loss is a stall or a reset), so release() delivers them late, as
 * a stalled network finally would.
 */
import { createServer, connect, type Socket } from 'node:net';

export interface TcpProxy {
  url: string;
  port: number;
  /**
   * The first connection whose client sends bytes containing marker gets no more replies
   * (from those bytes on) until release(). One connection, once.
   */
  holdRepliesAfter(marker: string): void;
  /** How many reply bytes are held back right now. */
  heldBytes(): number;
  /** Delivers the held replies and lets replies through again. */
  release(): void;
  close(): Promise<void>;
}

interface Link {
  client: Socket;
  upstream: Socket;
  holding: boolean;
  held: Buffer[];
  /** The end of the client's previous chunk, so a marker split across two chunks is still seen. */
  tail: Buffer;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const links = new Set<Link>();
  let marker: Buffer | undefined;
  const server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    const link: Link = { client, upstream, holding: false, held: [], tail: Buffer.alloc(0) };
    links.add(link);
    client.on('data', (chunk: Buffer) => {
      if (marker && Buffer.concat([link.tail, chunk]).includes(marker)) {
        link.holding = true;
        marker = undefined;
      }
      link.tail = chunk.subarray(Math.max(0, chunk.length - 200));
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (link.holding) link.held.push(chunk);
      else client.write(chunk);
    });
    const end = () => {
      links.delete(link);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as { port: number };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    holdRepliesAfter(text) {
      marker = Buffer.from(text);
    },
    heldBytes: () => [...links].reduce((sum, link) => sum + link.held.reduce((s, b) => s + b.length, 0), 0),
    release() {
      marker = undefined;
      for (const link of links) {
        link.holding = false;
        for (const chunk of link.held.splice(0)) link.client.write(chunk);
      }
    },
    async close() {
      for (const link of links) {
        link.client.destroy();
        link.upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
