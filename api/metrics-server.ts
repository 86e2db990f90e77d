/** A worker process's own small HTTP server: /metrics for Prometheus and /health for the orchestrator. */
import { createServer, type ServerOptions } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { AppDeps } from './deps.js';
import { metricsHandler } from './metrics-endpoint.js';

export async function startMetricsServer(
  deps: AppDeps,
  port: number,
  host: string,
  serverOptions: ServerOptions = {},
): Promise<{ port: number; close: () => Promise<void> }> {
  const app = express();
  app.disable('x-powered-by');
  // Exact paths only, like the API (api/app.ts).
  app.set('case sensitive routing', true);
  app.set('strict routing', true);
  app.get('/metrics', metricsHandler(deps.metrics, deps.config.metricsToken));
  app.get(['/health', '/api/v1/health'], (_req, res) => {
    res.status(deps.lifecycle.draining ? 503 : 200).json({ status: deps.lifecycle.draining ? 'draining' : 'ok' });
  });
  const server = createServer(serverOptions, app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
