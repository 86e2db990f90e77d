/**
 * Real Korean trunk routes, as a few hand-picked waypoints along the expressways
 * (district centres from data/kr-districts.csv at the ends), and a position at any
 * distance along them.
 */
export interface Waypoint {
  name: string;
  lat: number;
  lng: number;
}

export interface Route {
  /** Korean first, with English. */
  name: string;
  pickupAddress: string;
  deliveryAddress: string;
  waypoints: Waypoint[];
}

export const ROUTES: Route[] = [
  {
    name: '이천 → 서울 송파 (Icheon → Songpa, Seoul)',
    pickupAddress: '경기도 이천시 부발읍 경충대로 2091',
    deliveryAddress: '서울특별시 송파구 양재대로 932 (가락시장)',
    waypoints: [
      { name: '이천', lat: 37.272, lng: 127.435 },
      { name: '곤지암', lat: 37.351, lng: 127.34 },
      { name: '경기 광주', lat: 37.4094, lng: 127.257 },
      { name: '하남 산곡', lat: 37.493, lng: 127.183 },
      { name: '가락시장', lat: 37.4925, lng: 127.118 },
      { name: '송파', lat: 37.5145, lng: 127.1059 },
    ],
  },
  {
    name: '부산 센텀 → 대구 (Busan Centum → Daegu)',
    pickupAddress: '부산광역시 해운대구 센텀중앙로 79',
    deliveryAddress: '대구광역시 수성구 달구벌대로 2300',
    waypoints: [
      { name: '센텀시티', lat: 35.1695, lng: 129.1319 },
      { name: '노포', lat: 35.2839, lng: 129.0952 },
      { name: '양산', lat: 35.3386, lng: 129.034 },
      { name: '밀양', lat: 35.5037, lng: 128.7462 },
      { name: '청도', lat: 35.6475, lng: 128.734 },
      { name: '수성', lat: 35.8581, lng: 128.6306 },
    ],
  },
  {
    name: '평택 → 대전 (Pyeongtaek → Daejeon)',
    pickupAddress: '경기도 평택시 포승읍 평택항로 184',
    deliveryAddress: '대전광역시 유성구 대학로 99',
    waypoints: [
      { name: '평택', lat: 36.9921, lng: 127.1129 },
      { name: '천안', lat: 36.8151, lng: 127.1139 },
      { name: '오송', lat: 36.64, lng: 127.327 },
      { name: '신탄진', lat: 36.451, lng: 127.43 },
      { name: '유성', lat: 36.3623, lng: 127.3562 },
    ],
  },
];

/** Great-circle distance in km. */
export function distanceKm(a: { lat: number; lng: number }, b: { lat: number; lng: number }): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLng = (b.lng - a.lng) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLng / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.sqrt(h));
}

export function routeLengthKm(route: Route): number {
  let km = 0;
  for (let i = 1; i < route.waypoints.length; i++) km += distanceKm(route.waypoints[i - 1]!, route.waypoints[i]!);
  return km;
}

/** The same route driven back. */
export function reversed(route: Route): Route {
  const [from, to] = route.name.split(' (')[0]!.split(' → ');
  const [fromEn, toEn] = (route.name.split(' (')[1] ?? '').replace(')', '').split(' → ');
  return {
    name: `${to} → ${from} (${toEn} → ${fromEn})`,
    pickupAddress: route.deliveryAddress,
    deliveryAddress: route.pickupAddress,
    waypoints: [...route.waypoints].reverse(),
  };
}

/** Position and heading (degrees from north) `km` along the route; the end once past it. */
export function positionAt(route: Route, km: number): { lat: number; lng: number; heading: number; near: string } {
  const w = route.waypoints;
  let left = Math.max(0, km);
  for (let i = 1; i < w.length; i++) {
    const a = w[i - 1]!;
    const b = w[i]!;
    const leg = distanceKm(a, b);
    if (left <= leg || i === w.length - 1) {
      const f = leg === 0 ? 1 : Math.min(1, left / leg);
      const heading = (Math.atan2((b.lng - a.lng) * Math.cos((a.lat * Math.PI) / 180), b.lat - a.lat) * 180) / Math.PI;
      return { lat: a.lat + (b.lat - a.lat) * f, lng: a.lng + (b.lng - a.lng) * f, heading: (heading + 360) % 360, near: f < 0.5 ? a.name : b.name };
    }
    left -= leg;
  }
  const last = w[w.length - 1]!;
  return { lat: last.lat, lng: last.lng, heading: 0, near: last.name };
}
