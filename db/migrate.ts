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

export async function pendingMigrations(db: Db): Promise<string[]> {
  const [, pending] = (await db.migrate.list({ migrationSource: new ListedMigrations() })) as [unknown[], Migration[]];
  return pending.map((m) => m.name);
}
