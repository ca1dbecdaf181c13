import "reflect-metadata";
import { loadConfigOrExit } from "../src/config.js";
import { startHub } from "./hub.js";
import { createLogger } from "../src/logger.js";
import { SUBGRAPHS } from "./subgraphs.js";
import { PortUnavailableError } from "../src/net.js";
import { stopOnSignals } from "./signals.js";

/**
 * One part of the hub alone, for one container each:
 *   node dist/app/serve.js gateway          (subgraphs from SUBGRAPH_URLS, port PORT)
 *   node dist/app/serve.js <subgraph>       (port SUBGRAPH_PORT_BASE; needs DATABASE_URL)
 */
const part = process.argv[2];
const names = SUBGRAPHS.map((s) => s.name);
if (!part || (part !== "gateway" && !names.includes(part))) {
  process.stderr.write(`usage: serve.js gateway | ${names.join(" | ")}\n`);
  process.exit(2);
}
const config = loadConfigOrExit();
if (part === "gateway" && !config.server.SUBGRAPH_URLS) {
  process.stderr.write("SUBGRAPH_URLS: required to run the gateway alone (name=url pairs separated by commas)\n");
  process.exit(1);
}
const log = createLogger(config.logging.LOG_LEVEL);
try {
  const hub = await startHub(config, log, {
    subgraphs: SUBGRAPHS.filter((s) => s.name === part),
    gateway: part === "gateway",
  });
  stopOnSignals(hub.stop, log);
} catch (err) {
  if (err instanceof PortUnavailableError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
  log.fatal({ err }, "could not start");
  process.stderr.write(`${part} could not start: ${(err as Error).message}\n`);
  process.exit(1);
}
