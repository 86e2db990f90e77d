/** Whether an order may be assigned to a vehicle and driver, and if not, every reason why. */
import type { CargoClass } from './cargo.js';
import { CARGO_INFO } from './cargo.js';
import type { OrderStatus } from './dispatch-status.js';

export type RefusalCode =
  'order_not_pending' | 'vehicle_inactive' | 'driver_inactive' | 'vehicle_busy' | 'driver_busy' | 'capacity_exceeded' | 'cargo_class_unsupported';

export interface Refusal {
  code: RefusalCode;
  message: string;
}

export interface AssignmentFacts {
  order: { id: number; status: OrderStatus; cargoType: CargoClass; weightKg: number };
  vehicle: { id: number; active: boolean; capacityKg: number; cargoClasses: CargoClass[] };
  driver: { id: number; active: boolean };
  /** Id of another active dispatch holding the vehicle or driver, if any. */
  vehicleBusyWith?: number;
  driverBusyWith?: number;
}

export function assignmentRefusals(f: AssignmentFacts): Refusal[] {
  const refusals: Refusal[] = [];
  if (f.order.status !== 'PENDING') {
    refusals.push({ code: 'order_not_pending', message: `order ${f.order.id} is ${f.order.status}, not PENDING` });
  }
  if (!f.vehicle.active) refusals.push({ code: 'vehicle_inactive', message: `vehicle ${f.vehicle.id} is inactive` });
  if (!f.driver.active) refusals.push({ code: 'driver_inactive', message: `driver ${f.driver.id} is inactive` });
  if (f.vehicleBusyWith !== undefined) {
    refusals.push({ code: 'vehicle_busy', message: `vehicle ${f.vehicle.id} is busy on dispatch ${f.vehicleBusyWith}` });
  }
  if (f.driverBusyWith !== undefined) {
    refusals.push({ code: 'driver_busy', message: `driver ${f.driver.id} is busy on dispatch ${f.driverBusyWith}` });
  }
  if (f.vehicle.capacityKg < f.order.weightKg) {
    refusals.push({
      code: 'capacity_exceeded',
      message: `vehicle ${f.vehicle.id} carries at most ${f.vehicle.capacityKg} kg; the order weighs ${f.order.weightKg} kg`,
    });
  }
  if (!f.vehicle.cargoClasses.includes(f.order.cargoType)) {
    const label = CARGO_INFO[f.order.cargoType].label;
    refusals.push({
      code: 'cargo_class_unsupported',
      message: `vehicle ${f.vehicle.id} cannot carry ${f.order.cargoType} (${label}) cargo`,
    });
  }
  return refusals;
}
