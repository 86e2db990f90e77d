/** One load scenario with autocannon, the same generator for UVIS and the baseline. */
import { Agent, request } from 'node:http';
import autocannon from 'autocannon';

export interface Scenario {
  name: string;
  url: string;
  method: 'GET' | 'POST';
  path: string;
  body?: string;
  /** One token per simulated driver; requests rotate through them. */
  tokens?: string[];
  /** Fixed offered rate (requests per second, an open model: runSteady) instead of saturation. */
  rate?: number;
  connections: number;
  durationSeconds: number;
}

export interface ScenarioResult {
  scenario: string;
  requests: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  errors: number;
  non2xx: number;
  offeredRate?: number;
}

export async function runScenario(s: Scenario): Promise<ScenarioResult> {
  if (s.rate) return runSteady({ ...s, rate: s.rate });
  let next = 0;
  const result = await autocannon({
    url: s.url,
    connections: s.connections,
    duration: s.durationSeconds,
    requests: [
      {
        method: s.method,
        path: s.path,
        body: s.body,
        headers: s.body ? { 'content-type': 'application/json' } : {},
        setupRequest: (req) => {
          if (!s.tokens?.length) return req;
          const token = s.tokens[next++ % s.tokens.length];
          return { ...req, headers: { ...req.headers, authorization: `Bearer ${token}` } };
        },
      },
    ],
  });
  return {
    scenario: s.name,
    requests: result.requests.total,
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    max: result.latency.max,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

/**
 * A steady offered load: one request every 1000/rate ms, whatever the answers do
 * (an open model; autocannon's rate options send each second's quota in bursts,
 * which measures its own queueing). Requests share a keep-alive pool of
 * `connections` sockets, as autocannon's do; latency is measured from the scheduled
 * time, so a server that falls behind shows it.
 */
/** The nearest-rank percentile (p in 0..100) of ascending values; 0 for none. Shared by the bench and the load test. */
export const percentile = (sorted: number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]! : 0;

export async function runSteady(s: Scenario & { rate: number }): Promise<ScenarioResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: s.connections });
  const target = new URL(s.url);
  const latencies: number[] = [];
  let errors = 0;
  let non2xx = 0;
  let next = 0;
  const total = s.rate * s.durationSeconds;
  const started = performance.now();
  const inFlight = new Set<Promise<void>>();
  const send = (due: number, token: string | undefined) =>
    new Promise<void>((resolve) => {
      const req = request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          method: s.method,
          path: s.path,
          timeout: 10_000,
          headers: {
            ...(s.body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(s.body) } : {}),
            ...(token ? { authorization: `Bearer ${token}` } : {}),
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            if ((res.statusCode ?? 0) >= 300) non2xx++;
            latencies.push(performance.now() - due);
            resolve();
          });
        },
      );
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.end(s.body);
    });
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / s.rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const token = s.tokens?.length ? s.tokens[next++ % s.tokens.length] : undefined;
    const sent = send(due, token);
    inFlight.add(sent);
    void sent.finally(() => inFlight.delete(sent));
  }
  await Promise.all(inFlight);
  agent.destroy();
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => Math.round(percentile(latencies, q * 100));
  return {
    scenario: s.name,
    requests: latencies.length + errors,
    rps: Math.round(latencies.length / elapsed),
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: Math.round(latencies[latencies.length - 1] ?? 0),
    errors,
    non2xx,
    offeredRate: s.rate,
  };
}
