/** What the page reads from the API (the fields it uses). */

export type Role = 'admin' | 'dispatcher' | 'driver';

export interface Session {
  user_id: number;
  email: string;
  role: Role;
}

export interface Order {
  id: number;
  client_id: number;
  pickup_address: string;
  delivery_address: string;
  cargo_type: string;
  weight: number;
  status: string;
  created_at: string;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface Client {
  id: number;
  name: string;
}

export interface Vehicle {
  id: number;
  license_plate: string;
  vehicle_type: string;
  cargo_classes: string[];
  capacity_kg: number;
}

export interface Driver {
  id: number;
  name: string;
  vehicle_id: number | null;
}

export interface HistoryEntry {
  from_status: string | null;
  to_status: string;
  changed_at: string;
  note: string | null;
}

export interface ActiveDispatch {
  id: number;
  status: string;
  order_id: number;
  vehicle_id: number;
  driver_id: number;
  created_at: string;
  order: { pickup_address: string; delivery_address: string; cargo_type: string; weight: number; status: string; client_id: number };
  license_plate: string;
  driver_name: string;
  history: HistoryEntry[];
}

export interface VehiclePosition {
  vehicle_id: number;
  license_plate: string;
  vehicle_type: string;
  driver_id: number | null;
  driver_name: string | null;
  latitude: number | null;
  longitude: number | null;
  recorded_at: string | null;
}

export interface PositionsResponse {
  server_time: string;
  stale_after_seconds: number;
  items: VehiclePosition[];
}

export interface QueueCounts {
  name: string;
  waiting: number;
  active: number;
  failed: number;
  delayed: number;
  paused: boolean;
}

export interface QueuesResponse {
  at: string;
  queues: QueueCounts[];
}

export interface JobStatus {
  id: string;
  queue: string;
  name: string;
  state: string;
  attempts_made: number;
  attempts_allowed: number;
  result: unknown;
  failed_reason: string | null;
  created_at: string;
  processed_at: string | null;
  finished_at: string | null;
}

/** Live events as the workers publish them (lib/live-events.ts). */
export interface DispatchEvent {
  type: 'dispatch';
  dispatch_id: number;
  order_id: number;
  driver_id: number;
  vehicle_id: number;
  from: string | null;
  to: string;
  at: string;
}

export interface OrderEvent {
  type: 'order';
  order_id: number;
  status: string;
  at: string;
}

export interface PositionsEvent {
  type: 'positions';
  positions: { driver_id: number; latitude: number; longitude: number; recorded_at: string }[];
}
