import "reflect-metadata";
import { loadConfigOrExit } from "../src/config.js";
import { startHub } from "../app/hub.js";
import { createLogger } from "../src/logger.js";
import { stopOnSignals } from "../app/signals.js";
import { SUBGRAPHS } from "../app/subgraphs.js";

/**
 * One server of the benchmark, in a process of its own, so that the load generator, the gateway and
 * the subgraphs never share an event loop:
 *   node dist/bench/serve.js subgraph <name>   (DATABASE_URL, SUBGRAPH_PORT_BASE=0)
 *   node dist/bench/serve.js gateway           (SUBGRAPH_URLS, PORT=0): the hub's Hive Gateway
 *   node dist/bench/serve.js apollo            (SUBGRAPH_URLS, PORT=0): @apollo/gateway, the baseline
 * When ready it prints one JSON line on stdout: {"ready":true,"url":"http://127.0.0.1:port/graphql"}.
 * SIGTERM stops it cleanly (and lets --cpu-prof write its profile).
 */
const [role, name] = process.argv.slice(2);
const config = loadConfigOrExit();
const log = createLogger(config.logging.LOG_LEVEL, `bench-${role}`);

// The bench asks for memory over the IPC channel: after a full GC when run with --expose-gc.
process.on("message", (msg: { type?: string }) => {
  if (msg?.type !== "memory" || !process.send) return;
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  process.send({ type: "memory", ...process.memoryUsage(), collected: Boolean(gc) });
});
process.channel?.unref();

function ready(url: string): void {
  process.stdout.write(`${JSON.stringify({ ready: true, role, name, url, pid: process.pid })}\n`);
}

try {
  if (role === "subgraph") {
    const def = SUBGRAPHS.find((s) => s.name === name);
    if (!def) throw new Error(`no subgraph named ${name}`);
    const hub = await startHub(config, log, { subgraphs: [def], gateway: false });
    stopOnSignals(hub.stop, log);
    ready(hub.subgraphs[0]!.url);
  } else if (role === "gateway") {
    const hub = await startHub(config, log, { subgraphs: [], gateway: true });
    stopOnSignals(hub.stop, log);
    ready(hub.gateway!.url);
  } else if (role === "apollo") {
    // Elastic-2.0: a benchmark peer only, imported from bench/ and nowhere else.
    const { startApolloGateway } = await import("./apollo-gateway.js");
    const apollo = await startApolloGateway(config, log);
    stopOnSignals(apollo.stop, log);
    ready(apollo.url);
  } else {
    throw new Error("usage: serve.js subgraph <name> | gateway | apollo");
  }
} catch (err) {
  log.fatal({ err }, "could not start");
  process.stderr.write(`bench ${role} could not start: ${(err as Error).message}\n`);
  process.exit(1);
}
