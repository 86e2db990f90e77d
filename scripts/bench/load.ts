/** One load scenario with autocannon, the same generator for UVIS and the baseline. */
import autocannon from 'autocannon';

export interface Scenario {
  name: string;
  url: string;
  method: 'GET' | 'POST';
  path: string;
  body?: string;
  /** One token per simulated driver; requests rotate through them. */
  tokens?: string[];
  /** Fixed offered rate (requests per second) instead of saturation. */
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
  let next = 0;
  const result = await autocannon({
    url: s.url,
    connections: s.connections,
    duration: s.durationSeconds,
    ...(s.rate ? { overallRate: s.rate } : {}),
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
    ...(s.rate ? { offeredRate: s.rate } : {}),
  };
}
