/**
 * npm run bench:profile: a V8 CPU profile (node --cpu-prof) of the API process under load on each
 * hot route, one process per route so the profiles don't mix, summarised as the top functions by
 * self time and the time per package. The .cpuprofile files stay in bench-results/profiles/<time>/
 * (open them in Chrome DevTools' Performance panel or speedscope for a flame graph).
 *
 * Options (environment): BENCH_PROFILE_SECONDS=10 of load per route (after 2 s of warm-up),
 * BENCH_CONNECTIONS=50, BENCH_PROFILE_ROUTES=post,list,summary (a subset),
 * DATABASE_URL / REDIS_URL.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectPath } from '../lib/paths.js';
import { startBenchApi } from './bench/api.js';
import { summariseProfile } from './bench/cpu-profile.js';
import { clearRedisPrefix } from './bench/fixtures.js';
import { runScenario } from './bench/load.js';
import { HOT_ROUTES } from './bench/hot-routes.js';

const env = process.env;
const SECONDS = Number(env.BENCH_PROFILE_SECONDS ?? 10);
const CONNECTIONS = Number(env.BENCH_CONNECTIONS ?? 50);
const WANTED = (env.BENCH_PROFILE_ROUTES ?? 'post,list,summary').split(',');
const BASE_DB = env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS = env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = 'uvisbenchprofile';
const PORT = 3204;

async function main() {
  const when = new Date().toISOString();
  const dir = projectPath('bench-results', 'profiles', when.replace(/[:.]/g, '-'));
  const results = [];
  for (const route of HOT_ROUTES.filter((r) => WANTED.includes(r.key))) {
    const profileDir = join(dir, route.key);
    mkdirSync(profileDir, { recursive: true });
    const { api, base, tokens } = await startBenchApi({
      baseDb: BASE_DB,
      redis: REDIS,
      database: 'uvis_bench_profile',
      prefix: PREFIX,
      port: PORT,
      drivers: 50,
      nodeOptions: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`],
    });
    let requests: number;
    try {
      const scenario = { name: route.name, url: base, method: route.method, path: route.path, body: route.body, tokens, connections: CONNECTIONS };
      await runScenario({ ...scenario, durationSeconds: 2 });
      const result = await runScenario({ ...scenario, durationSeconds: SECONDS });
      if (result.errors + result.non2xx > 0) throw new Error(`${route.name}: ${result.errors} errors, ${result.non2xx} non-2xx answers`);
      requests = result.requests;
    } finally {
      await api.stop(); // the profile is written as the process exits
      await clearRedisPrefix(REDIS, PREFIX);
    }
    const file = readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error(`no profile in ${profileDir}`);
    const summary = summariseProfile(join(profileDir, file));
    results.push({ route: route.name, requests, profile: join(profileDir, file), ...summary });
    console.log(`\n${route.name}: ${requests} requests measured, ${summary.busyMs} ms busy in the profile (warm-up and start-up included)`);
    console.log('  by package (self time):');
    for (const g of summary.groups.slice(0, 12)) console.log(`    ${String(g.share).padStart(5)} %  ${g.group}`);
    console.log('  top functions (self time):');
    for (const t of summary.top) console.log(`    ${String(t.share).padStart(5)} %  ${t.frame}`);
  }
  writeFileSync(join(dir, 'summary.json'), JSON.stringify({ when, settings: { seconds: SECONDS, connections: CONNECTIONS }, results }, null, 2));
  console.log(`\nprofiles and summary: ${dir}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
