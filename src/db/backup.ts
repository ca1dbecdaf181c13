import { chown, copyFile, lstat, mkdir, readdir, readFile, readlink, rm, symlink, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import pg from "pg";

/** A backup that cannot be made as asked: the message is the whole report. */
export class BackupError extends Error {
  override name = "BackupError";
}

/** Directories whose contents a base backup leaves out (PostgreSQL's "Backing Up the Data Directory"). */
const EMPTIED = new Set(["pg_dynshmem", "pg_notify", "pg_serial", "pg_snapshots", "pg_stat_tmp", "pg_subtrans", "pg_replslot"]);
/** pg_wal's folders, copied empty; its segments are copied after the backup's end. */
const WAL_FOLDERS = new Set(["pg_wal/archive_status", "pg_wal/summaries"]);
/** Files a copy never takes: they describe the running server, or an earlier backup. */
const LEFT_OUT = new Set(["postmaster.pid", "postmaster.opts", "backup_label", "tablespace_map"]);

const asRoot = process.getuid?.() === 0;

/** Copies a tree as it is on disk, modes and (as root) owners kept; files that vanish meanwhile are skipped. */
async function copyTree(src: string, dst: string, skip: (rel: string, name: string) => boolean, rel = ""): Promise<void> {
  const stat = await lstat(src).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return undefined;
    throw err;
  });
  if (!stat) return;
  if (stat.isDirectory()) {
    await mkdir(dst, { mode: stat.mode & 0o7777 });
    for (const name of await readdir(src)) {
      const childRel = rel ? `${rel}/${name}` : name;
      if (!skip(childRel, name)) await copyTree(join(src, name), join(dst, name), skip, childRel);
    }
  } else if (stat.isSymbolicLink()) {
    await symlink(await readlink(src), dst);
  } else {
    try {
      await copyFile(src, dst);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
      throw err;
    }
  }
  // The cluster runs as its own user (`postgres`, when the hub runs as root): the copy must stay its.
  if (asRoot && !stat.isSymbolicLink()) await chown(dst, stat.uid, stat.gid);
}

/** The running postmaster's port, from `postmaster.pid`; undefined when the cluster is stopped. */
async function runningPort(cluster: string): Promise<number | undefined> {
  const lines = await readFile(join(cluster, "postmaster.pid"), "utf8").then(
    (text) => text.split("\n"),
    () => undefined,
  );
  if (!lines) return undefined;
  try {
    process.kill(Number(lines[0]), 0);
  } catch (err) {
    // EPERM: alive, under another user (the cluster's own, when this runs as root).
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return undefined;
  }
  return Number(lines[3]);
}

/**
 * Copies DATA_DIR (the embedded cluster under `pg/`, its password, the development signing key) into
 * `target`, a new directory that is a DATA_DIR itself: a hub started on it has the data as they were.
 * With the cluster running, the copy is an online base backup with PostgreSQL's own low-level API:
 * `pg_backup_start`, the files, `pg_backup_stop`, then the WAL written meanwhile and the backup label,
 * from which PostgreSQL recovers to a consistent state when it starts on the copy. With the cluster
 * stopped, the files are copied as they are.
 */
export async function backupDataDir(dataDir: string, target: string): Promise<{ online: boolean }> {
  const source = resolve(dataDir);
  const cluster = join(source, "pg");
  const to = resolve(target);
  if (!(await lstat(join(cluster, "PG_VERSION")).catch(() => undefined))) {
    throw new BackupError(`DATA_DIR: ${source} holds no embedded PostgreSQL cluster (no pg/PG_VERSION)`);
  }
  const existing = await readdir(to).catch(() => undefined);
  if (existing?.length) throw new BackupError(`${to} already exists and is not empty: back up into a new directory`);
  await mkdir(to, { recursive: true, mode: 0o700 });
  try {
    const port = await runningPort(cluster);
    if (port === undefined) await copyTree(cluster, join(to, "pg"), (rel) => LEFT_OUT.has(rel));
    else await onlineBackup(cluster, join(to, "pg"), port, (await readFile(join(source, "pg-password"), "utf8")).trim());
    await copyTree(join(source, "pg-password"), join(to, "pg-password"), () => false);
    await copyTree(join(source, "keys"), join(to, "keys"), () => false);
    return { online: port !== undefined };
  } catch (err) {
    await rm(to, { recursive: true, force: true });
    throw err;
  }
}

async function onlineBackup(cluster: string, to: string, port: number, password: string): Promise<void> {
  // One session from start to stop: PostgreSQL ends a backup whose session goes away.
  const client = new pg.Client({ host: "127.0.0.1", port, user: "watchfloor", password, database: "postgres" });
  await client.connect();
  try {
    await client.query("select pg_backup_start($1, true)", [`watchfloor backup ${new Date().toISOString()}`]);
    await copyTree(cluster, to, (rel, name) => {
      const [top, ...below] = rel.split("/");
      if (top === "pg_wal" && below.length) return !WAL_FOLDERS.has(rel);
      return LEFT_OUT.has(rel) || name === "pg_internal.init" || name.startsWith("pgsql_tmp") || (EMPTIED.has(top!) && below.length > 0);
    });
    const {
      rows: [stop],
    } = await client.query<{ labelfile: string; spcmapfile: string; stopwal: string }>(
      "select s.labelfile, s.spcmapfile, pg_walfile_name(s.lsn) as stopwal from pg_backup_stop(false) s",
    );
    // The WAL from the backup's start to its end, copied after the end so that it is all there.
    for (const name of await readdir(join(cluster, "pg_wal"))) {
      if (!WAL_FOLDERS.has(`pg_wal/${name}`)) await copyTree(join(cluster, "pg_wal", name), join(to, "pg_wal", name), () => false);
    }
    const startwal = /START WAL LOCATION: .*\(file ([0-9A-F]{24})\)/.exec(stop!.labelfile)?.[1];
    const copied = new Set(await readdir(join(to, "pg_wal")));
    // A checkpoint may recycle segments; only older ones than the newest, so both ends present means all are.
    if (!startwal || !copied.has(startwal) || !copied.has(stop!.stopwal)) {
      throw new BackupError("the WAL written during the backup was recycled before it was copied: run the backup again");
    }
    await writeFile(join(to, "backup_label"), stop!.labelfile, { mode: 0o600 });
    if (stop!.spcmapfile) await writeFile(join(to, "tablespace_map"), stop!.spcmapfile, { mode: 0o600 });
    if (asRoot) {
      const owner = await lstat(cluster);
      for (const file of ["backup_label", ...(stop!.spcmapfile ? ["tablespace_map"] : [])]) await chown(join(to, file), owner.uid, owner.gid);
    }
  } finally {
    await client.end();
  }
}
