import { MikroORM, type Options } from "@mikro-orm/postgresql";
import { Migrator } from "@mikro-orm/migrations";
import type { Migration } from "@mikro-orm/migrations";
import pg from "pg";
import type { Logger } from "../logger.js";

export type MigrationClass = new (...args: any[]) => Migration;
export interface MigrationSet {
  /** The Postgres schema the migrations own; their bookkeeping table lives there too. */
  schema: string;
  migrations: { name: string; class: MigrationClass }[];
}

// Postgres returns bigint as text by default; sequences here stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export async function createOrm(url: string, entities: Options["entities"], poolMax: number): Promise<MikroORM> {
  return MikroORM.init({
    clientUrl: url,
    entities,
    pool: { min: 0, max: poolMax },
    discovery: { warnWhenNoEntities: false },
    allowGlobalContext: false,
    debug: false,
  });
}

const MIGRATION_LOCK = 0x57_46_4d_47; // serialises migrations of every process that starts at once

/** Runs each set's pending migrations in order, one process at a time. */
export async function migrate(url: string, sets: MigrationSet[], log: Logger): Promise<void> {
  const lock = new pg.Client({ connectionString: url });
  await lock.connect();
  try {
    await lock.query("select pg_advisory_lock($1)", [MIGRATION_LOCK]);
    for (const set of sets) {
      const orm = await MikroORM.init({
        clientUrl: url,
        entities: [],
        discovery: { warnWhenNoEntities: false },
        extensions: [Migrator],
        pool: { min: 0, max: 1 },
        migrations: {
          tableName: `${set.schema}.mikro_orm_migrations`,
          migrationsList: set.migrations,
          transactional: true,
          allOrNothing: true,
          silent: true,
          // Migrations are written by hand; a schema snapshot (MikroORM 7 writes one on every run, into
          // the working directory) would only be a stray file, or a failed start in a read-only image.
          snapshot: false,
          snapshotOnMigrate: false,
        },
      });
      try {
        await orm.em.getConnection().execute(`create schema if not exists "${set.schema}"`);
        const done = await orm.migrator.up();
        if (done.length) log.info({ schema: set.schema, migrations: done.map((m) => m.name) }, "migrations applied");
      } finally {
        await orm.close(true);
      }
    }
  } finally {
    await lock.query("select pg_advisory_unlock($1)", [MIGRATION_LOCK]).catch(() => undefined);
    await lock.end();
  }
}
