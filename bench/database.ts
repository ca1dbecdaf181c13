import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { startEmbeddedPostgres, type EmbeddedDatabase } from "../src/db/embedded.js";
import type { Logger } from "../src/logger.js";
import { freePort } from "./processes.js";

export interface BenchDatabase {
  /** The bench's own fresh database. */
  url: string;
  name: string;
  /** Where the server came from, for the report. */
  server: string;
  /** The embedded cluster's data directory (for CPU accounting); undefined with DATABASE_URL. */
  pgDataDir?: string;
  drop(): Promise<void>;
}

/**
 * DATABASE_URL set → a fresh database on that server; unset → an embedded PostgreSQL of the bench's
 * own (temporary directory, free port) with the fresh database in it. `drop` removes the database and
 * stops and deletes the embedded server.
 */
export async function benchDatabase(log: Logger): Promise<BenchDatabase> {
  let serverUrl = process.env.DATABASE_URL?.trim() || undefined;
  let embedded: EmbeddedDatabase | undefined;
  let embeddedDir: string | undefined;
  if (!serverUrl) {
    embeddedDir = await mkdtemp(join(tmpdir(), "watchfloor-bench-pg-"));
    embedded = await startEmbeddedPostgres(embeddedDir, await freePort(), log);
    serverUrl = embedded.url;
  }
  const name = `watchfloor_bench_${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const { rows } = await admin.query<{ version: string }>("select current_setting('server_version') as version");
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    server: `${embedded ? "embedded" : "DATABASE_URL"} PostgreSQL ${rows[0]!.version}`,
    pgDataDir: embeddedDir ? join(embeddedDir, "pg") : undefined,
    async drop() {
      try {
        const client = new pg.Client({ connectionString: serverUrl });
        await client.connect();
        await client.query(`drop database if exists ${name} with (force)`);
        await client.end();
      } finally {
        if (embedded) {
          await embedded.stop();
          await rm(embeddedDir!, { recursive: true, force: true });
        }
      }
    },
  };
}
