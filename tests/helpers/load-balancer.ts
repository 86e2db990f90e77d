/**
 * nginx (Debian's) as a load balancer on loopback in front of several API processes,
 * configured as in production: a refused or dropped connection is retried on the next
 * upstream, POSTs included (safe because clients send Idempotency-Key). max_fails=0:
 * a restarting replica refuses connections in microseconds, so nginx need not mark
 * it down; marking it down for fail_timeout can leave no live upstream while the
 * next replica restarts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { portAnswers } from '../../lib/local-services.js';
import { waitFor } from './api-client.js';
import { freePort } from './private-redis.js';

export interface LoadBalancer {
  url: string;
  stop(): Promise<void>;
}

export async function startLoadBalancer(upstreamPorts: number[]): Promise<LoadBalancer> {
  const dir = mkdtempSync(join(tmpdir(), 'uvis-lb-'));
  chmodSync(dir, 0o755);
  for (const sub of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, sub));
  const port = await freePort();
  writeFileSync(
    join(dir, 'nginx.conf'),
    `${process.getuid?.() === 0 ? 'user root;' : ''}
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 2048; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream uvis_api {
${upstreamPorts.map((p) => `    server 127.0.0.1:${p} max_fails=0;`).join('\n')}
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://uvis_api;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_next_upstream error timeout non_idempotent;
      proxy_next_upstream_tries 3;
      proxy_connect_timeout 2s;
    }
  }
}
`,
  );
  const child: ChildProcess = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
  await waitFor(() => portAnswers('127.0.0.1', port, 200), { timeoutMs: 10_000, what: 'nginx' });
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      child.kill('SIGQUIT');
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
