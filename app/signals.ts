import type { Logger } from "../src/logger.js";

/** Stops cleanly on SIGINT/SIGTERM (a second signal forces the exit). */
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
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
}
