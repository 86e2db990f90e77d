/**
 * A re-sent reading (same vehicle, sensor, recorded_at) with another value: the stored reading is
 * chosen by value (the warmer), not by arrival order, so the stored excursions are the same
 * whichever copy came first (found by an outside review: storage used to keep the first).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { insertReadings } from '../../db/temperatures.js';
import { evaluateDispatchExcursions } from '../../use-cases/excursions.js';
import { transaction } from '../../use-cases/transaction.js';
import { assign, createDriverAccount, createOrder, createVehicle } from '../helpers/fixtures.js';
import { startTestUvis, type TestUvis } from '../helpers/uvis.js';

let uvis: TestUvis;
let admin: string;
const deps = { excursions: { openAfterS: 60, closeAfterS: 30, gapS: 300 } };

beforeAll(async () => {
  uvis = await startTestUvis({ role: 'api' });
  admin = await uvis.api.login();
});
afterAll(async () => {
  await uvis?.stop();
});

async function frozenDispatch() {
  const vehicle = await createVehicle(uvis.api, admin);
  const driver = await createDriverAccount(uvis.api, admin);
  const order = await createOrder(uvis.api, admin, { cargo_type: '냉동' });
  const d = await assign(uvis.api, admin, order.id, vehicle.id, driver.driverId);
  expect(d.status, d.text).toBe(201);
  await uvis.running.deps
    .db('dispatches')
    .where({ id: d.body.id })
    .update({ created_at: new Date(Date.now() - 2 * 3600_000) });
  return { vehicleId: vehicle.id, dispatchId: d.body.id as number };
}

async function store(vehicleId: number, dispatchId: number, readings: { t: number; c: number }[], now: Date) {
  await uvis.running.deps.db.transaction((trx) =>
    insertReadings(
      trx,
      readings.map((r) => ({
        vehicle_id: vehicleId,
        sensor: 'main',
        recorded_at: new Date(r.t),
        temperature_c: r.c,
        setpoint_c: null,
        door_open: null,
        source: 'gateway' as const,
        received_at: now,
      })),
    ),
  );
  return transaction(uvis.running.deps, (tx) => evaluateDispatchExcursions(tx, deps, dispatchId, now, 'readings'));
}

it('the same readings in two arrival orders store the same excursions', async () => {
  const now = new Date();
  const start = now.getTime() - 60 * 60_000;
  // −20 °C every 10 s for 20 readings; readings 5..14 are also re-sent as −16 °C (out of range, a warning after 60 s).
  const base = Array.from({ length: 20 }, (_, i) => ({ t: start + i * 10_000, c: -20 }));
  const resent = base.slice(5, 15).map((r) => ({ ...r, c: -16 }));
  const results: unknown[] = [];
  for (const batches of [
    [base, resent],
    [resent, base],
  ]) {
    const { vehicleId, dispatchId } = await frozenDispatch();
    for (const b of batches) await store(vehicleId, dispatchId, b, now);
    const rows = await uvis.running.deps.db('temperature_excursions').where({ dispatch_id: dispatchId }).whereNull('superseded_at');
    results.push(rows.map((r) => [r.kind, r.severity, r.started_at.getTime() - start, r.readings]));
  }
  expect(results[0]).toEqual(results[1]);
  // The warmer copies are the ones kept: a warning over readings 5..14.
  expect(results[0]).toEqual([['HIGH', 'WARNING', 50_000, 10]]);
});
