/**
 * Geofence arrivals and departures over the device's own timeline (issue 16; DESIGN.md "Shippers:
 * API keys, webhooks, geofence events, tracking page"). Pure and deterministic: no clock, no I/O,
 * the same output for the same set of fixes whatever order they arrive in.
 *
 * The design's rules, and what this module does with them:
 * - "A circle around each order's pickup and drop-off (enter 150 m, leave 200 m)." Each site is
 *   evaluated on its own (a pickup and a drop-off closer than 350 m both see the truck). A fix is
 *   *inside* at a distance ≤ enterM (150) and *outside* at a distance > leaveM (200); between the two
 *   it is neither: it never confirms an arrival or a departure and it interrupts a run of either
 *   (hysteresis: GPS noise around one radius cannot toggle the state). Distances are great-circle
 *   (haversine) metres from the site's centre.
 * - Sites: only coordinates a client gave for the order (`pickup_lat/lng`, `delivery_lat/lng` on
 *   create or change). Coordinates the orders worker estimated from the address are a district's
 *   centre, kilometres from the real door: such a site has no geofence (the caller leaves it out).
 * - "Arrival needs two fixes inside (or 30 s inside)." A run is consecutive accepted fixes inside
 *   the circle. It confirms an arrival once it holds `confirmFixes` (2) fixes, or once its last fix
 *   is `confirmS` (30 s) or more after its first: with the defaults the second fix always confirms
 *   first; the 30 s matters only when GEOFENCE confirmFixes is raised (phones reporting every second).
 *   A lone fix never arrives. Departures are confirmed the same way by a run of fixes outside the
 *   leave radius: one wild fix does not end a stay either.
 * - The time of an arrival (departure) is its run's *first* fix: when the truck came (left), not
 *   when we became sure. So a late fix cannot move a confirmed event later, only earlier.
 * - "GPS fixes with poor accuracy or impossible speed are ignored." Poor accuracy: a reported
 *   `accuracyM` above `maxAccuracyM` (100 m: beyond it the fix cannot tell 150 m from 250 m); a fix
 *   without accuracy (the seed's clients send none) is accepted. Impossible speed: reaching the fix
 *   from the last accepted fix would need more than `maxSpeedKmh` (200 km/h; trucks in Korea are
 *   limited to 90-110) and it is more than `jitterM` (50 m) away (two fixes a fraction of a second
 *   apart with ordinary GPS noise must not count as fast). A rejected fix does not move the anchor,
 *   so one jump does not drag the track. If the anchor itself was the bad fix, every later fix would
 *   be "impossible": so `reanchorFixes` (3) consecutive rejected fixes that are possible among
 *   themselves are accepted after all (from the first of them), and become the track.
 * - Out-of-order fixes: the fixes are sorted by recorded time (ties: the more accurate, then by
 *   position, never by arrival order) and duplicates at one instant count once. The result is a
 *   function of the set of fixes.
 * - `initial`: the state of each site before the first fix (the caller's windowed evaluation
 *   starts from the state its stored events give; a full evaluation starts outside).
 * - Identity of an event: (site, kind, at). The same fixes give the same identities, so storing
 *   them is an idempotent upsert on (dispatch, site, kind, at).
 * - Output order: by `at`, then site (PICKUP first), then kind (ARRIVED first).
 */
import { DISPATCH_FLOW, type DispatchStatus } from './dispatch-status.js';
import { haversineKm } from './geo.js';

export const GEOFENCE_SITES = ['PICKUP', 'DROPOFF'] as const;
export type GeofenceSite = (typeof GEOFENCE_SITES)[number];
export const GEOFENCE_KINDS = ['ARRIVED', 'DEPARTED'] as const;
export type GeofenceKind = (typeof GEOFENCE_KINDS)[number];

export interface GeofenceSettings {
  /** A fix at this distance (metres) or less is inside. */
  enterM: number;
  /** A fix beyond this distance is outside; between enterM and leaveM neither (hysteresis). */
  leaveM: number;
  /** Fixes of a run that confirm an arrival or departure... */
  confirmFixes: number;
  /** ...or the seconds from its first fix to its last. */
  confirmS: number;
  maxAccuracyM: number;
  maxSpeedKmh: number;
  /** Movement never judged too fast (GPS noise between close fixes). */
  jitterM: number;
  /** Consecutive rejected fixes, possible among themselves, that replace the anchor. */
  reanchorFixes: number;
}

export const GEOFENCE_DEFAULTS: Readonly<GeofenceSettings> = Object.freeze({
  enterM: 150,
  leaveM: 200,
  confirmFixes: 2,
  confirmS: 30,
  maxAccuracyM: 100,
  maxSpeedKmh: 200,
  jitterM: 50,
  reanchorFixes: 3,
});

export interface GeofenceCentre {
  site: GeofenceSite;
  lat: number;
  lng: number;
}

export interface Fix {
  recordedAt: Date | number;
  lat: number;
  lng: number;
  accuracyM?: number | null;
}

export interface GeofenceInput {
  sites: readonly GeofenceCentre[];
  fixes: readonly Fix[];
  /** Whether the truck is inside each site before the first fix; default outside. */
  initial?: Partial<Record<GeofenceSite, boolean>>;
  settings?: Partial<GeofenceSettings>;
}

export interface GeofenceEvent {
  site: GeofenceSite;
  kind: GeofenceKind;
  at: Date;
  /** The fix that starts the event's run, and its distance from the site's centre. */
  lat: number;
  lng: number;
  distanceM: number;
}

interface Point {
  t: number;
  lat: number;
  lng: number;
  acc: number | null;
}

const metres = (a: Point, b: { lat: number; lng: number }) => haversineKm(a, b) * 1000;

function toMs(value: Date | number): number {
  const ms = typeof value === 'number' ? value : value.getTime();
  if (!Number.isFinite(ms)) throw new RangeError('recordedAt is not a valid time');
  return ms;
}

/** Which of two fixes at one instant to keep: decided by their values, never by arrival order. */
function preferred(a: Point, b: Point): Point {
  const accA = a.acc ?? Infinity;
  const accB = b.acc ?? Infinity;
  if (accA !== accB) return accA < accB ? a : b;
  if (a.lat !== b.lat) return a.lat < b.lat ? a : b;
  return a.lng <= b.lng ? a : b;
}

/** Sorted, de-duplicated fixes with poor accuracy dropped. */
function usable(fixes: readonly Fix[], s: GeofenceSettings): Point[] {
  const byTime = new Map<number, Point>();
  for (const f of fixes) {
    if (!Number.isFinite(f.lat) || !Number.isFinite(f.lng)) throw new RangeError('lat and lng must be finite numbers');
    const p: Point = { t: toMs(f.recordedAt), lat: f.lat, lng: f.lng, acc: f.accuracyM ?? null };
    if (p.acc !== null && p.acc > s.maxAccuracyM) continue;
    const existing = byTime.get(p.t);
    byTime.set(p.t, existing ? preferred(existing, p) : p);
  }
  return [...byTime.values()].sort((a, b) => a.t - b.t);
}

/** Whether going from a to b (b later) is physically possible for a truck. */
function possible(a: Point, b: Point, s: GeofenceSettings): boolean {
  const d = metres(a, b);
  if (d <= s.jitterM) return true;
  const hours = (b.t - a.t) / 3_600_000;
  return d / 1000 <= s.maxSpeedKmh * hours;
}

/** Drops fixes that would need an impossible speed (see the header for the re-anchoring rule). */
function plausibleTrack(sorted: readonly Point[], s: GeofenceSettings): Point[] {
  const track: Point[] = [];
  let rejected: Point[] = [];
  for (const p of sorted) {
    const anchor = track[track.length - 1];
    if (anchor === undefined || possible(anchor, p, s)) {
      track.push(p);
      rejected = [];
      continue;
    }
    const last = rejected[rejected.length - 1];
    rejected = last === undefined || possible(last, p, s) ? [...rejected, p] : [p];
    if (rejected.length >= s.reanchorFixes) {
      track.push(...rejected);
      rejected = [];
    }
  }
  return track;
}

function siteEvents(site: GeofenceCentre, track: readonly Point[], startInside: boolean, s: GeofenceSettings): GeofenceEvent[] {
  const events: GeofenceEvent[] = [];
  let inside = startInside;
  let runStart = -1;
  for (let k = 0; k < track.length; k++) {
    const p = track[k]!;
    const d = metres(p, site);
    // Inside: counts towards an arrival; beyond the leave radius: towards a departure; between: neither.
    const towards = inside ? d > s.leaveM : d <= s.enterM;
    if (!towards) {
      runStart = -1;
      continue;
    }
    if (runStart === -1) runStart = k;
    const first = track[runStart]!;
    if (k - runStart + 1 >= s.confirmFixes || p.t - first.t >= s.confirmS * 1000) {
      events.push({
        site: site.site,
        kind: inside ? 'DEPARTED' : 'ARRIVED',
        at: new Date(first.t),
        lat: first.lat,
        lng: first.lng,
        distanceM: metres(first, site),
      });
      inside = !inside;
      runStart = -1;
    }
  }
  return events;
}

function settingsOf(partial: Partial<GeofenceSettings> | undefined): GeofenceSettings {
  const s = { ...GEOFENCE_DEFAULTS, ...partial };
  for (const [key, value] of Object.entries(s)) {
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`${key} must be a finite number ≥ 0`);
  }
  if (s.leaveM < s.enterM) throw new RangeError('leaveM must be at least enterM (hysteresis)');
  if (s.confirmFixes < 1 || s.reanchorFixes < 1) throw new RangeError('confirmFixes and reanchorFixes must be at least 1');
  return s;
}

const SITE_ORDER: Record<GeofenceSite, number> = { PICKUP: 0, DROPOFF: 1 };
const KIND_ORDER: Record<GeofenceKind, number> = { ARRIVED: 0, DEPARTED: 1 };

export function compareEvents(a: Pick<GeofenceEvent, 'at' | 'site' | 'kind'>, b: Pick<GeofenceEvent, 'at' | 'site' | 'kind'>): number {
  return a.at.getTime() - b.at.getTime() || SITE_ORDER[a.site] - SITE_ORDER[b.site] || KIND_ORDER[a.kind] - KIND_ORDER[b.kind];
}

/** Every arrival and departure the fixes show at the sites: see the header for the rules. */
export function evaluateGeofences(input: GeofenceInput): GeofenceEvent[] {
  const s = settingsOf(input.settings);
  const track = plausibleTrack(usable(input.fixes, s), s);
  return input.sites.flatMap((site) => siteEvents(site, track, input.initial?.[site.site] ?? false, s)).sort(compareEvents);
}

/**
 * What a geofence event suggests to the driver, given the dispatch's status now; null when it
 * suggests nothing new. Only forward moves are suggested, and only the next one that makes sense:
 * - arrived at the pickup, not yet PICKED_UP: PICKED_UP (the cargo is being loaded);
 * - left the pickup, not yet IN_TRANSIT: IN_TRANSIT (a skip, which the status machine allows);
 * - arrived at the drop-off with the cargo on board (PICKED_UP or IN_TRANSIT): DELIVERED. Not from
 *   ASSIGNED or ACCEPTED: a truck that never loaded is not delivering, whatever the map says;
 * - left the drop-off once DELIVERED: COMPLETED.
 * A suggestion never changes a status: the driver taps it (PUT /mobile/dispatches/:id/status).
 */
export function suggestedStatus(status: DispatchStatus, latest: Pick<GeofenceEvent, 'site' | 'kind'> | undefined): DispatchStatus | null {
  if (!latest) return null;
  const index = (DISPATCH_FLOW as readonly string[]).indexOf(status);
  if (index === -1) return null; // CANCELLED, FAILED
  const before = (target: DispatchStatus) => index < DISPATCH_FLOW.indexOf(target as (typeof DISPATCH_FLOW)[number]);
  if (latest.site === 'PICKUP' && latest.kind === 'ARRIVED') return before('PICKED_UP') ? 'PICKED_UP' : null;
  if (latest.site === 'PICKUP' && latest.kind === 'DEPARTED') return before('IN_TRANSIT') ? 'IN_TRANSIT' : null;
  if (latest.site === 'DROPOFF' && latest.kind === 'ARRIVED') return status === 'PICKED_UP' || status === 'IN_TRANSIT' ? 'DELIVERED' : null;
  return status === 'DELIVERED' ? 'COMPLETED' : null;
}
