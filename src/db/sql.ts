import type { EntityManager } from "@mikro-orm/postgresql";
import type { QueryResultRow } from "pg";

/**
 * SQL with real parameters ($1, $2, …), on the unit of work's transaction when one is open, else on a
 * pooled connection of the same ORM. MikroORM's own `execute` writes parameters into the statement
 * text as literals: slow for a 1,000-item JSON batch and never reusing a plan. Here the values travel
 * apart from the text, and a `name` makes Postgres keep the statement prepared on each connection.
 */
export async function query<T extends QueryResultRow>(em: EntityManager, text: string, values: unknown[] = [], name?: string): Promise<T[]> {
  const knex = em.getTransactionContext() ?? em.getKnex();
  const client = knex.client;
  // A transaction's client hands out the transaction's own connection and keeps it on release.
  const connection = await client.acquireConnection();
  try {
    const result = await connection.query({ text, values, name });
    return result.rows as T[];
  } finally {
    await client.releaseConnection(connection);
  }
}

/** Collects the values of a statement as it is written, answering each one's placeholder. */
export class Params {
  readonly values: unknown[] = [];

  /** `$n` for this value. */
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}
