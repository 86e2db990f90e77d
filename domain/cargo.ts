/** Cargo classes of a cold-chain carrier, with the Korean labels the clients use. */

export const CARGO_CLASSES = ['CHILLED', 'FROZEN', 'AMBIENT'] as const;
export type CargoClass = (typeof CARGO_CLASSES)[number];

export const CARGO_INFO: Record<CargoClass, { label: string; temperature: string }> = {
  CHILLED: { label: '냉장', temperature: '0 to 10 °C' },
  FROZEN: { label: '냉동', temperature: '-18 °C or colder' },
  AMBIENT: { label: '상온', temperature: 'ambient' },
};

const BY_LABEL = new Map<string, CargoClass>(CARGO_CLASSES.map((code) => [CARGO_INFO[code].label, code]));

/** Accepts a code (any case) or its Korean label; undefined for anything else. */
export function parseCargoClass(input: string): CargoClass | undefined {
  const trimmed = input.trim();
  const upper = trimmed.toUpperCase();
  if ((CARGO_CLASSES as readonly string[]).includes(upper)) return upper as CargoClass;
  return BY_LABEL.get(trimmed);
}

export const VEHICLE_TYPES = ['REFRIGERATED', 'FREEZER', 'DRY'] as const;
export type VehicleType = (typeof VEHICLE_TYPES)[number];

/** What a vehicle of each type carries when the admin does not say otherwise. */
export const DEFAULT_CARGO_CLASSES: Record<VehicleType, CargoClass[]> = {
  REFRIGERATED: ['CHILLED', 'FROZEN'],
  FREEZER: ['FROZEN'],
  DRY: ['AMBIENT'],
};

/** What a vehicle of each type can physically hold: a dry van has no cooling, a reefer can also run unchilled. */
export const POSSIBLE_CARGO_CLASSES: Record<VehicleType, CargoClass[]> = {
  REFRIGERATED: ['CHILLED', 'FROZEN', 'AMBIENT'],
  FREEZER: ['FROZEN', 'CHILLED'],
  DRY: ['AMBIENT'],
};

/** The classes a vehicle of this type cannot hold (empty when all is well). */
export function impossibleCargoClasses(type: VehicleType, classes: CargoClass[]): CargoClass[] {
  return classes.filter((c) => !POSSIBLE_CARGO_CLASSES[type].includes(c));
}
