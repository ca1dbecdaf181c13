import "reflect-metadata";
import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { migrate } from "../src/db/orm.js";
import { createLogger } from "../src/logger.js";
import { incidentMigrations } from "../subgraphs/incidents/migrations/index.js";

/**
 * Incidents stored while `accountIds` were kept as given meet the migration that makes them links to
 * the accounts subgraph: on a database of its own, migrated to before it, rows with every kind of old
 * value are migrated, and each keeps exactly the ids that can name an account, in order, once.
 */
describe("the migration of stored account ids to account links", () => {
  const database = `${new URL(inject("databaseUrl")).pathname.slice(1)}_inc_mig`;
  const url = new URL(inject("databaseUrl"));
  url.pathname = `/${database}`;
  const admin = () => new pg.Client({ connectionString: inject("databaseUrl") });
  const log = createLogger("silent", "test");
  let db: pg.Client;

  beforeAll(async () => {
    const client = admin();
    await client.connect();
    await client.query(`drop database if exists ${database}`);
    await client.query(`create database ${database}`);
    await client.end();
    expect(incidentMigrations[0]!.name).toBe("Migration20261125000200_incidents");
    await migrate(url.toString(), [{ schema: "incidents", migrations: incidentMigrations.slice(0, 1) }], log);
    db = new pg.Client({ connectionString: url.toString() });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
    const client = admin();
    await client.connect();
    await client.query(`drop database if exists ${database}`);
    await client.end();
  });

  it("keeps the account--<uuid> ids (lower-cased, in order, once) and drops what cannot name an account", async () => {
    const [u1, u2] = [randomUUID(), randomUUID()];
    // title, account ids as stored before, the uuids kept: the first mention of each decides its place.
    const old: [string, string[], string[]][] = [
      ["mixed", ["acct-1", `account--${u1}`, "ACCOUNT--" + u2.toUpperCase(), `account--${u1}`, "account--not-a-uuid", `indicator--${u2}`], [u1, u2]],
      ["none named", ["acct-2", "1234"], []],
      ["empty", [], []],
    ];
    for (const [title, accountIds] of old) {
      await db.query("insert into incidents.incident (owner, title, severity, status, tlp, account_ids) values ('p', $1, 'LOW', 'NEW', 'GREEN', $2)", [title, accountIds]);
    }
    await migrate(url.toString(), [{ schema: "incidents", migrations: incidentMigrations }], log);
    const { rows } = await db.query("select title, account_ids from incidents.incident order by title");
    expect(Object.fromEntries(rows.map((r) => [r.title, r.account_ids]))).toEqual(Object.fromEntries(old.map(([title, , now]) => [title, now])));
    const type = await db.query(
      "select format_type(atttypid, atttypmod) as type from pg_attribute where attrelid = 'incidents.incident'::regclass and attname = 'account_ids'",
    );
    expect(type.rows[0].type).toBe("uuid[]");
    // The projection's tables are there, empty until the account events are read.
    const tables = await db.query("select count(*)::int as n from incidents.account_marking, incidents.account_flag_marking");
    expect(tables.rows[0].n).toBe(0);
  });
});
