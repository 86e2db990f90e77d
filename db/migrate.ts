/** Runs the migrations listed in migrations/index.ts (an explicit list: no file-system scanning, same in tsx and dist). */
import type { Knex } from 'knex';
import { migrations, type Migration } from '../migrations/index.js';
import type { Db } from './knex.js';

class ListedMigrations implements Knex.MigrationSource<Migration> {
  getMigrations(): Promise<Migration[]> {
    return Promise.resolve(migrations);
  }
  getMigrationName(migration: Migration): string {
    return migration.name;
  }
  getMigration(migration: Migration): Promise<Knex.Migration> {
    return Promise.resolve(migration);
  }
}

export async function migrateLatest(db: Db): Promise<string[]> {
  const [, applied] = (await db.migrate.latest({ migrationSource: new ListedMigrations() })) as [number, string[]];
  return applied;
}

/**
 * Migrations this code knows and the database has not applied. An older image (a
 * rollback) must still start on a database that a newer one migrated: applied
 * migrations it does not know are not an error here.
 */
export async function pendingMigrations(db: Db): Promise<string[]> {
  const [, pending] = (await db.migrate.list({ migrationSource: new ListedMigrations(), disableMigrationsListValidation: true })) as [unknown[], Migration[]];
  return pending.map((m) => m.name);
}
