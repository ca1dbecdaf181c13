import { mkdtemp } from "node:fs/promises";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import type { TestProject } from "vitest/node";
import { startEmbeddedPostgres, type EmbeddedDatabase } from "../../src/db/embedded.js";
import { createLogger } from "../../src/logger.js";

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}

/** A port nothing listens on now, so that two test runs on one machine do not collide. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * The same rule as `npm start`: DATABASE_URL set → a fresh database on that server for this run,
 * dropped afterwards; unset → an embedded PostgreSQL of the test run's own.
 */
export default async function setup(project: TestProject) {
  // CI's log shows which Node the tests ran on: the one npm scripts run on, not the system's.
  process.stdout.write(`tests run on node ${process.version} (${process.execPath})\n`);
  const log = createLogger("warn", "test-db");
  let embedded: EmbeddedDatabase | undefined;
  let serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    const dir = await mkdtemp(join(tmpdir(), "watchfloor-test-"));
    embedded = await startEmbeddedPostgres(dir, Number(process.env.TEST_EMBEDDED_PG_PORT ?? (await freePort())), log);
    serverUrl = embedded.url;
  }
  const name = `watchfloor_test_${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  project.provide("databaseUrl", url.toString());

  return async () => {
    const client = new pg.Client({ connectionString: serverUrl });
    await client.connect();
    await client.query(`drop database if exists ${name} with (force)`);
    await client.end();
    await embedded?.stop();
  };
}
