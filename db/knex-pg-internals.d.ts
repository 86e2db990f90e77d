/**
 * knex's PostgreSQL dialect classes, which its typings do not export. db/knex.ts extends them
 * so that every transaction carries its own settings (see there).
 */
declare module 'knex/lib/dialects/postgres/index.js' {
  import { Knex } from 'knex';

  /** The pooled node-postgres client, marked by knex while a transaction holds it. */
  export interface PgConnection {
    __knexTxId?: string;
    query(text: string): Promise<unknown>;
    /** node-postgres' protocol connection and its socket. */
    connection?: { stream?: { cork(): void; uncork(): void } };
  }
  export interface KnexQuery {
    sql?: string;
    bindings?: unknown[];
  }
  class ClientPg extends Knex.Client {
    constructor(config: Knex.Config);
    _query(connection: PgConnection, obj: KnexQuery): Promise<KnexQuery>;
  }
  export default ClientPg;
}

declare module 'knex/lib/dialects/postgres/execution/pg-transaction.js' {
  class TransactionPg {
    isolationLevel?: string;
    readOnly?: boolean;
    constructor(...args: unknown[]);
    query(connection: unknown, sql: string): Promise<unknown>;
    begin(connection: unknown): Promise<unknown>;
  }
  export default TransactionPg;
}
