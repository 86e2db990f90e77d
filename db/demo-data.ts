/**
 * Demo data for development (refused in production by lib/config). The seed's
 * end-to-end flow signs in as test@example.com / testpass, an admin linked to
 * driver 1, and uses client 1, vehicle 1 and driver 1. Loading twice changes
 * nothing: rows have fixed ids and existing ones are left alone.
 */
import { hashPassword } from '../lib/passwords.js';
import type { Db, Trx } from './knex.js';
import { estimateRoute } from '../domain/geo.js';
import { districts } from './districts.js';

export const DEMO_ACCOUNTS = [
  { id: 1, email: 'test@example.com', password: 'testpass', role: 'admin', name: '테스트 관리자', driver_id: 1 },
  { id: 2, email: 'dispatcher@example.com', password: 'dispatchpass', role: 'dispatcher', name: '배차 담당자', driver_id: null },
  { id: 3, email: 'driver2@example.com', password: 'driverpass', role: 'driver', name: '이서준', driver_id: 2 },
  { id: 4, email: 'driver3@example.com', password: 'driverpass', role: 'driver', name: '박지훈', driver_id: 3 },
  { id: 5, email: 'driver4@example.com', password: 'driverpass', role: 'driver', name: '최유진', driver_id: 4 },
] as const;

const CLIENTS = [
  { id: 1, name: '한빛식품', business_number: '120-81-10001', contact_name: '김하나', phone: '02-555-0101', address: '서울특별시 강남구 테헤란로 152' },
  { id: 2, name: '바다수산', business_number: '617-81-20002', contact_name: '박바다', phone: '051-555-0202', address: '부산광역시 해운대구 센텀중앙로 79' },
  { id: 3, name: '청정유업', business_number: '126-81-30003', contact_name: '이청정', phone: '031-555-0303', address: '경기도 이천시 부발읍 경충대로 2091' },
  { id: 4, name: '제주감귤농협', business_number: '616-82-40004', contact_name: '고감귤', phone: '064-555-0404', address: '제주특별자치도 제주시 연삼로 473' },
  { id: 5, name: '달구벌냉동', business_number: '504-81-50005', contact_name: '최달구', phone: '053-555-0505', address: '대구광역시 달서구 성서공단로 11' },
];

const VEHICLES = [
  { id: 1, license_plate: '12가3456', vehicle_type: 'REFRIGERATED', cargo_classes: ['CHILLED', 'FROZEN'], capacity_kg: 5000 },
  { id: 2, license_plate: '34나5678', vehicle_type: 'FREEZER', cargo_classes: ['FROZEN'], capacity_kg: 8000 },
  { id: 3, license_plate: '56다7890', vehicle_type: 'DRY', cargo_classes: ['AMBIENT'], capacity_kg: 11000 },
  { id: 4, license_plate: '78라1234', vehicle_type: 'REFRIGERATED', cargo_classes: ['CHILLED', 'FROZEN'], capacity_kg: 2500 },
  { id: 5, license_plate: '90마5678', vehicle_type: 'REFRIGERATED', cargo_classes: ['CHILLED', 'FROZEN'], capacity_kg: 11000 },
];

const DRIVERS = [
  { id: 1, name: '김민수', phone: '010-1111-0001', license_number: '11-23-456789-01', vehicle_id: 1 },
  { id: 2, name: '이서준', phone: '010-1111-0002', license_number: '12-23-456789-02', vehicle_id: 2 },
  { id: 3, name: '박지훈', phone: '010-1111-0003', license_number: '13-23-456789-03', vehicle_id: 3 },
  { id: 4, name: '최유진', phone: '010-1111-0004', license_number: '14-23-456789-04', vehicle_id: 4 },
  { id: 5, name: '정하늘', phone: '010-1111-0005', license_number: '15-23-456789-05', vehicle_id: 5 },
];

// Waiting orders so the dashboard has something to assign; none uses vehicle 1 or driver 1.
const ORDERS = [
  {
    id: 1,
    client_id: 2,
    pickup_address: '부산광역시 해운대구 센텀중앙로 79',
    delivery_address: '서울특별시 송파구 올림픽로 300',
    cargo_type: 'FROZEN',
    weight_kg: 1200,
  },
  {
    id: 2,
    client_id: 3,
    pickup_address: '경기도 이천시 부발읍 경충대로 2091',
    delivery_address: '대전광역시 유성구 대학로 99',
    cargo_type: 'CHILLED',
    weight_kg: 800,
  },
  {
    id: 3,
    client_id: 4,
    pickup_address: '제주특별자치도 제주시 연삼로 473',
    delivery_address: '광주광역시 서구 상무중앙로 61',
    cargo_type: 'AMBIENT',
    weight_kg: 2000,
  },
];

// Last known positions of drivers 2 to 5 (district centres), so the map is not empty.
const POSITIONS = [
  { driver_id: 2, vehicle_id: 2, latitude: 35.1631, longitude: 129.1635 },
  { driver_id: 3, vehicle_id: 3, latitude: 37.272, longitude: 127.435 },
  { driver_id: 4, vehicle_id: 4, latitude: 36.3623, longitude: 127.3562 },
  { driver_id: 5, vehicle_id: 5, latitude: 35.8299, longitude: 128.5327 },
];

/** The same estimate the orders worker makes, computed here so demo rows need no queue. */
function withEstimate(order: (typeof ORDERS)[number]) {
  const route = estimateRoute({ address: order.pickup_address }, { address: order.delivery_address }, districts());
  return {
    ...order,
    status: 'PENDING',
    pickup_lat: route.pickup?.lat,
    pickup_lng: route.pickup?.lng,
    delivery_lat: route.delivery?.lat,
    delivery_lng: route.delivery?.lng,
    // District centres, not doors: no geofence around them (domain/geofences.ts).
    pickup_estimated: route.pickup !== undefined,
    delivery_estimated: route.delivery !== undefined,
    distance_km: route.distanceKm,
  };
}

async function insertMissing(trx: Trx, table: string, rows: Record<string, unknown>[], key = 'id'): Promise<number> {
  const inserted = await trx(table).insert(rows).onConflict(key).ignore().returning(key);
  return inserted.length;
}

/** Identity sequences must move past the fixed ids, or the next insert would collide. */
async function bumpSequence(trx: Trx, table: string): Promise<void> {
  await trx.raw(`select setval(pg_get_serial_sequence(?, 'id'), greatest((select max(id) from ??), 1))`, [table, table]);
}

export async function loadDemoData(db: Db): Promise<{ inserted: number }> {
  const existing: string[] = await db('users')
    .whereRaw('lower(email) = any(?)', [DEMO_ACCOUNTS.map((a) => a.email)])
    .pluck('email');
  const missing = DEMO_ACCOUNTS.filter((a) => !existing.includes(a.email));
  const users = await Promise.all(missing.map(async ({ password, ...account }) => ({ ...account, password_hash: await hashPassword(password) })));
  return db.transaction(async (trx) => {
    let inserted = 0;
    inserted += await insertMissing(trx, 'clients', CLIENTS);
    inserted += await insertMissing(trx, 'vehicles', VEHICLES);
    inserted += await insertMissing(trx, 'drivers', DRIVERS);
    if (users.length > 0) inserted += await insertMissing(trx, 'users', users);
    inserted += await insertMissing(trx, 'orders', ORDERS.map(withEstimate));
    inserted += await insertMissing(
      trx,
      'driver_positions',
      POSITIONS.map((p) => ({ ...p, recorded_at: new Date() })),
      'driver_id',
    );
    for (const table of ['clients', 'vehicles', 'drivers', 'users', 'orders']) await bumpSequence(trx, table);
    return { inserted };
  });
}
