/** Loading from the API into the store: each loader coalesces overlapping calls and announces what changed. */
import { api, apiBlob } from './api.js';
import { changed, state } from './store.js';
import type {
  ActiveDispatch,
  Client,
  Driver,
  Excursion,
  Order,
  Page,
  PositionsResponse,
  Proof,
  ProofKind,
  QueuesResponse,
  Telemetry,
  TemperatureReading,
  Vehicle,
} from './types.js';

/** Runs fn at most once at a time; a call during a run makes exactly one more run afterwards. */
function coalesce(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  let again = false;
  const run = (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await fn();
        } while (again);
      } finally {
        running = undefined;
      }
    })();
    return running;
  };
  return run;
}

async function allPages<T>(path: string, max = 2000): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page: Page<T> = await api<Page<T>>('GET', `${path}${sep}limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && items.length < max);
  return items;
}

export const loadReference = coalesce(async () => {
  const [clients, vehicles, drivers] = await Promise.all([
    allPages<Client>('/clients?active=true'),
    allPages<Vehicle>('/vehicles?active=true'),
    allPages<Driver>('/drivers?active=true'),
  ]);
  state.clients = new Map(clients.map((c) => [c.id, c]));
  state.vehicles = new Map(vehicles.map((v) => [v.id, v]));
  state.drivers = new Map(drivers.map((d) => [d.id, d]));
  changed('reference');
});

function orderQuery(limit: number, cursor?: string | null): string {
  const params = new URLSearchParams({ limit: String(limit) });
  const f = state.filters;
  if (f.status) params.set('status', f.status);
  if (f.q.trim()) params.set('q', f.q.trim());
  if (f.cargo) params.set('cargo_type', f.cargo);
  if (f.client) params.set('client_id', f.client);
  if (cursor) params.set('cursor', cursor);
  return `/orders?${params.toString()}`;
}

/** The first page again, as long as what is on screen (up to 200), so a live refresh does not shrink the list. */
export const loadOrders = coalesce(async () => {
  const limit = Math.min(200, Math.max(50, state.orders.length));
  const page = await api<Page<Order>>('GET', orderQuery(limit));
  state.orders = page.items;
  state.ordersCursor = page.next_cursor;
  changed('orders');
});

export async function loadMoreOrders(): Promise<void> {
  if (!state.ordersCursor) return;
  const page = await api<Page<Order>>('GET', orderQuery(50, state.ordersCursor));
  state.orders = [...state.orders, ...page.items.filter((o) => !state.orders.some((x) => x.id === o.id))];
  state.ordersCursor = page.next_cursor;
  changed('orders');
}

export const loadCounts = coalesce(async () => {
  state.orderCounts = await api<Record<string, number>>('GET', '/orders/stats');
  changed('counts');
});

export const loadPending = coalesce(async () => {
  state.pendingOrders = await allPages<Order>('/orders?status=PENDING&sort=-created_at', 400);
  changed('pending');
});

export const loadDispatches = coalesce(async () => {
  const loaded = (await api<{ items: ActiveDispatch[] }>('GET', '/dashboard/dispatches')).items;
  // A live reading that arrived while this was loading may be newer than the snapshot: keep it.
  const shown = new Map(state.dispatches.map((d) => [d.id, d.latest_reading]));
  for (const d of loaded) {
    const live = shown.get(d.id);
    if (live && (!d.latest_reading || live.recorded_at > d.latest_reading.recorded_at)) d.latest_reading = live;
  }
  state.dispatches = loaded;
  pruneTelemetry();
  pruneProofs();
  changed('dispatches');
  // What the page shows of an open temperature section follows the list: refresh it too.
  for (const id of state.telemetry.keys()) void loadTelemetry(id);
});

const proofLoaders = new Map<number, () => Promise<void>>();

/**
 * A dispatch's proofs, when its proof section is opened (and again when one is added). Each image is
 * fetched once with the bearer token and shown from an object URL; the URLs are released with the dispatch.
 */
export function loadProofs(dispatchId: number): Promise<void> {
  let run = proofLoaders.get(dispatchId);
  if (!run) {
    run = coalesce(async () => {
      let entry = state.proofs.get(dispatchId);
      if (!entry) {
        entry = { items: [], required: [], missing: [], images: new Map(), error: null, loading: false };
        state.proofs.set(dispatchId, entry);
      }
      entry.loading = true;
      changed('proofs');
      try {
        const list = await api<{ items: Proof[]; required: ProofKind[]; missing: ProofKind[] }>('GET', `/dispatches/${dispatchId}/proofs`);
        Object.assign(entry, { items: list.items, required: list.required, missing: list.missing, error: null });
        changed('proofs');
        for (const proof of list.items) {
          if (entry.images.has(proof.id)) continue;
          try {
            entry.images.set(proof.id, URL.createObjectURL(await apiBlob(`/proofs/${proof.id}/file`)));
          } catch (err) {
            entry.error = err;
          }
          changed('proofs');
        }
      } catch (err) {
        entry.error = err;
      } finally {
        entry.loading = false;
        changed('proofs');
      }
    });
    proofLoaders.set(dispatchId, run);
  }
  return run();
}

/** Forgets the proofs (and releases the images) of dispatches no longer listed. */
function pruneProofs(): void {
  const active = new Set(state.dispatches.map((d) => d.id));
  for (const [id, entry] of state.proofs) {
    if (active.has(id)) continue;
    for (const url of entry.images.values()) URL.revokeObjectURL(url);
    state.proofs.delete(id);
  }
}

/** Readings kept for a trip chart: a day at one a minute is 1,440; beyond this the chart shows the first part and says so. */
const MAX_READINGS = 20_000;

function telemetryOf(dispatchId: number): Telemetry {
  let entry = state.telemetry.get(dispatchId);
  if (!entry) {
    entry = { readings: [], truncated: false, excursions: [], error: null, loading: false };
    state.telemetry.set(dispatchId, entry);
  }
  return entry;
}

const telemetryLoaders = new Map<string, () => Promise<void>>();

function perDispatch(kind: string, dispatchId: number, fn: (entry: Telemetry) => Promise<void>): Promise<void> {
  const key = `${kind}:${dispatchId}`;
  let run = telemetryLoaders.get(key);
  if (!run) {
    run = coalesce(async () => {
      const entry = telemetryOf(dispatchId);
      entry.loading = true;
      try {
        await fn(entry);
        entry.error = null;
      } catch (err) {
        entry.error = err;
      } finally {
        entry.loading = false;
        changed('telemetry');
      }
    });
    telemetryLoaders.set(key, run);
  }
  return run();
}

/** A dispatch's excursions (with their actions). */
export function loadExcursions(dispatchId: number): Promise<void> {
  return perDispatch('excursions', dispatchId, async (entry) => {
    entry.excursions = (await api<{ items: Excursion[] }>('GET', `/dispatches/${dispatchId}/excursions`)).items;
  });
}

/** A dispatch's readings in time order and its excursions: on demand, when its temperature section is opened. */
export function loadTelemetry(dispatchId: number): Promise<void> {
  return Promise.all([
    perDispatch('readings', dispatchId, async (entry) => {
      const readings: TemperatureReading[] = [];
      let cursor: string | null = null;
      do {
        const page: Page<TemperatureReading> = await api<Page<TemperatureReading>>(
          'GET',
          `/dispatches/${dispatchId}/temperatures?limit=5000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        );
        readings.push(...page.items.map((r) => ({ sensor: r.sensor, recorded_at: r.recorded_at, temperature_c: Number(r.temperature_c) })));
        cursor = page.next_cursor;
      } while (cursor && readings.length < MAX_READINGS);
      entry.readings = readings;
      entry.truncated = cursor !== null;
    }),
    loadExcursions(dispatchId),
  ]).then(() => undefined);
}

/** Forgets what belongs to dispatches no longer listed (completed, cancelled). */
function pruneTelemetry(): void {
  const active = new Set(state.dispatches.map((d) => d.id));
  for (const id of state.telemetry.keys()) if (!active.has(id)) state.telemetry.delete(id);
}

export const loadPositions = coalesce(async () => {
  const body = await api<PositionsResponse>('GET', '/dashboard/positions');
  state.serverOffsetMs = new Date(body.server_time).getTime() - Date.now();
  state.staleAfterMs = body.stale_after_seconds * 1000;
  const next = new Map(body.items.map((p) => [p.vehicle_id, p]));
  // A live point that arrived while this was loading may be newer than the snapshot: keep it.
  for (const [id, current] of state.positions) {
    const loaded = next.get(id);
    if (loaded && current.recorded_at && (!loaded.recorded_at || current.recorded_at > loaded.recorded_at)) next.set(id, current);
  }
  state.positions = next;
  changed('positions');
});

export const loadQueues = coalesce(async () => {
  try {
    state.queues = await api<QueuesResponse>('GET', '/dashboard/queues');
    state.queuesError = false;
  } catch {
    state.queuesError = true;
  }
  changed('queues');
});

/** Everything that changes while the page is open (after sign-in, and after every (re)connection of the live stream). */
export async function loadLive(): Promise<void> {
  await Promise.allSettled([loadOrders(), loadCounts(), loadPending(), loadDispatches(), loadPositions(), loadQueues()]);
}
