/**
 * What a dispatcher may record about a temperature excursion (DESIGN.md "Cold-chain
 * telemetry and excursions"). Shared by the API's schemas, the database's CHECK
 * (migration 0009) and the dashboard's form.
 */
export const CORRECTIVE_ACTIONS = [
  'ADJUSTED_SETPOINT',
  'CLOSED_DOOR',
  'REPAIRED_UNIT',
  'TRANSFERRED_LOAD',
  'RETURNED_TO_DEPOT',
  'INSPECTED_RELEASED',
  'QUARANTINED',
  'DISCARDED',
] as const;
export type CorrectiveAction = (typeof CORRECTIVE_ACTIONS)[number];
