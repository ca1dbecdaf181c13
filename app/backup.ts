import { loadConfigOrExit } from "../src/config.js";
import { BackupError, backupDataDir } from "../src/db/backup.js";

/**
 * `npm run backup -- <new directory>`: DATA_DIR (the embedded PostgreSQL's cluster, its password, the
 * development key) copied into a new directory that is a DATA_DIR itself, whether the hub runs or not.
 */
const target = process.argv[2];
if (!target || process.argv.length > 3 || target.startsWith("-")) {
  process.stderr.write("usage: npm run backup -- <new directory>   (a copy of DATA_DIR; restore: DATA_DIR=<directory> npm start)\n");
  process.exit(2);
}
const config = loadConfigOrExit();
if (config.database.DATABASE_URL) {
  process.stderr.write("DATABASE_URL is set: the data are on that server; back it up with its own tools (pg_dump of its major version or later)\n");
  process.exit(1);
}
try {
  const { online } = await backupDataDir(config.database.DATA_DIR, target);
  process.stdout.write(
    `backed up ${config.database.DATA_DIR} into ${target} (${online ? "online, while the hub ran" : "the hub was stopped"}); restore: DATA_DIR=${target} npm start\n`,
  );
} catch (err) {
  process.stderr.write(`${err instanceof BackupError ? "" : "backup failed: "}${(err as Error).message}\n`);
  process.exit(1);
}
