import type { EntityManager } from "@mikro-orm/postgresql";
import { CompiledQuery } from "kysely";
import type { QueryResultRow } from "pg";

/**
 * SQL with real parameters ($1, $2, …), on the unit of work's transaction when one is open, else on a
 * pooled connection of the same ORM. MikroORM's own `execute` writes parameters into the statement
 * text as literals: slow for a 1,000-item JSON batch and never reusing a plan. Here the values travel
 * apart from the text, through the ORM's Kysely client (the transaction's, inside one), and a `name`
 * makes Postgres keep the statement prepared on each connection.
 */
export async function query<T extends QueryResultRow>(em: EntityManager, text: string, values: unknown[] = [], name?: string): Promise<T[]> {
  // Kysely's PostgreSQL driver hands `sql` and `parameters` to pg's `client.query` as they are, and pg
  // takes a query config in the place of the text: that is how the name reaches it.
  const sql = (name ? { text, name } : text) as unknown as string;
  const result = await em.getKysely().executeQuery<T>(CompiledQuery.raw(sql, values));
  return result.rows as T[];
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

/** A timestamp as rows bring it: a Date from pg, text from JSON (event payloads, `json_agg`). */
export const asDate = (d: Date | string) => (d instanceof Date ? d : new Date(d));
