/** Approximate positions of Korean addresses from district centre points, and straight-line distances. */

export interface District {
  sido: string;
  sigungu: string;
  lat: number;
  lng: number;
}

export interface Point {
  lat: number;
  lng: number;
}

const EARTH_RADIUS_KM = 6371.0088;

export function haversineKm(a: Point, b: Point): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLng = (b.lng - a.lng) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLng / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.sqrt(h));
}

/** Short names people write for a province or metropolitan city: 서울특별시 -> 서울, 충청북도 -> 충북. */
export function sidoAliases(sido: string): string[] {
  const aliases = [sido, sido.slice(0, 2)];
  // 충청북도, 전라남도, 경상북도 and 전북특별자치도 are written 충북, 전남, 경북, 전북.
  if (/^..[남북]도$/.test(sido)) aliases.push(sido[0]! + sido[2]!);
  return aliases;
}

/**
 * Best-effort position of an address: the district named in it (disambiguated by
 * its province, since 중구 exists in five cities), else the centre of its province.
 */
export function locateAddress(address: string, districts: readonly District[]): Point | undefined {
  const tokens = address.split(/\s+/).filter(Boolean);
  const mentionsSido = (d: District) => sidoAliases(d.sido).some((alias) => tokens.some((t) => t.startsWith(alias)));
  const byDistrict = districts.filter((d) => tokens.includes(d.sigungu));
  const exact = byDistrict.find(mentionsSido) ?? (byDistrict.length === 1 ? byDistrict[0] : undefined);
  if (exact) return { lat: exact.lat, lng: exact.lng };
  const inSido = districts.filter(mentionsSido);
  if (inSido.length === 0) return undefined;
  return {
    lat: inSido.reduce((sum, d) => sum + d.lat, 0) / inSido.length,
    lng: inSido.reduce((sum, d) => sum + d.lng, 0) / inSido.length,
  };
}

export interface RouteEstimate {
  pickup: Point | undefined;
  delivery: Point | undefined;
  /** Straight-line distance, rounded to 0.1 km; null when either end cannot be placed. */
  distanceKm: number | null;
}

/** Places both ends (given coordinates win over address lookup) and measures the straight line between them. */
export function estimateRoute(pickup: { address: string; at?: Point }, delivery: { address: string; at?: Point }, known: readonly District[]): RouteEstimate {
  const from = pickup.at ?? locateAddress(pickup.address, known);
  const to = delivery.at ?? locateAddress(delivery.address, known);
  return { pickup: from, delivery: to, distanceKm: from && to ? Math.round(haversineKm(from, to) * 10) / 10 : null };
}
