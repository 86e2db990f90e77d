/**
 * Geofence arrivals and departures (issue 16): evaluating the GPS fixes of a stored batch's
 * dispatches (domain/geofences.ts) and storing the result, each new event announced through the
 * outbox as `dispatch.arrived` / `dispatch.departed` in the same transaction.
 *
 * Decisions:
 * - Cost: once per stored GPS batch (jobs/location-writer.ts), never per point, inside the batch's
 *   own transaction and before its inserts. One statement finds the batch's drivers' active
 *   dispatches whose order has given coordinates (a batch without any stops there), the stored fixes
 *   around their windows and their current events; the batch's own fixes come from memory.
 *   Only a dispatch whose result differs from what is stored is locked and written, after the batch
 *   commits.
 * - Window: a dispatch is evaluated over its fixes from the `PRIOR_FIXES`-th (10th) fix before the
 *   batch's earliest fix of its driver (not before the dispatch was created), starting from the
 *   state its stored events give at that moment (inside a site after an ARRIVED, outside after a
 *   DEPARTED or none). Evaluating every fix of a day-long trip on every post would read thousands
 *   of rows per post; a time lookback would too, for a phone posting often. An unconfirmed run
 *   holds fewer than two fixes, so a few fixes before the batch hold every run still in progress:
 *   the windowed result is the full evaluation's (tests/unit/geofences.test.ts checks it), except
 *   that the impossible-speed filter starts its track afresh at the window (a wild fix right there
 *   is judged against fewer neighbours). A late offline buffer is evaluated from its own earliest
 *   fix, however old.
 * - Which fixes belong to a dispatch: its driver's, recorded since the dispatch was created, while
 *   it is active. Points stored after the dispatch finished change nothing (no evaluation).
 * - Serialized per dispatch under its lock (db/dispatches.ts lockDispatch: the order FOR UPDATE,
 *   then the dispatch), everything read again under the lock, so two workers evaluating one dispatch
 *   run one after another and the second finds nothing to write.
 * - Announcements: only an event stored for the first time writes an outbox row; a re-evaluation
 *   that finds it again writes nothing, and a superseded event that comes back is not announced
 *   twice. A late fix that moves an event earlier supersedes the old row and announces the new one
 *   (a receiver sees both; the list shows the current one).
 * - The suggested status in the announcement is computed against the dispatch's status at that
 *   moment; GET /mobile/dispatches computes it again on each read (domain/geofences.ts suggestedStatus).
 */
import { DISPATCH_ARRIVED, DISPATCH_DEPARTED } from '../domain/events.js';
import { GEOFENCE_DEFAULTS, compareEvents, evaluateGeofences, suggestedStatus, type GeofenceEvent, type GeofenceSite } from '../domain/geofences.js';
import { ACTIVE_DISPATCH_STATUSES } from '../domain/dispatch-status.js';
import { lockDispatch } from '../db/dispatches.js';
import { eventIdentity, geofenceWindows, storeGeofenceEvents, type FixRow, type GeofenceEventRow, type GeofencedDispatch } from '../db/geofences.js';
import { writeEvent } from '../db/outbox.js';
import { announceWebhook } from './announce.js';
import type { Trx } from '../db/knex.js';
import type { UseCaseDeps } from './deps.js';
import { transaction } from './transaction.js';

/** How many stored points before a batch its evaluation reads (see the header). */
export const PRIOR_FIXES = 10;

/** The events the fixes since `from` give, starting from the state the stored events before `from` give. */
function evaluateWindow(dispatch: GeofencedDispatch, fixes: readonly FixRow[], stored: readonly GeofenceEventRow[], from: Date): GeofenceEvent[] {
  const initial: Partial<Record<GeofenceSite, boolean>> = {};
  for (const e of stored) if (e.at < from) initial[e.site] = e.kind === 'ARRIVED';
  return evaluateGeofences({
    sites: dispatch.sites,
    fixes: fixes.map((f) => ({ recordedAt: f.recorded_at, lat: f.latitude, lng: f.longitude, accuracyM: f.accuracy_m })),
    initial,
  });
}

function sameEvents(computed: readonly GeofenceEvent[], stored: readonly GeofenceEventRow[], from: Date): boolean {
  const inWindow = stored.filter((e) => e.at >= from);
  if (inWindow.length !== computed.length) return false;
  const ids = new Set(inWindow.map(eventIdentity));
  return computed.every((e) => ids.has(eventIdentity(e)));
}

const groupBy = <T, K>(items: readonly T[], key: (item: T) => K) => {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const group = groups.get(key(item));
    if (group) group.push(item);
    else groups.set(key(item), [item]);
  }
  return groups;
};

/** A dispatch whose evaluation differs from what is stored, and where its window starts. */
export interface GeofenceChange {
  dispatchId: number;
  since: Date;
}

/** Each driver's earliest fix in a batch. */
function earliestPerDriver(batch: readonly FixRow[]): Map<number, Date> {
  const earliest = new Map<number, Date>();
  for (const f of batch) {
    const current = earliest.get(f.driver_id);
    if (current === undefined || f.recorded_at < current) earliest.set(f.driver_id, f.recorded_at);
  }
  return earliest;
}

/**
 * Evaluates the geofences of the dispatches a GPS batch touches, once each, and returns those
 * whose stored events differ. Runs in the batch's own transaction, before its inserts: one
 * statement (db/geofences.ts geofenceWindows: the dispatches, the stored fixes around each window,
 * their events); the batch's own fixes come from memory, so a phone posting in order costs a few index rows, not a re-read of
 * what it just sent (called after the inserts it gives the same result, reading them twice: a fix
 * at one instant counts once). The writes come after the commit (applyGeofenceChanges), so the
 * batch's locks are not held for them.
 */
export async function findGeofenceChanges(trx: Trx, batch: readonly FixRow[]): Promise<GeofenceChange[]> {
  const earliest = earliestPerDriver(batch);
  const windows = await geofenceWindows(
    trx,
    [...earliest].map(([driverId, at]) => ({ driverId, earliest: at })),
    { before: PRIOR_FIXES, maxAccuracyM: GEOFENCE_DEFAULTS.maxAccuracyM },
  );
  const batchOf = groupBy(batch, (f) => f.driver_id);
  const changes: GeofenceChange[] = [];
  for (const { dispatch, since, fixes: stored, events } of windows) {
    const own = (batchOf.get(dispatch.driver_id) ?? []).filter((f) => f.recorded_at >= since);
    if (own.length === 0) continue; // every fix of the batch predates the dispatch: nothing to evaluate
    const computed = evaluateWindow(dispatch, [...stored, ...own], events, since);
    if (!sameEvents(computed, events, since)) changes.push({ dispatchId: dispatch.id, since });
  }
  return changes;
}

/** Stores the changed dispatches' events, each under its lock; returns how many events were announced. */
export async function applyGeofenceChanges(deps: Pick<UseCaseDeps, 'db' | 'relay' | 'log'>, changes: readonly GeofenceChange[]): Promise<number> {
  let announced = 0;
  for (const c of changes) announced += await evaluateDispatchGeofences(deps, c.dispatchId, c.since);
  return announced;
}

/**
 * Evaluates one dispatch's fixes from `since` under its lock and stores the result; returns how
 * many events were announced. Reads everything again under the lock: the unlocked read that
 * decided to come here may be stale.
 */
export async function evaluateDispatchGeofences(deps: Pick<UseCaseDeps, 'db' | 'relay' | 'log'>, dispatchId: number, since: Date): Promise<number> {
  return transaction(deps, async (tx) => {
    const locked = await lockDispatch(tx.trx, dispatchId);
    if (!locked || !ACTIVE_DISPATCH_STATUSES.includes(locked.dispatch.status)) return 0;
    const { dispatch, order } = locked;
    // The window from `since` (never before the dispatch was created), read again under the lock.
    const [window] = await geofenceWindows(tx.trx, [{ driverId: dispatch.driver_id, earliest: since }], {
      before: 0,
      maxAccuracyM: GEOFENCE_DEFAULTS.maxAccuracyM,
      dispatchId: dispatch.id,
    });
    if (!window) return 0; // no geofenced site
    const from = window.since;
    const events = evaluateWindow(window.dispatch, window.fixes, window.events, from);
    const result = await storeGeofenceEvents(tx.trx, dispatch.id, from, events);
    // Announced in time order, so a receiver that applies them in order sees the trip as it went.
    for (const row of [...result.inserted].sort((a, b) => compareEvents(a, b) || a.id - b.id)) {
      await writeEvent(tx.trx, row.kind === 'ARRIVED' ? DISPATCH_ARRIVED : DISPATCH_DEPARTED, {
        geofenceEventId: row.id,
        dispatchId: dispatch.id,
        orderId: dispatch.order_id,
        driverId: dispatch.driver_id,
        vehicleId: dispatch.vehicle_id,
        site: row.site,
        at: row.at.toISOString(),
        latitude: row.latitude,
        longitude: row.longitude,
        suggestedStatus: suggestedStatus(dispatch.status, row),
      });
      // The shipper's webhook of the same name (the site, when; not the driver's exact fix).
      await announceWebhook(
        tx,
        row.kind === 'ARRIVED' ? 'dispatch.arrived' : 'dispatch.departed',
        order.client_id,
        { dispatch_id: dispatch.id, order_id: dispatch.order_id, client_id: order.client_id, site: row.site, at: row.at },
        row.at,
      );
    }
    return result.inserted.length;
  });
}
