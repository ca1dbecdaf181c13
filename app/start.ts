import "reflect-metadata";
import { loadConfigOrExit, usesDevIssuer } from "../src/config.js";
import { createLogger } from "../src/logger.js";
import { PortUnavailableError } from "../src/net.js";
import { stopOnSignals } from "./signals.js";

/** `npm start`: the whole hub in one process, on the embedded PostgreSQL unless DATABASE_URL is set. */
const config = loadConfigOrExit();
// Loaded after the configuration is checked, so that a wrong setting is reported at once.
const { startHub } = await import("./hub.js");
const { SUBGRAPHS } = await import("./subgraphs.js");
const log = createLogger(config.logging.LOG_LEVEL);
/** `npm run token` signs with DATA_DIR's key: a hub on another DATA_DIR than the default needs it said. */
const tokenDataDir = (dir: string) => (dir === ".data" ? "" : `DATA_DIR=${/^[\w./-]+$/.test(dir) ? dir : JSON.stringify(dir)} `);
try {
  const hub = await startHub(config, log, { subgraphs: SUBGRAPHS, gateway: true });
  stopOnSignals(hub.stop, log);
  const lines = [
    "",
    `Watchfloor is up: ${hub.gateway!.url} (HTTP, SSE and graphql-ws)`,
    `  health:    ${hub.gateway!.url.replace(/\/graphql$/, "/healthz")}`,
    ...hub.subgraphs.map((s) => `  subgraph:  ${s.name.padEnd(12)} ${s.url}`),
    `  database:  ${config.database.DATABASE_URL ? "DATABASE_URL" : `embedded PostgreSQL, data in ${config.database.DATA_DIR}/pg`}`,
    usesDevIssuer(config)
      ? `  a token:   ${tokenDataDir(config.database.DATA_DIR)}npm run token -- --org acme-cloud --kind PROVIDER --scopes "indicators:read indicators:write"`
      : `  tokens:    from your identity provider (${config.auth.AUTH_ISSUER})`,
    "",
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
} catch (err) {
  // A port in use is the operator's to fix: the line names it and its setting; a stack adds nothing.
  if (err instanceof PortUnavailableError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
  log.fatal({ err }, "the hub could not start");
  process.stderr.write(`The hub could not start: ${(err as Error).message}\n`);
  process.exit(1);
}
