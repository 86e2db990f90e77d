/** End-to-end figures of the GPS benchmarks: wait for the queue to empty, then read what was stored and how late. */
import pg from 'pg';

/** Waits until the worker has emptied the locations queue, so scenarios do not inherit each other's backlog. */
export async function drained(api: string): Promise<void> {
  for (;;) {
    const text = await (await fetch(`${api}/metrics`)).text();
    const pending = [...text.matchAll(/^uvis_queue_jobs\{queue="locations",state="(waiting|active|delayed|prioritized)"[^}]*\} (\d+)/gm)].reduce(
      (n, m) => n + Number(m[2]),
      0,
    );
    if (pending === 0) return;
    await new Promise((r) => setTimeout(r, 500));
  }
}

export async function storageFigures(url: string, since: Date) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const { rows } = await client.query(
    `select count(*)::int as points,
            extract(epoch from max(stored_at) - min(received_at))::float as span_s,
            percentile_cont(0.5) within group (order by extract(epoch from stored_at - received_at)) * 1000 as p50_ms,
            percentile_cont(0.99) within group (order by extract(epoch from stored_at - received_at)) * 1000 as p99_ms,
            max(extract(epoch from stored_at - received_at)) * 1000 as max_ms
       from vehicle_locations where received_at >= $1`,
    [since],
  );
  await client.end();
  const r = rows[0];
  return {
    points: r.points,
    pointsPerSecond: Math.round(r.points / r.span_s),
    lagP50Ms: Math.round(r.p50_ms),
    lagP99Ms: Math.round(r.p99_ms),
    lagMaxMs: Math.round(r.max_ms),
  };
}
