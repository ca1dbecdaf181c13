import type { Config } from "../src/config.js";
import { loadRecordKeys } from "../src/crypto/record-keys.js";
import { startEmbeddedPostgres, type EmbeddedDatabase } from "../src/db/embedded.js";
import { createOrm } from "../src/db/orm.js";
import type { Logger } from "../src/logger.js";
import { rewrapDataKeys, type RewrapReport } from "../subgraphs/verification/keys.service.js";

/**
 * Master-key rotation of the customer records, as `npm run rewrap-record-keys` runs it: every data key
 * wrapped by the first key of RECORD_MASTER_KEYS. On DATABASE_URL while the hub serves; on the embedded
 * PostgreSQL only while the hub is stopped (the cluster is the hub's, one process at a time).
 */
export async function rewrapRecordKeys(config: Config, log: Logger): Promise<RewrapReport> {
  const keys = await loadRecordKeys(config);
  let url = config.database.DATABASE_URL;
  let embedded: EmbeddedDatabase | undefined;
  if (!url) {
    try {
      embedded = await startEmbeddedPostgres(config.database.DATA_DIR, config.database.EMBEDDED_PG_PORT, log);
    } catch (err) {
      // Almost always the hub itself, still running on this DATA_DIR: the operator's next step is to stop it.
      throw new Error(`${(err as Error).message} (on the embedded PostgreSQL, stop the hub first: the command needs its cluster to itself)`);
    }
    url = embedded.url;
  }
  try {
    const orm = await createOrm(url, [], 2);
    try {
      return await rewrapDataKeys(orm.em.fork(), keys);
    } finally {
      await orm.close(true);
    }
  } finally {
    await embedded?.stop();
  }
}
