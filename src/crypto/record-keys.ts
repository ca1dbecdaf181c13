import type { Config } from "../config.js";
import { MasterKeyRing } from "./envelope.js";
import { KeyRing } from "./keyed-hash.js";
import { keySpecFrom, parseKeySpec } from "./key-spec.js";

/** The keys of personal records: master keys for their data keys, and the blind index's HMAC keys. */
export interface RecordKeys {
  master: MasterKeyRing;
  index: KeyRing;
}

export async function loadRecordKeys(config: Config): Promise<RecordKeys> {
  const { DATA_DIR } = config.database;
  const { RECORD_MASTER_KEYS, RECORD_INDEX_KEYS } = config.verification;
  return {
    master: new MasterKeyRing(parseKeySpec(await keySpecFrom(RECORD_MASTER_KEYS, DATA_DIR, "record-master-keys"))),
    index: new KeyRing(parseKeySpec(await keySpecFrom(RECORD_INDEX_KEYS, DATA_DIR, "record-index-keys"))),
  };
}
