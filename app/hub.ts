import { startGateway, type RunningGateway } from "../gateway/gateway.js";
import { supergraphFromSchemaDir, type SubgraphEndpoint } from "../gateway/compose.js";
import { createTokenVerifier } from "../src/auth/jwt.js";
import { loadKeyRing } from "../src/crypto/keyed-hash.js";
import { loadRecordKeys } from "../src/crypto/record-keys.js";
import type { Config } from "../src/config.js";
import { startEmbeddedPostgres, type EmbeddedDatabase } from "../src/db/embedded.js";
import { hubMigrations } from "../src/db/migrations/index.js";
import { migrate } from "../src/db/orm.js";
import { EventStream } from "../src/events/event-stream.js";
import { pruneIdempotencyRecords } from "../src/graphql/idempotency.js";
import type { HubServices } from "../src/graphql/context.js";
import { startSubgraphServer, type RunningSubgraph } from "../src/graphql/server.js";
import type { SubgraphDefinition } from "../src/graphql/subgraph.js";
import type { Logger } from "../src/logger.js";
import { assertPortsAvailable, type PlannedPort } from "../src/net.js";
import { OrgDirectory } from "../src/orgs/org-directory.js";

export interface HubOptions {
  /** The subgraphs to serve in this process. */
  subgraphs: readonly SubgraphDefinition[];
  /** Serve the gateway too, over these subgraphs plus any in SUBGRAPH_URLS. */
  gateway: boolean;
  /** The clock of period rules (retention, grants); the wall clock unless a test brings its own. */
  clock?: () => Date;
}

export interface RunningHub {
  gateway?: RunningGateway;
  subgraphs: RunningSubgraph[];
  services?: HubServices;
  /** What the hourly timer does: events past retention, idempotency records past their window, each subgraph's own prune (records past retention). */
  prune(): Promise<PruneCounts>;
  stop(): Promise<void>;
}

export interface PruneCounts {
  events: number;
  idempotencyRecords: number;
  /** What each subgraph's own prune removed (verification: records past retention), by subgraph. */
  subgraphs: Record<string, Record<string, number>>;
}

const PRUNE_EVERY_MS = 60 * 60 * 1000;

/** SUBGRAPH_URLS ("name=url,name=url") for subgraphs that run elsewhere. */
function remoteSubgraphs(config: Config): SubgraphEndpoint[] {
  const spec = config.server.SUBGRAPH_URLS;
  if (!spec) return [];
  return spec.split(",").map((pair) => {
    const [name, url] = pair.split("=") as [string, string];
    return { name, url };
  });
}

/** Every port the process is about to listen on, with the setting that names it. */
function plannedPorts(config: Config, options: HubOptions, embedded: boolean): PlannedPort[] {
  const { HOST: host, PORT, SUBGRAPH_PORT_BASE: base } = config.server;
  return [
    ...(embedded ? [{ host: "127.0.0.1", port: config.database.EMBEDDED_PG_PORT, setting: "EMBEDDED_PG_PORT", what: "the embedded PostgreSQL" }] : []),
    ...options.subgraphs.map((s, i) => ({
      host,
      port: base === 0 ? 0 : base + i,
      setting: "SUBGRAPH_PORT_BASE",
      what: i === 0 ? `the ${s.name} subgraph` : `the ${s.name} subgraph, SUBGRAPH_PORT_BASE + ${i}`,
    })),
    ...(options.gateway ? [{ host, port: PORT, setting: "PORT", what: "the gateway" }] : []),
  ];
}

/**
 * Starts what this process serves: the database (embedded when DATABASE_URL is unset), migrations,
 * the given subgraphs on SUBGRAPH_PORT_BASE + their index, and the gateway. `stop` undoes it all,
 * PostgreSQL included, in reverse order.
 */
export async function startHub(config: Config, log: Logger, options: HubOptions): Promise<RunningHub> {
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch((err) => log.error({ err }, "error while stopping"));
    stops.length = 0;
  };
  try {
    let databaseUrl = config.database.DATABASE_URL;
    let embedded: EmbeddedDatabase | undefined;
    await assertPortsAvailable(plannedPorts(config, options, !databaseUrl && options.subgraphs.length > 0));
    if (!databaseUrl && options.subgraphs.length) {
      embedded = await startEmbeddedPostgres(config.database.DATA_DIR, config.database.EMBEDDED_PG_PORT, log);
      stops.push(() => embedded!.stop());
      databaseUrl = embedded.url;
    }

    const verifier = await createTokenVerifier(config);
    const running: RunningSubgraph[] = [];
    let services: HubServices | undefined;
    let prune = async (): Promise<PruneCounts> => ({ events: 0, idempotencyRecords: 0, subgraphs: {} });
    if (options.subgraphs.length) {
      await migrate(databaseUrl!, [{ schema: "hub", migrations: hubMigrations }, ...options.subgraphs.map((s) => s.migrations)], log);
      const events = new EventStream(databaseUrl!, log.child({ component: "events" }));
      await events.start();
      stops.push(() => events.close());
      services = {
        config,
        log,
        orgs: new OrgDirectory(),
        events,
        identifierKeys: await loadKeyRing(config),
        recordKeys: await loadRecordKeys(config),
        clock: options.clock ?? (() => new Date()),
      };

      const { SUBGRAPH_PORT_BASE: base, HOST: host } = config.server;
      for (const [index, def] of options.subgraphs.entries()) {
        const sub = await startSubgraphServer(def, services, {
          host,
          port: base === 0 ? 0 : base + index,
          databaseUrl: databaseUrl!,
          verifier,
        });
        stops.push(() => sub.close());
        running.push(sub);
      }
      // The hub's tables are shared: any of this process's subgraphs' connections reaches them.
      const em = () => running[0]!.orm.em.fork();
      prune = async () => {
        const counts: PruneCounts = {
          events: await events.prune(config.events.EVENT_RETENTION_DAYS),
          idempotencyRecords: await pruneIdempotencyRecords(em(), config.idempotency.IDEMPOTENCY_WINDOW_SECONDS),
          subgraphs: {},
        };
        for (const [index, def] of options.subgraphs.entries()) {
          if (def.prune) counts.subgraphs[def.name] = await def.prune(running[index]!.orm.em.fork(), services!);
        }
        return counts;
      };
      // The run in flight, which the stop awaits before it closes the connections the run uses: a stop
      // right after start otherwise closed them under the first run, whose pool then never ended.
      let pruning: Promise<unknown> = Promise.resolve();
      const pruneLog = () => {
        pruning = prune()
          .then((n) => {
            const removed = n.events + n.idempotencyRecords + Object.values(n.subgraphs).reduce((sum, c) => sum + Object.values(c).reduce((a, b) => a + b, 0), 0);
            if (removed) log.info(n, "pruned what is past its window: events, idempotency records, and each subgraph's own (records past retention)");
          })
          .catch((err) => log.warn({ err }, "pruning failed"));
      };
      pruneLog();
      const timer = setInterval(pruneLog, PRUNE_EVERY_MS);
      timer.unref();
      stops.push(async () => {
        clearInterval(timer);
        await pruning;
      });
    }

    let gateway: RunningGateway | undefined;
    if (options.gateway) {
      const endpoints = [...running.map((s) => ({ name: s.name, url: s.url })), ...remoteSubgraphs(config)];
      const supergraphSdl = await supergraphFromSchemaDir(endpoints);
      gateway = await startGateway({
        config,
        log,
        verifier,
        supergraphSdl,
        subgraphs: endpoints,
        host: config.server.HOST,
        port: config.server.PORT,
      });
      stops.push(() => gateway!.close());
    }
    return { gateway, subgraphs: running, services, prune: () => prune(), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
