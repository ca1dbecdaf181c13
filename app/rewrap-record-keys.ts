import "reflect-metadata";
import { loadConfigOrExit } from "../src/config.js";
import { createLogger } from "../src/logger.js";
import { rewrapRecordKeys } from "./record-keys.js";

/**
 * `npm run rewrap-record-keys`: after a new master key is put first in RECORD_MASTER_KEYS (the old
 * ones kept after it), wraps every customer record's data key by the new key. When it reports
 * `remaining: 0`, the old keys may be dropped from the setting. See docs/operations.md.
 */
if (process.argv.length > 2) {
  process.stderr.write("usage: npm run rewrap-record-keys   (no arguments; RECORD_MASTER_KEYS names the keys, its first the one to wrap with)\n");
  process.exit(2);
}
const config = loadConfigOrExit();
const log = createLogger(config.logging.LOG_LEVEL);
try {
  const report = await rewrapRecordKeys(config, log);
  const lines = [
    `data keys rewrapped to master key ${report.currentKeyId}: ${report.rewrapped}`,
    ...Object.entries(report.byProvider).map(([provider, n]) => `  ${provider}: ${n}`),
    ...(report.failed.length
      ? [
          `not rewrapped (their master key is not in RECORD_MASTER_KEYS, or the wrapped key was altered): ${report.failed.length} records: ` +
            `${report.failed.slice(0, 20).join(", ")}${report.failed.length > 20 ? ", …" : ""}`,
        ]
      : []),
    `records still under another master key: ${report.remaining}${report.remaining === 0 ? " (the old keys may now be removed from RECORD_MASTER_KEYS)" : ""}`,
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
  process.exit(report.failed.length || report.remaining ? 1 : 0);
} catch (err) {
  process.stderr.write(`rewrap failed: ${(err as Error).message}\n`);
  process.exit(1);
}
