import type { Logger } from "../src/logger.js";

const SIGNALS = ["SIGINT", "SIGTERM"] as const;

/**
 * Stops cleanly on SIGINT/SIGTERM (a second signal forces the exit). The hub's `stop` owns these
 * signals: it drains each part in order. Handlers that libraries add of their own, now or later, are
 * removed; Hive's runtime (through @whatwg-node/server) disposed itself on SIGTERM at once, aborting
 * every request in flight with SHUTTING_DOWN before the gateway could drain.
 */
export function stopOnSignals(stop: () => Promise<void>, log: Logger): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1);
    stopping = true;
    log.info({ signal }, "stopping");
    stop().then(
      () => {
        // Written once every server, the event reader and the embedded PostgreSQL have closed.
        log.info({ signal }, "stopped");
        process.exit(0);
      },
      (err) => {
        log.error({ err }, "stop failed");
        process.exit(1);
      },
    );
  };
  for (const signal of SIGNALS) {
    for (const other of process.listeners(signal)) process.removeListener(signal, other);
    process.on(signal, handler);
  }
  process.on("newListener", (event, listener) => {
    if ((SIGNALS as readonly (string | symbol)[]).includes(event) && listener !== handler) {
      queueMicrotask(() => process.removeListener(event as NodeJS.Signals, listener));
    }
  });
}
