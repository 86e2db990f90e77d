import type { Knex } from 'knex';

/**
 * Free text is stored in Unicode NFC from now on (domain/text.ts), and the address
 * search normalises its query to NFC. Text stored before, if a client sent it in
 * decomposed Hangul (NFD), would no longer be found by any search: rewrite it in NFC
 * once. Only rows that are not already NFC are touched. On the two unique columns a
 * row whose NFC form is already taken by another row is left as it was, rather than
 * failing the migration (an operator can merge the two by hand).
 */
const COLUMNS: [table: string, column: string][] = [
  ['orders', 'pickup_address'],
  ['orders', 'delivery_address'],
  ['orders', 'notes'],
  ['dispatches', 'notes'],
  ['dispatch_status_history', 'note'],
  ['drivers', 'name'],
  ['clients', 'name'],
  ['clients', 'contact_name'],
  ['clients', 'address'],
  ['users', 'name'],
];
const UNIQUE_COLUMNS: [table: string, column: string][] = [
  ['vehicles', 'license_plate'],
  ['drivers', 'license_number'],
];

export async function up(knex: Knex): Promise<void> {
  for (const [table, column] of COLUMNS) {
    await knex.raw(`update ?? set ?? = normalize(??, NFC) where ?? is not nfc normalized`, [table, column, column, column]);
  }
  for (const [table, column] of UNIQUE_COLUMNS) {
    await knex.raw(
      `update ?? as t set ?? = normalize(t.??, NFC)
        where t.?? is not nfc normalized
          and not exists (select 1 from ?? as other where other.?? = normalize(t.??, NFC))`,
      [table, column, column, column, table, column, column],
    );
  }
}

export async function down(): Promise<void> {
  throw new Error('forward-only migration: restore a backup or write a new migration (docs/deploy.md)');
}
