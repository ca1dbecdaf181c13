import "reflect-metadata";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import pg from "pg";
import { devKeyFiles, ensureDevKeys, mintDevToken } from "../src/auth/dev-keys.js";
import { DEV_AUDIENCE, DEV_ISSUER } from "../src/config.js";
import { createLogger } from "../src/logger.js";
import { parseKeyRing } from "../src/crypto/keyed-hash.js";
import { ACCESS_BATCH, countStored, generateEvents, HISTORY_PAGE, historyRawSql, historyThroughGateway, lookupsOf, makePartitions, seedAccounts, seededAddresses, seedStored, seenRawSql, seenThroughGateway, writeCopy, writeThroughGateway, type LatencyMeasure as AccessLatency, type WriteMeasure } from "./access.js";
import { countRegistered, matchCalls, matchRawSql, matchThroughGateway, registerRawSql, registerThroughGateway, seedIdentifierHashes, type LatencyMeasure, type RegisterMeasure } from "./accounts.js";
import { cpuMeter, databaseBackends, postgresPids, type CpuGroups } from "./cpu.js";
import { benchDatabase, type BenchDatabase } from "./database.js";
import { FEED_QUERY_DIRECT, FEED_QUERY_GATEWAY, liveSubscriberPids, prepareFeed, runFeedSide, type FeedSide } from "./feed.js";
import { startChild, type Child } from "./processes.js";
import { summariseProfile } from "./profile-summary.js";
import { countWritten, publishRawSql, publishThroughGateway, valueBase, type PublishMeasure } from "./publish.js";
import { READ_QUERY, runReadLoad, type ReadMeasure } from "./read.js";
import { BENCH_PROVIDER, chainRawSql, chainThroughGateway, exposureRawSql, exposureThroughGateway, seedForest, type ChainMeasure, type ExposureMeasure } from "./resellers.js";
import { expectedVisible, gql, seedReadData } from "./seed.js";
import { expectedRows, generatedIndicators, loadReports, type StixObject } from "./stix-bundle.js";
import { countImported, importBundlesThroughGateway, importRawSql, importThroughTaxii, ownGreenCollection, type ImportMeasure } from "./stix-import.js";
import { pageGraphql, pageRawSql, pageTaxii, seedStixObjects, type PageMeasure } from "./taxii.js";
import { MAX_ACCOUNTS_SEEN } from "../subgraphs/verification/access.service.js";

/**
 * `npm run bench`: every figure beside its baseline, measured in the same run, with ratios.
 *   --quick          one run, shorter loads, 20,000 rows (about 2 minutes on an idle 2-core machine)
 *   --runs N         runs per figure; the table shows medians (default 3)
 *   --rows N         indicators published per side and run (default 100,000)
 *   --seconds N      load duration per read target (default 10)
 *   --connections N  autocannon connections, one org each (default 50)
 *   --only read|publish|feed|accounts|stix|taxii|resellers|access
 *   --hashes N       accounts: identifier hashes stored before matching (default 1,000,000)
 *   --match-calls N  accounts: matchIdentifiers calls of 1,000 identifiers per side and run (default 200)
 *   --accounts N     accounts: accounts registered per side and run, in batches of 5,000 (default 100,000)
 *   --forest N       resellers: accounts in the seeded reseller forest, a tenth of them resellers (default 1,000,000; --quick 50,000)
 *   --chain-calls N  resellers: resellerChain calls per side and run (default 1,000; --quick 200)
 *   --access-events N   access: events recorded per side and run, in batches of 10,000 (default 1,000,000; --quick 20,000)
 *   --access-stored N   access: events stored before the history and address lookups (default 10,000,000; --quick 200,000)
 *   --access-calls N    access: accessHistory and accountsSeenFromIp calls per side and run (default 500; --quick 100)
 *   --subscribers N  feed: graphql-ws subscribers, spread over --agencies N (default 500 over 10)
 *   --incidents N    feed: incidents reported per rate (default 1,000; --quick 200)
 *   --rates A,B      feed: reports per second, one phase each (default 10,50)
 *   --token-per subscriber|org  feed: a token of its own for each subscriber (default), or one per agency
 *   --stix-indicators N  stix: generated indicators imported in one TAXII POST per side and run (default 50,000)
 *   --report-copies N    stix: times the two threat reports are imported per side and run, each under an org of its own (default 10)
 *   --stored N       taxii: STIX objects stored before paging (default 100,000)
 *   --profile        CPU-profile the Hive gateway and the indicators subgraph; print where time goes
 * Database: DATABASE_URL if set, else an embedded PostgreSQL; either way a fresh database, dropped at
 * the end. Servers run in child processes on 127.0.0.1 (bench/serve.ts).
 */

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    runs: { type: "string" },
    rows: { type: "string" },
    seconds: { type: "string" },
    forest: { type: "string" },
    "chain-calls": { type: "string" },
    "access-events": { type: "string" },
    "access-stored": { type: "string" },
    "access-calls": { type: "string" },
    warmup: { type: "string" },
    connections: { type: "string" },
    only: { type: "string" },
    hashes: { type: "string" },
    "match-calls": { type: "string" },
    accounts: { type: "string" },
    "stix-indicators": { type: "string" },
    "report-copies": { type: "string" },
    stored: { type: "string" },
    subscribers: { type: "string" },
    agencies: { type: "string" },
    incidents: { type: "string" },
    rates: { type: "string" },
    "token-per": { type: "string" },
    stall: { type: "string" },
    "drain-cap": { type: "string" },
    profile: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});
if (args.help) {
  process.stdout.write("usage: npm run bench -- [--quick] [--runs N] [--rows N] [--seconds N] [--warmup N] [--connections N] [--only read|publish|feed|accounts|stix|taxii|resellers|access] [--hashes N] [--match-calls N] [--accounts N] [--stix-indicators N] [--report-copies N] [--stored N] [--forest N] [--chain-calls N] [--access-events N] [--access-stored N] [--access-calls N] [--subscribers N] [--agencies N] [--incidents N] [--rates 10,50] [--token-per subscriber|org] [--stall S] [--drain-cap S] [--profile]\n");
  process.exit(0);
}
const quick = args.quick!;
const RUNS = Number(args.runs ?? (quick ? 1 : 3));
const ROWS = Number(args.rows ?? (quick ? 20_000 : 100_000));
const SECONDS = Number(args.seconds ?? (quick ? 5 : 10));
const WARMUP = Number(args.warmup ?? (quick ? 2 : 3));
const CONNECTIONS = Number(args.connections ?? 50);
const BATCH = 1000;
if (args.only !== undefined && !["read", "publish", "feed", "accounts", "stix", "taxii", "resellers", "access"].includes(args.only)) {
  process.stderr.write("only: read, publish, feed, accounts, stix, taxii, resellers or access\n");
  process.exit(2);
}
const doRead = !args.only || args.only === "read";
const doPublish = !args.only || args.only === "publish";
const doFeed = !args.only || args.only === "feed";
const doAccounts = !args.only || args.only === "accounts";
const doStix = !args.only || args.only === "stix";
const doTaxii = !args.only || args.only === "taxii";
const doResellers = !args.only || args.only === "resellers";
const doAccess = !args.only || args.only === "access";
const FOREST = Number(args.forest ?? (quick ? 50_000 : 1_000_000));
const CHAIN_CALLS = Number(args["chain-calls"] ?? (quick ? 200 : 1000));
const ACCESS_EVENTS = Number(args["access-events"] ?? (quick ? 20_000 : 1_000_000));
const ACCESS_STORED = Number(args["access-stored"] ?? (quick ? 200_000 : 10_000_000));
const ACCESS_CALLS = Number(args["access-calls"] ?? (quick ? 100 : 500));
const STIX_INDICATORS = Number(args["stix-indicators"] ?? (quick ? 5_000 : 50_000));
const REPORT_COPIES = Number(args["report-copies"] ?? (quick ? 2 : 10));
const STORED = Number(args.stored ?? (quick ? 10_000 : 100_000));
const PAGE = 1000;
/**
 * How often the bench asks an import's status while the hub works: each answer lists every object
 * stored so far, so polling every 100 ms made a 50,000-object import about 20% slower (29 s, 74 polls,
 * against 24 s at 2 s); at 500 ms the figure is the import's, give or take a quarter second.
 */
const POLL_MS = 500;
const HASHES = Number(args.hashes ?? (quick ? 100_000 : 1_000_000));
const MATCH_CALLS = Number(args["match-calls"] ?? (quick ? 50 : 200));
const MATCH_SIZE = 1000;
const ACCOUNTS = Number(args.accounts ?? (quick ? 20_000 : 100_000));
const ACCOUNT_BATCH = 5000;
const SUBSCRIBERS = Number(args.subscribers ?? 500);
const AGENCIES = Number(args.agencies ?? 10);
const INCIDENTS = Number(args.incidents ?? (quick ? 200 : 1000));
const RATES = (args.rates ?? "10,50").split(",").map(Number);
const TOKEN_PER = (args["token-per"] ?? "subscriber") as "subscriber" | "org";
const STALL = Number(args.stall ?? 20);
const DRAIN_CAP = Number(args["drain-cap"] ?? 1800);
if (TOKEN_PER !== "subscriber" && TOKEN_PER !== "org") {
  process.stderr.write("token-per: subscriber or org\n");
  process.exit(2);
}
for (const [k, v] of Object.entries({ RUNS, ROWS, HASHES, MATCH_CALLS, ACCOUNTS, STIX_INDICATORS, REPORT_COPIES, STORED, FOREST, CHAIN_CALLS, ACCESS_EVENTS, ACCESS_STORED, ACCESS_CALLS, SECONDS, WARMUP, CONNECTIONS, SUBSCRIBERS, AGENCIES, INCIDENTS, STALL, DRAIN_CAP, ...Object.fromEntries(RATES.map((r, i) => [`rate ${i + 1}`, r])) })) {
  if (!Number.isInteger(v) || v < 1) {
    process.stderr.write(`${k.toLowerCase()}: a positive integer, please\n`);
    process.exit(2);
  }
}

const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "bench", "results");
const log = createLogger("warn", "bench");
const say = (msg: string) => process.stderr.write(`bench: ${msg}\n`);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

interface Row {
  figure: string;
  unit: string;
  value: number;
  baselineName: string;
  baseline: number;
  ratio: number;
  perRunRatios: number[];
  target?: { op: ">=" | "<="; value: number };
  pass?: boolean;
}

const children: Child[] = [];
let db: BenchDatabase | undefined;
let dataDir: string | undefined;
let cleaning: Promise<void> | undefined;

function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const c of [...children].reverse()) await c.stop().catch((err) => say(`stopping ${c.label}: ${err}`));
    if (db) await db.drop().catch((err) => say(`dropping the bench database: ${err}`));
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  })();
  return cleaning;
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    say(`${signal}: stopping`);
    void cleanup().finally(() => process.exit(130));
  });
}

async function main(): Promise<number> {
  const started = Date.now();
  say(
    `${RUNS} run(s); ${doPublish ? `${ROWS} rows per publish side; ` : ""}${doRead ? `${CONNECTIONS} connections x ${SECONDS} s per read target; ` : ""}` +
      `${doFeed ? `feed: ${SUBSCRIBERS} subscribers over ${AGENCIES} agencies (one token per ${TOKEN_PER}), ${INCIDENTS} incidents at ${RATES.join(", ")}/s; ` : ""}` +
      `${doAccounts ? `accounts: ${MATCH_CALLS} match calls of ${MATCH_SIZE} against ${HASHES} hashes, ${ACCOUNTS} accounts registered per side; ` : ""}` +
      `${doStix ? `stix: the threat reports ${REPORT_COPIES} times and ${STIX_INDICATORS} generated indicators imported per side; ` : ""}` +
      `${doTaxii ? `taxii: ${STORED} stored objects paged by ${PAGE}; ` : ""}` +
      `${doResellers ? `resellers: a forest of ${FOREST} accounts, ${CHAIN_CALLS} chain calls per side; ` : ""}` +
      `${doAccess ? `access: ${ACCESS_EVENTS} events recorded per side, ${ACCESS_CALLS} reads per side on ${ACCESS_STORED} stored` : ""}`,
  );
  dataDir = await mkdtemp(join(tmpdir(), "watchfloor-bench-data-"));
  // Made once, here: every process of the bench verifies with the same dev key.
  await ensureDevKeys(dataDir);
  db = await benchDatabase(log);
  say(`database ${db.name} on ${db.server}`);

  const profileDir = join(RESULTS_DIR, "profiles");
  if (args.profile) {
    await rm(profileDir, { recursive: true, force: true });
    await mkdir(profileDir, { recursive: true });
  }
  const profiled = (name: string) => (args.profile ? [`--cpu-prof`, `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}.cpuprofile`] : []);
  const env = {
    DATABASE_URL: db.url,
    DATA_DIR: dataDir,
    HOST: "127.0.0.1",
    PORT: "0",
    SUBGRAPH_PORT_BASE: "0",
    LOG_LEVEL: "warn",
    // As deployed: production mode (no GraphiQL, no introspection), tokens checked against a JWKS
    // file, which here is the dev issuer's public key made above.
    NODE_ENV: "production",
    AUTH_JWKS_FILE: devKeyFiles(dataDir).jwksFile,
    AUTH_ISSUER: DEV_ISSUER,
    AUTH_AUDIENCE: DEV_AUDIENCE,
    IDENTIFIER_HASH_KEYS: `bench-1:${randomBytes(32).toString("base64")}`,
    RECORD_MASTER_KEYS: `bench-master-1:${randomBytes(32).toString("base64")}`,
    RECORD_INDEX_KEYS: `bench-index-1:${randomBytes(32).toString("base64")}`,
    // The match figure makes hundreds of 1,000-identifier calls from one org.
    MATCH_DAILY_BUDGET: "10000000",
    APOLLO_TELEMETRY_DISABLED: "true",
    SUBGRAPH_URLS: "",
  };
  // One process per subgraph (each migrates its own schema under the migration lock), then gateways.
  // The feed reads the gateway's and the incidents subgraph's memory after a full GC.
  const gcFlag = doFeed ? ["--expose-gc"] : [];
  const [indicators, directory, incidents, accounts, resellers, verification] = await Promise.all([
    startChild("indicators", ["subgraph", "indicators"], env, profiled("indicators")),
    startChild("directory", ["subgraph", "directory"], env),
    doFeed ? startChild("incidents", ["subgraph", "incidents"], env, [...gcFlag, ...profiled("incidents")]) : Promise.resolve(undefined),
    doAccounts ? startChild("accounts", ["subgraph", "accounts"], env, profiled("accounts")) : Promise.resolve(undefined),
    doResellers ? startChild("resellers", ["subgraph", "resellers"], env, profiled("resellers")) : Promise.resolve(undefined),
    doAccess ? startChild("verification", ["subgraph", "verification"], env, profiled("verification")) : Promise.resolve(undefined),
  ]);
  children.push(indicators, directory);
  if (incidents) children.push(incidents);
  if (accounts) children.push(accounts);
  if (resellers) children.push(resellers);
  if (verification) children.push(verification);
  const subgraphUrls =
    `indicators=${indicators.url},directory=${directory.url}${incidents ? `,incidents=${incidents.url}` : ""}` +
    `${accounts ? `,accounts=${accounts.url}` : ""}${resellers ? `,resellers=${resellers.url}` : ""}${verification ? `,verification=${verification.url}` : ""}`;
  const [hive, apollo] = await Promise.all([
    startChild("hive-gateway", ["gateway"], { ...env, SUBGRAPH_URLS: subgraphUrls }, [...gcFlag, ...profiled("hive-gateway")]),
    doRead ? startChild("apollo-gateway", ["apollo"], { ...env, SUBGRAPH_URLS: subgraphUrls }) : Promise.resolve(undefined),
  ]);
  children.push(hive);
  if (apollo) children.push(apollo);
  say(`servers: ${children.map((c) => `${c.label} ${c.url} (pid ${c.pid})`).join("; ")}`);

  // PostgreSQL: the embedded cluster's processes, or with DATABASE_URL the backends of the bench's database.
  const backends = db.pgDataDir ? undefined : databaseBackends(db.url);
  if (backends) await backends.refresh();
  const groups: CpuGroups = {
    "load generator": () => [process.pid],
    ...(doFeed ? { subscribers: () => [...liveSubscriberPids] } : {}),
    "hive gateway": () => [hive.pid],
    ...(apollo ? { "apollo gateway": () => [apollo.pid] } : {}),
    ...(incidents ? { "incidents subgraph": () => [incidents.pid] } : {}),
    "indicators subgraph": () => [indicators.pid],
    ...(accounts ? { "accounts subgraph": () => [accounts.pid] } : {}),
    ...(resellers ? { "resellers subgraph": () => [resellers.pid] } : {}),
    ...(verification ? { "verification subgraph": () => [verification.pid] } : {}),
    postgres: db.pgDataDir ? () => postgresPids(db!.pgDataDir!) : () => backends!.pids(),
  };
  const meter = cpuMeter(groups);
  /** CPU ms per unit in each group, and the whole machine's share used by the bench (200% = 2 cores). */
  const cpuSpent: { what: string; per: string; ms: Record<string, number>; busyPercent: number }[] = [];
  const perUnit = (used: Record<string, number>, units: number, seconds: number) => ({
    ms: Object.fromEntries(Object.entries(used).map(([g, s]) => [g, (s * 1000) / units])),
    busyPercent: (100 * Object.values(used).reduce((a, b) => a + b, 0)) / seconds,
  });

  const ttlSeconds = 6 * 3600;
  const token = (org: string, scopes: string[]) => mintDevToken(dataDir!, { org, kind: "PROVIDER", scopes, ttlSeconds });
  const rows: Row[] = [];
  const checks: { what: string; ok: boolean; detail: string }[] = [];
  const raw: Record<string, unknown> = {};

  if (doRead) {
    const readers = Array.from({ length: CONNECTIONS }, (_, i) => `bench-reader-${String(i).padStart(3, "0")}`);
    const readerTokens = await Promise.all(readers.map((org) => token(org, ["indicators:read"])));
    // First sight of a token provisions its org: the seed can then share with every reader.
    for (const t of readerTokens) await gql(indicators.url, t, "{ indicators(first: 1) { totalCount } }");
    const seeded = await seedReadData(hive.url, await token("bench-seed", ["indicators:read", "indicators:write"]), readers);
    // Every target must answer each reader with its own view before anything is measured.
    const targets = { hive: hive.url, direct: indicators.url, apollo: apollo!.url };
    for (const [name, url] of Object.entries(targets)) {
      for (const [i, t] of readerTokens.entries()) {
        const data = await gql(url, t, READ_QUERY);
        if (data.indicators.totalCount !== expectedVisible(i) || data.indicators.edges.length !== 20) {
          throw new Error(`${name}: reader ${i} sees ${data.indicators.totalCount} (expected ${expectedVisible(i)})`);
        }
      }
    }
    say(`seeded ${seeded} indicators; each of ${CONNECTIONS} readers sees its own view on every target`);

    const runs: Record<string, ReadMeasure>[] = [];
    for (let r = 0; r < RUNS; r++) {
      const order = Object.keys(targets) as (keyof typeof targets)[];
      for (let k = 0; k < r % order.length; k++) order.push(order.shift()!);
      const run: Record<string, ReadMeasure> = {};
      for (const name of order) {
        await runReadLoad(targets[name], readerTokens, { connections: CONNECTIONS, seconds: WARMUP, sampleEvery: 1000 });
        // A timed load ends with a request in flight on every connection, which the servers still
        // answer: the measured window then opened behind that backlog, and on a busy machine some
        // connections got no answer in all of it (@apollo/gateway, the slowest to recover, showed 28
        // distinct answers of 50; no answer was another org's). One request per connection, each
        // awaited, starts every measured run on servers with nothing queued.
        await runReadLoad(targets[name], readerTokens, { connections: CONNECTIONS, seconds: WARMUP, amount: CONNECTIONS, sampleEvery: 1000 });
        const stop = meter.start();
        run[name] = await runReadLoad(targets[name], readerTokens, { connections: CONNECTIONS, seconds: SECONDS, sampleEvery: 10 });
        const m = run[name]!;
        cpuSpent.push({ what: `read ${name}`, per: "request", ...perUnit(stop(), m.requests, m.seconds) });
        say(`read run ${r + 1}/${RUNS} ${name}: ${m.rps.toFixed(0)} req/s, p50 ${m.p50} ms, p99 ${m.p99} ms, non-2xx ${m.non2xx}, errors ${m.errors}, GraphQL errors ${m.graphqlErrors} of ${m.checked}, ${m.distinctViews} distinct views`);
      }
      runs.push(run);
    }
    raw.read = runs;
    const pick = (name: string, f: (m: ReadMeasure) => number) => runs.map((run) => f(run[name]!));
    const addRow = (figure: string, unit: string, a: string, b: string, f: (m: ReadMeasure) => number, target?: Row["target"]) => {
      const perRunRatios = runs.map((run) => f(run[a]!) / f(run[b]!));
      const ratio = median(perRunRatios);
      rows.push({
        figure,
        unit,
        value: median(pick(a, f)),
        baselineName: b === "apollo" ? "@apollo/gateway" : b === "direct" ? "subgraph direct" : b,
        baseline: median(pick(b, f)),
        ratio,
        perRunRatios,
        target,
        pass: target ? (target.op === ">=" ? ratio >= target.value : ratio <= target.value) : undefined,
      });
    };
    addRow("read req/s: Hive gateway", "req/s", "hive", "apollo", (m) => m.rps, { op: ">=", value: 1.5 });
    addRow("read p99: Hive gateway", "ms", "hive", "direct", (m) => m.p99, { op: "<=", value: 3 });
    addRow("read req/s: Hive gateway", "req/s", "hive", "direct", (m) => m.rps);
    addRow("read p99: Hive gateway", "ms", "hive", "apollo", (m) => m.p99);
    addRow("read req/s: @apollo/gateway", "req/s", "apollo", "direct", (m) => m.rps);
    for (const name of Object.keys(targets)) {
      const all = runs.map((run) => run[name]!);
      const sum = (f: (m: ReadMeasure) => number) => all.reduce((s, m) => s + f(m), 0);
      const bad = sum((m) => m.non2xx) + sum((m) => m.errors) + sum((m) => m.timeouts) + sum((m) => m.graphqlErrors);
      const views = Math.min(...all.map((m) => m.distinctViews));
      checks.push({
        what: `read ${name}: non-2xx / errors / timeouts / GraphQL errors`,
        ok: bad === 0,
        detail: `${sum((m) => m.non2xx)} / ${sum((m) => m.errors)} / ${sum((m) => m.timeouts)} / ${sum((m) => m.graphqlErrors)} in ${sum((m) => m.checked)} answers (${sum((m) => m.sampled)} parsed in full)`,
      });
      checks.push({
        what: `read ${name}: distinct answers seen (one org per connection)`,
        ok: views === CONNECTIONS,
        detail: `${views} of ${CONNECTIONS} in every run`,
      });
    }
  }

  if (doPublish) {
    const runs: { gateway: PublishMeasure; raw: PublishMeasure }[] = [];
    // One connection for the raw side, open across the runs: its backend's CPU is then counted too.
    const rawClient = new pg.Client({ connectionString: db.url });
    await rawClient.connect();
    try {
      for (let r = 0; r < RUNS; r++) {
        const gwOrg = `bench-pub-gateway-r${r + 1}`;
        const rawOrg = `bench-pub-rawsql-r${r + 1}`;
        const gwToken = await token(gwOrg, ["indicators:write"]);
        // Provision the org outside the timed loop (the raw side has no directory to join).
        await gql(hive.url, await token(gwOrg, ["indicators:read"]), "{ indicators(first: 1) { totalCount } }");
        const sides = r % 2 === 0 ? (["gateway", "raw"] as const) : (["raw", "gateway"] as const);
        const run = {} as { gateway: PublishMeasure; raw: PublishMeasure };
        for (const side of sides) {
          const stop = meter.start();
          run[side] =
            side === "gateway"
              ? await publishThroughGateway(hive.url, gwToken, valueBase(2 * r), ROWS, BATCH)
              : await publishRawSql(rawClient, rawOrg, valueBase(2 * r + 1), ROWS, BATCH);
          const m = run[side];
          cpuSpent.push({ what: `publish ${side}`, per: "1,000 rows", ...perUnit(stop(), m.rows / 1000, m.seconds) });
          say(`publish run ${r + 1}/${RUNS} ${side}: ${m.rows} rows in ${m.seconds.toFixed(2)} s = ${m.rowsPerSecond.toFixed(0)} rows/s (batch p50 ${m.batchMsP50.toFixed(0)} ms, max ${m.batchMsMax.toFixed(0)} ms)`);
        }
        for (const [side, org] of [["gateway", gwOrg], ["raw", rawOrg]] as const) {
          const written = await countWritten(db.url, org);
          checks.push({
            what: `publish run ${r + 1} ${side}: rows, STIX versions, observables and events written`,
            ok: [written.indicators, written.versions, written.observables, written.events].every((n) => n === run[side].rows),
            detail: `${written.indicators} indicators, ${written.versions} versions, ${written.observables} observables, ${written.events} events, expected ${run[side].rows} each`,
          });
        }
        runs.push(run);
      }
    } finally {
      await rawClient.end();
    }
    raw.publish = runs;
    const perRunRatios = runs.map((r) => r.gateway.rowsPerSecond / r.raw.rowsPerSecond);
    const ratio = median(perRunRatios);
    rows.push({
      figure: `publish ${ROWS.toLocaleString("en")} in batches of ${BATCH}: Hive gateway`,
      unit: "rows/s",
      value: median(runs.map((r) => r.gateway.rowsPerSecond)),
      baselineName: "raw pg upsert + STIX versions + observables + events",
      baseline: median(runs.map((r) => r.raw.rowsPerSecond)),
      ratio,
      perRunRatios,
      target: { op: ">=", value: 0.4 },
      pass: ratio >= 0.4,
    });
  }

  if (doAccounts) {
    const ring = parseKeyRing(env.IDENTIFIER_HASH_KEYS);
    const client = new pg.Client({ connectionString: db.url });
    // Dropping the bench database at the end ends this connection too, should a failure leave it open.
    client.on("error", (err) => say(`accounts connection: ${err.message}`));
    await client.connect();
    try {
      const seedStarted = Date.now();
      const stored = await seedIdentifierHashes(client, ring, HASHES, say);
      say(`accounts: ${stored.toLocaleString("en")} identifier hashes seeded in ${((Date.now() - seedStarted) / 1000).toFixed(0)} s`);
      const matcher = "bench-acct-matcher";
      const matchToken = await token(matcher, ["accounts:read"]);
      const seededAccounts = Math.ceil(HASHES / 3);
      // Warm both sides (plans, connections, caches) on calls of their own.
      const warm = matchCalls(0x5eed, 10, MATCH_SIZE, seededAccounts);
      await matchThroughGateway(hive.url, matchToken, warm);
      await matchRawSql(client, ring, matcher, warm);
      const matchRuns: { gateway: LatencyMeasure; raw: LatencyMeasure }[] = [];
      for (let r = 0; r < RUNS; r++) {
        const calls = matchCalls(r + 1, MATCH_CALLS, MATCH_SIZE, seededAccounts);
        const run = {} as { gateway: LatencyMeasure; raw: LatencyMeasure };
        for (const side of r % 2 === 0 ? (["gateway", "raw"] as const) : (["raw", "gateway"] as const)) {
          const stop = meter.start();
          const started = performance.now();
          run[side] = side === "gateway" ? await matchThroughGateway(hive.url, matchToken, calls) : await matchRawSql(client, ring, matcher, calls);
          cpuSpent.push({ what: `match ${side}`, per: "call", ...perUnit(stop(), calls.length, (performance.now() - started) / 1000) });
          say(`match run ${r + 1}/${RUNS} ${side}: ${calls.length} calls of ${MATCH_SIZE}, p50 ${run[side].p50.toFixed(1)} ms, p99 ${run[side].p99.toFixed(1)} ms`);
        }
        const differ = run.gateway.answers.findIndex((a, c) => a.some((n, i) => n !== run.raw.answers[c]![i]));
        const hits = run.raw.answers.flat().filter((n) => n > 0).length;
        checks.push({
          what: `match run ${r + 1}: the gateway's counts equal raw SQL's, item by item`,
          ok: differ === -1 && hits > 0,
          detail: differ === -1 ? `${hits} of ${calls.length * MATCH_SIZE} items matched a visible flag on both sides` : `call ${differ} differs`,
        });
        matchRuns.push(run);
      }
      raw.match = matchRuns.map((m) => ({ gateway: { ...m.gateway, answers: undefined }, raw: { ...m.raw, answers: undefined } }));
      for (const [pct, f] of [["p50", (m: LatencyMeasure) => m.p50], ["p99", (m: LatencyMeasure) => m.p99]] as const) {
        const perRunRatios = matchRuns.map((m) => f(m.gateway) / f(m.raw));
        const ratio = median(perRunRatios);
        rows.push({
          figure: `matchIdentifiers ${pct}, ${MATCH_SIZE} identifiers vs ${stored.toLocaleString("en")} hashes: Hive gateway`,
          unit: "ms",
          value: median(matchRuns.map((m) => f(m.gateway))),
          baselineName: "raw pg: hash + the same lookup",
          baseline: median(matchRuns.map((m) => f(m.raw))),
          ratio,
          perRunRatios,
          target: { op: "<=", value: 2 },
          pass: ratio <= 2,
        });
      }

      const registerRuns: { gateway: RegisterMeasure; raw: RegisterMeasure }[] = [];
      for (let r = 0; r < RUNS; r++) {
        const gwOrg = `bench-reg-gateway-r${r + 1}`;
        const rawOrg = `bench-reg-rawsql-r${r + 1}`;
        const gwToken = await token(gwOrg, ["accounts:write"]);
        const run = {} as { gateway: RegisterMeasure; raw: RegisterMeasure };
        for (const side of r % 2 === 0 ? (["gateway", "raw"] as const) : (["raw", "gateway"] as const)) {
          const stop = meter.start();
          run[side] =
            side === "gateway"
              ? await registerThroughGateway(hive.url, gwToken, gwOrg, ACCOUNTS, ACCOUNT_BATCH)
              : await registerRawSql(client, ring, rawOrg, rawOrg, ACCOUNTS, ACCOUNT_BATCH);
          const m = run[side];
          cpuSpent.push({ what: `register ${side}`, per: "1,000 accounts", ...perUnit(stop(), m.rows / 1000, m.seconds) });
          say(`register run ${r + 1}/${RUNS} ${side}: ${m.rows} accounts in ${m.seconds.toFixed(2)} s = ${m.rowsPerSecond.toFixed(0)} accounts/s (batch p50 ${m.batchMsP50.toFixed(0)} ms, max ${m.batchMsMax.toFixed(0)} ms)`);
        }
        for (const [side, org] of [["gateway", gwOrg], ["raw", rawOrg]] as const) {
          const written = await countRegistered(client, org);
          const n = run[side].rows;
          checks.push({
            what: `register run ${r + 1} ${side}: accounts, identifier hashes and events written`,
            ok: written.accounts === n && written.identifiers === 3 * n && written.events === n,
            detail: `${written.accounts} accounts, ${written.identifiers} hashes, ${written.events} events; expected ${n}, ${3 * n}, ${n}`,
          });
        }
        registerRuns.push(run);
      }
      raw.register = registerRuns;
      const perRunRatios = registerRuns.map((r) => r.gateway.rowsPerSecond / r.raw.rowsPerSecond);
      const ratio = median(perRunRatios);
      rows.push({
        figure: `registerAccounts ${ACCOUNTS.toLocaleString("en")} (3 identifiers each) in batches of ${ACCOUNT_BATCH.toLocaleString("en")}: Hive gateway`,
        unit: "rows/s",
        value: median(registerRuns.map((r) => r.gateway.rowsPerSecond)),
        baselineName: "raw pg upsert + hashes + events",
        baseline: median(registerRuns.map((r) => r.raw.rowsPerSecond)),
        ratio,
        perRunRatios,
        target: { op: ">=", value: 0.4 },
        pass: ratio >= 0.4,
      });
    } finally {
      await client.end();
    }
  }

  /** A row of `value` beside `baseline`, each the median over the runs, and the median of per-run ratios. */
  const ratioRow = <M>(figure: string, unit: string, baselineName: string, runs: { side: M; base: M }[], f: (m: M) => number, target?: Row["target"]) => {
    const perRunRatios = runs.map((r) => f(r.side) / f(r.base));
    const ratio = median(perRunRatios);
    rows.push({
      figure,
      unit,
      value: median(runs.map((r) => f(r.side))),
      baselineName,
      baseline: median(runs.map((r) => f(r.base))),
      ratio,
      perRunRatios,
      target,
      pass: target ? (target.op === ">=" ? ratio >= target.value : ratio <= target.value) : undefined,
    });
  };

  if (doStix) {
    const client = new pg.Client({ connectionString: db.url });
    client.on("error", (err) => say(`stix connection: ${err.message}`));
    await client.connect();
    try {
      const reports = (await loadReports()).map((r) => r.bundle);
      const reportObjects = reports.map((b) => b.objects as StixObject[]);
      const perCopy = expectedRows(reportObjects.flat());
      const writer = async (org: string) => {
        const t = await token(org, ["indicators:read", "indicators:write"]);
        // Provision the org outside the timed part (the raw side has no directory to join).
        await gql(hive.url, t, "{ indicators(first: 1) { totalCount } }");
        return t;
      };
      /** Each org must hold exactly what its objects make; one line for all of them. */
      const check = async (what: string, orgs: string[], expected: { objects: number; indicators: number; observables: number }) => {
        const wanted = { ...expected, events: expected.indicators };
        const show = (c: typeof wanted) => `${c.objects} objects, ${c.indicators} indicators, ${c.observables} observables, ${c.events} events`;
        let wrong: string | undefined;
        for (const org of orgs) {
          const held = await countImported(client, org);
          if (show(held) !== show(wanted)) wrong ??= `${org} holds ${show(held)}`;
        }
        checks.push({
          what: `${what}: objects, indicators, observables and events stored`,
          ok: wrong === undefined,
          detail: `${wrong ? `${wrong}; ` : ""}expected ${show(wanted)}${orgs.length > 1 ? ` in each of ${orgs.length} orgs` : ""}`,
        });
      };
      const sum = (ms: ImportMeasure[]): ImportMeasure => {
        const objects = ms.reduce((a, m) => a + m.objects, 0);
        const seconds = ms.reduce((a, m) => a + m.seconds, 0);
        return { objects, seconds, objectsPerSecond: objects / seconds, polls: ms.reduce((a, m) => a + m.polls, 0) };
      };
      // Warm both sides (the schema validators compile on first use of each type, plans, JIT) under orgs of their own.
      {
        const warmToken = await writer("bench-stix-warm-gateway");
        await importBundlesThroughGateway(hive.url, warmToken, reports, "GREEN", POLL_MS);
        await importThroughTaxii(hive.url, warmToken, await ownGreenCollection(hive.url, warmToken, "bench-stix-warm-gateway"), generatedIndicators(900, 1500), POLL_MS);
        await importRawSql(client, "bench-stix-warm-rawsql", [...reportObjects, generatedIndicators(901, 1500)], "GREEN");
      }
      const reportRuns: { side: ImportMeasure; base: ImportMeasure }[] = [];
      const feedRuns: { side: ImportMeasure; base: ImportMeasure }[] = [];
      for (let r = 0; r < RUNS; r++) {
        const orgs = (side: string) => Array.from({ length: REPORT_COPIES }, (_, k) => `bench-stix-rep-${side}-r${r + 1}-${k + 1}`);
        const gwTokens = await Promise.all(orgs("gateway").map(writer));
        const feedOrg = { gateway: `bench-stix-feed-gateway-r${r + 1}`, raw: `bench-stix-feed-rawsql-r${r + 1}` };
        const feedToken = await writer(feedOrg.gateway);
        const collection = await ownGreenCollection(hive.url, feedToken, feedOrg.gateway);
        const feed = { gateway: generatedIndicators(2 * r, STIX_INDICATORS), raw: generatedIndicators(2 * r + 1, STIX_INDICATORS) };
        const rep = {} as Record<"gateway" | "raw", ImportMeasure>;
        const big = {} as Record<"gateway" | "raw", ImportMeasure>;
        for (const side of r % 2 === 0 ? (["gateway", "raw"] as const) : (["raw", "gateway"] as const)) {
          let stop = meter.start();
          const copies: ImportMeasure[] = [];
          for (const [k, org] of orgs(side).entries()) {
            copies.push(side === "gateway" ? await importBundlesThroughGateway(hive.url, gwTokens[k]!, reports, "GREEN", POLL_MS) : await importRawSql(client, org, reportObjects, "GREEN"));
          }
          rep[side] = sum(copies);
          cpuSpent.push({ what: `stix reports ${side}`, per: "1,000 objects", ...perUnit(stop(), rep[side].objects / 1000, rep[side].seconds) });
          say(`stix run ${r + 1}/${RUNS} reports ${side}: ${rep[side].objects} objects (${REPORT_COPIES} x ${perCopy.objects}) in ${rep[side].seconds.toFixed(2)} s = ${rep[side].objectsPerSecond.toFixed(0)} objects/s`);
          stop = meter.start();
          big[side] = side === "gateway" ? await importThroughTaxii(hive.url, feedToken, collection, feed.gateway, POLL_MS) : await importRawSql(client, feedOrg.raw, [feed.raw], "GREEN");
          cpuSpent.push({ what: `stix feed ${side}`, per: "1,000 objects", ...perUnit(stop(), big[side].objects / 1000, big[side].seconds) });
          say(`stix run ${r + 1}/${RUNS} ${STIX_INDICATORS} indicators ${side}: ${big[side].seconds.toFixed(2)} s = ${big[side].objectsPerSecond.toFixed(0)} objects/s${big[side].polls ? ` (${big[side].polls} status polls)` : ""}`);
        }
        for (const side of ["gateway", "raw"] as const) {
          await check(`stix run ${r + 1} reports ${side}`, orgs(side), perCopy);
          await check(`stix run ${r + 1} ${STIX_INDICATORS} indicators ${side}`, [feedOrg[side]], expectedRows(feed[side]));
        }
        reportRuns.push({ side: rep.gateway, base: rep.raw });
        feedRuns.push({ side: big.gateway, base: big.raw });
      }
      raw.stix = { reports: reportRuns, feed: feedRuns };
      const baseline = "raw pg: objects + indicators + observables + events";
      ratioRow(`STIX import, threat reports (${perCopy.objects} objects) x ${REPORT_COPIES}: importStixBundle via Hive gateway`, "objects/s", baseline, reportRuns, (m) => m.objectsPerSecond, { op: ">=", value: 0.3 });
      ratioRow(`STIX import, ${STIX_INDICATORS.toLocaleString("en")} indicators in one TAXII POST via Hive gateway`, "objects/s", baseline, feedRuns, (m) => m.objectsPerSecond, { op: ">=", value: 0.3 });
    } finally {
      await client.end();
    }
  }

  if (doTaxii) {
    const client = new pg.Client({ connectionString: db.url });
    client.on("error", (err) => say(`taxii connection: ${err.message}`));
    await client.connect();
    try {
      const owner = "bench-taxii-owner";
      const ownerToken = await token(owner, ["indicators:read", "indicators:write"]);
      await gql(hive.url, ownerToken, "{ indicators(first: 1) { totalCount } }");
      const seedStarted = Date.now();
      await seedStixObjects(client, owner, STORED);
      say(`taxii: ${STORED.toLocaleString("en")} STIX objects stored in ${((Date.now() - seedStarted) / 1000).toFixed(0)} s`);
      const collection = await ownGreenCollection(hive.url, ownerToken, owner);
      const sides = {
        taxii: () => pageTaxii(hive.url, ownerToken, collection, PAGE),
        graphql: () => pageGraphql(hive.url, ownerToken, owner, PAGE),
        raw: () => pageRawSql(client, owner, PAGE),
      };
      type Side = keyof typeof sides;
      // A first pass on each side warms plans, caches and connections.
      for (const side of Object.keys(sides) as Side[]) await sides[side]();
      const runs: Record<Side, PageMeasure>[] = [];
      for (let r = 0; r < RUNS; r++) {
        const order = Object.keys(sides) as Side[];
        for (let k = 0; k < r % order.length; k++) order.push(order.shift()!);
        const run = {} as Record<Side, PageMeasure>;
        for (const side of order) {
          const stop = meter.start();
          const m = (run[side] = await sides[side]());
          cpuSpent.push({ what: `page ${side}`, per: "page", ...perUnit(stop(), m.pages, m.seconds) });
          say(`taxii run ${r + 1}/${RUNS} ${side}: ${m.pages} pages, ${m.objects} objects in ${m.seconds.toFixed(2)} s = ${m.pagesPerSecond.toFixed(1)} pages/s (page p50 ${m.pageMsP50.toFixed(0)} ms, max ${m.pageMsMax.toFixed(0)} ms)`);
          checks.push({
            what: `page run ${r + 1} ${side}: every stored object seen exactly once`,
            ok: m.objects === STORED && m.distinct === STORED,
            detail: `${m.objects} objects, ${m.distinct} distinct, of ${STORED}`,
          });
        }
        runs.push(run);
      }
      raw.taxii = runs;
      const pick = (side: Side) => runs.map((run) => ({ side: run[side], base: run.raw }));
      const baseline = "raw pg: the same keyset page query";
      ratioRow(`TAXII GET objects, ${STORED.toLocaleString("en")} in pages of ${PAGE} via Hive gateway`, "pages/s", baseline, pick("taxii"), (m) => m.pagesPerSecond);
      ratioRow(`GraphQL stixObjects, ${STORED.toLocaleString("en")} in pages of ${PAGE} via Hive gateway`, "pages/s", baseline, pick("graphql"), (m) => m.pagesPerSecond);
      ratioRow(`TAXII page p50 (${PAGE} objects) via Hive gateway`, "ms", baseline, pick("taxii"), (m) => m.pageMsP50);
    } finally {
      await client.end();
    }
  }

  if (doResellers) {
    const client = new pg.Client({ connectionString: db.url });
    client.on("error", (err) => say(`resellers connection: ${err.message}`));
    await client.connect();
    try {
      const forest = await seedForest(client, FOREST, say);
      say(
        `resellers: ${forest.accounts.toLocaleString("en")} accounts (${forest.resellers.toLocaleString("en")} resellers, ${forest.flagged.toLocaleString("en")} flagged), ` +
          `${forest.links.toLocaleString("en")} links, ${forest.ancestryRows.toLocaleString("en")} closure rows, depth ${forest.deepest}; seeded in ${forest.seconds.toFixed(0)} s`,
      );
      raw.forest = { ...forest, sample: undefined };
      const rsToken = await token(BENCH_PROVIDER, ["resellers:read"]);
      const warm = forest.sample.slice(0, 20);
      await chainThroughGateway(hive.url, rsToken, warm);
      await chainRawSql(client, warm);
      const chainRuns: { gateway: ChainMeasure; raw: ChainMeasure }[] = [];
      for (let r = 0; r < RUNS; r++) {
        const calls = forest.sample.slice(0, CHAIN_CALLS).map((_, i, all) => all[(i * (r + 1)) % all.length]!);
        const run = {} as { gateway: ChainMeasure; raw: ChainMeasure };
        for (const side of r % 2 === 0 ? (["gateway", "raw"] as const) : (["raw", "gateway"] as const)) {
          const stop = meter.start();
          const started = performance.now();
          run[side] = side === "gateway" ? await chainThroughGateway(hive.url, rsToken, calls) : await chainRawSql(client, calls);
          cpuSpent.push({ what: `resellerChain ${side}`, per: "call", ...perUnit(stop(), calls.length, (performance.now() - started) / 1000) });
          say(`chain run ${r + 1}/${RUNS} ${side}: ${calls.length} calls, p50 ${run[side].p50.toFixed(2)} ms, p99 ${run[side].p99.toFixed(2)} ms`);
        }
        const differ = run.gateway.answers.findIndex((a, i) => a !== run.raw.answers[i]);
        checks.push({
          what: `chain run ${r + 1}: the gateway's chains equal the recursive CTE's, hop by hop`,
          ok: differ === -1 && run.raw.answers[0]!.split(",").length === 12,
          detail: differ === -1 ? `${calls.length} chains agree; the first is ${run.raw.answers[0]!.split(",").length} hops deep` : `call ${differ} differs`,
        });
        chainRuns.push(run);
      }
      raw.chain = chainRuns.map((m) => ({ gateway: { ...m.gateway, answers: undefined }, raw: { ...m.raw, answers: undefined } }));
      for (const [pct, f] of [["p50", (m: ChainMeasure) => m.p50], ["p99", (m: ChainMeasure) => m.p99]] as const) {
        const perRunRatios = chainRuns.map((m) => f(m.gateway) / f(m.raw));
        const ratio = median(perRunRatios);
        rows.push({
          figure: `resellerChain ${pct}, forest of ${forest.accounts.toLocaleString("en")}: Hive gateway`,
          unit: "ms",
          value: median(chainRuns.map((m) => f(m.gateway))),
          baselineName: "raw pg: recursive CTE over resellers.link",
          baseline: median(chainRuns.map((m) => f(m.raw))),
          ratio,
          perRunRatios,
          target: { op: "<=", value: 2 },
          pass: ratio <= 2,
        });
      }
      await exposureThroughGateway(hive.url, rsToken, forest.largest.id);
      const exposures: { gateway: ExposureMeasure; raw: ExposureMeasure }[] = [];
      for (let r = 0; r < Math.max(3, RUNS); r++) {
        exposures.push({ gateway: await exposureThroughGateway(hive.url, rsToken, forest.largest.id), raw: await exposureRawSql(client, forest.largest.id) });
      }
      const e = exposures[0]!;
      checks.push({
        what: "exposure of the largest subtree: the gateway's totals equal the recursive CTE's",
        ok: exposures.every((x) => x.gateway.total === x.raw.total && x.gateway.flagged === x.raw.flagged && x.gateway.total === forest.largest.below),
        detail: `${e.gateway.total.toLocaleString("en")} accounts below, ${e.gateway.flagged.toLocaleString("en")} flagged`,
      });
      raw.exposure = exposures;
      const gatewayMs = median(exposures.map((x) => x.gateway.ms));
      const rawMs = median(exposures.map((x) => x.raw.ms));
      say(`exposure of the largest subtree (${forest.largest.below.toLocaleString("en")} below): gateway ${gatewayMs.toFixed(0)} ms, recursive CTE ${rawMs.toFixed(0)} ms`);
      rows.push({
        figure: `exposure of the largest subtree (${forest.largest.below.toLocaleString("en")} accounts): Hive gateway (target: under 1,000 ms)`,
        unit: "ms",
        value: gatewayMs,
        baselineName: "raw pg: recursive CTE over resellers.link",
        baseline: rawMs,
        ratio: gatewayMs / rawMs,
        perRunRatios: exposures.map((x) => x.gateway.ms / x.raw.ms),
        pass: gatewayMs < 1000,
      });
    } finally {
      await client.end();
    }
  }

  if (doAccess) {
    const client = new pg.Client({ connectionString: db.url });
    client.on("error", (err) => say(`access connection: ${err.message}`));
    await client.connect();
    try {
      // The months of the last year, made before either side writes: COPY would put rows of a month
      // without its partition into the default partition, where the hub's writes never go.
      await makePartitions(client, new Date(Date.now() - 363 * 86_400_000), new Date());
      const ACCOUNTS_PER_WRITER = 10_000;
      const warmOrg = "bench-ac-warm";
      const warmAccounts = await seedAccounts(client, warmOrg, 100);
      await writeThroughGateway(hive.url, await token(warmOrg, ["verification:write"]), generateEvents(warmAccounts, 2 * ACCESS_BATCH, 7));
      await writeCopy(client, `${warmOrg}-raw`, generateEvents(warmAccounts, 2 * ACCESS_BATCH, 7));
      const writeRuns: { side: WriteMeasure; base: WriteMeasure }[] = [];
      for (let r = 0; r < RUNS; r++) {
        const orgs = { gateway: `bench-ac-gw-${r + 1}`, raw: `bench-ac-raw-${r + 1}` };
        const events = {
          gateway: generateEvents(await seedAccounts(client, orgs.gateway, ACCOUNTS_PER_WRITER), ACCESS_EVENTS, 1000 + r),
          raw: generateEvents(await seedAccounts(client, orgs.raw, ACCOUNTS_PER_WRITER), ACCESS_EVENTS, 1000 + r),
        };
        const gwToken = await token(orgs.gateway, ["verification:write"]);
        const run = {} as { gateway: WriteMeasure; raw: WriteMeasure };
        for (const side of r % 2 === 0 ? (["gateway", "raw"] as const) : (["raw", "gateway"] as const)) {
          if (backends) await backends.refresh();
          const stop = meter.start();
          run[side] = side === "gateway" ? await writeThroughGateway(hive.url, gwToken, events.gateway) : await writeCopy(client, orgs.raw, events.raw);
          cpuSpent.push({ what: `recordAccessEvents ${side}`, per: "1,000 events", ...perUnit(stop(), run[side].rows / 1000, run[side].seconds) });
          say(`access write run ${r + 1}/${RUNS} ${side}: ${run[side].rows} events in ${run[side].seconds.toFixed(2)} s = ${run[side].rowsPerSecond.toFixed(0)} events/s (batch p50 ${run[side].batchMsP50.toFixed(0)} ms, max ${run[side].batchMsMax.toFixed(0)} ms)`);
        }
        const stored = { gateway: await countStored(client, orgs.gateway), raw: await countStored(client, orgs.raw) };
        checks.push({
          what: `access write run ${r + 1}: every event stored once on each side`,
          ok: stored.gateway === ACCESS_EVENTS && stored.raw === ACCESS_EVENTS,
          detail: `${stored.gateway} through the gateway, ${stored.raw} by COPY; expected ${ACCESS_EVENTS} each`,
        });
        writeRuns.push({ side: run.gateway, base: run.raw });
      }
      raw.accessWrite = writeRuns;
      ratioRow(
        `recordAccessEvents, ${ACCESS_EVENTS.toLocaleString("en")} events in batches of ${ACCESS_BATCH.toLocaleString("en")} via Hive gateway`,
        "events/s",
        "raw pg: COPY FROM STDIN, same table",
        writeRuns,
        (m) => m.rowsPerSecond,
        { op: ">=", value: 0.3 },
      );

      // Reads on a log of ACCESS_STORED events of one provider: 100 per account over the last year.
      const reader = "bench-ac-reader";
      const readerAccounts = Math.max(100, Math.floor(ACCESS_STORED / 100));
      const accounts = await seedAccounts(client, reader, readerAccounts);
      const seeded = await seedStored(client, reader, readerAccounts, ACCESS_STORED, say);
      const { rows: sizes } = await client.query<{ partitions: number; bytes: string; index_bytes: string }>(
        `select count(*)::int as partitions, sum(pg_table_size(i.inhrelid))::text as bytes, sum(pg_indexes_size(i.inhrelid))::text as index_bytes
           from pg_inherits i where i.inhparent = 'verification.access_event'::regclass`,
      );
      const total = await client.query<{ n: number }>("select count(*)::int as n from verification.access_event");
      say(
        `access: ${ACCESS_STORED.toLocaleString("en")} events of ${readerAccounts.toLocaleString("en")} accounts stored in ${seeded.seconds.toFixed(0)} s; ` +
          `the log holds ${total.rows[0]!.n.toLocaleString("en")} in ${sizes[0]!.partitions} partitions, ${(Number(sizes[0]!.bytes) / 2 ** 20).toFixed(0)} MB of rows and ${(Number(sizes[0]!.index_bytes) / 2 ** 20).toFixed(0)} MB of indexes`,
      );
      raw.accessStored = { events: ACCESS_STORED, accounts: readerAccounts, seconds: seeded.seconds, totalRows: total.rows[0]!.n, ...sizes[0] };
      const rdToken = await token(reader, ["verification:read"]);
      const random = (n: number, seed: number) => Array.from({ length: n }, (_, i) => accounts[((i + 1) * 7919 + seed * 104729) % accounts.length]!);
      const addresses = await seededAddresses(client, reader, random(50, 99), 200);
      await historyThroughGateway(hive.url, rdToken, random(20, 1));
      await historyRawSql(client, reader, random(20, 1));
      await seenThroughGateway(hive.url, rdToken, lookupsOf(addresses, 12));
      await seenRawSql(client, reader, lookupsOf(addresses, 12), MAX_ACCOUNTS_SEEN);
      const historyRuns: { side: AccessLatency; base: AccessLatency }[] = [];
      const seenRuns: { side: AccessLatency; base: AccessLatency }[] = [];
      for (let r = 0; r < RUNS; r++) {
        const calls = random(ACCESS_CALLS, r + 2);
        const lookups = lookupsOf({ v4: addresses.v4.slice(r), v6: addresses.v6.slice(r) }, ACCESS_CALLS);
        const run = {} as { history: { gateway: AccessLatency; raw: AccessLatency }; seen: { gateway: AccessLatency; raw: AccessLatency } };
        run.history = {} as { gateway: AccessLatency; raw: AccessLatency };
        run.seen = {} as { gateway: AccessLatency; raw: AccessLatency };
        for (const side of r % 2 === 0 ? (["gateway", "raw"] as const) : (["raw", "gateway"] as const)) {
          let stop = meter.start();
          let started = performance.now();
          run.history[side] = side === "gateway" ? await historyThroughGateway(hive.url, rdToken, calls) : await historyRawSql(client, reader, calls);
          cpuSpent.push({ what: `accessHistory ${side}`, per: "call", ...perUnit(stop(), calls.length, (performance.now() - started) / 1000) });
          stop = meter.start();
          started = performance.now();
          run.seen[side] = side === "gateway" ? await seenThroughGateway(hive.url, rdToken, lookups) : await seenRawSql(client, reader, lookups, MAX_ACCOUNTS_SEEN);
          cpuSpent.push({ what: `accountsSeenFromIp ${side}`, per: "call", ...perUnit(stop(), lookups.length, (performance.now() - started) / 1000) });
          say(
            `access read run ${r + 1}/${RUNS} ${side}: accessHistory p50 ${run.history[side].p50.toFixed(2)} ms, p99 ${run.history[side].p99.toFixed(2)} ms; ` +
              `accountsSeenFromIp p50 ${run.seen[side].p50.toFixed(2)} ms, p99 ${run.seen[side].p99.toFixed(2)} ms`,
          );
        }
        for (const what of ["history", "seen"] as const) {
          const differ = run[what].gateway.answers.findIndex((a, i) => a !== run[what].raw.answers[i]);
          const found = run[what].raw.answers.filter((a) => !a.startsWith("0:")).length;
          checks.push({
            what: `access read run ${r + 1}: ${what === "history" ? "accessHistory pages" : "accountsSeenFromIp answers"} equal the raw statement's`,
            ok: differ === -1 && found > 0,
            detail: differ === -1 ? `${run[what].raw.answers.length} calls agree, ${found} of them found events` : `call ${differ} differs: ${run[what].gateway.answers[differ]} against ${run[what].raw.answers[differ]}`,
          });
        }
        historyRuns.push({ side: run.history.gateway, base: run.history.raw });
        seenRuns.push({ side: run.seen.gateway, base: run.seen.raw });
      }
      raw.accessRead = { history: historyRuns.map((r) => ({ side: { ...r.side, answers: undefined }, base: { ...r.base, answers: undefined } })), seen: seenRuns.map((r) => ({ side: { ...r.side, answers: undefined }, base: { ...r.base, answers: undefined } })) };
      const stored = ACCESS_STORED.toLocaleString("en");
      ratioRow(`accessHistory p50 (first ${HISTORY_PAGE}), ${stored} stored: Hive gateway`, "ms", "raw pg: the same page statement", historyRuns, (m) => m.p50);
      ratioRow(`accessHistory p99 (first ${HISTORY_PAGE}), ${stored} stored: Hive gateway`, "ms", "raw pg: the same page statement", historyRuns, (m) => m.p99);
      ratioRow(`accountsSeenFromIp p50 (address, /24 in 90 days, /48), ${stored} stored: Hive gateway`, "ms", "raw pg: the same lookup statement", seenRuns, (m) => m.p50);
      ratioRow(`accountsSeenFromIp p99 (address, /24 in 90 days, /48), ${stored} stored: Hive gateway`, "ms", "raw pg: the same lookup statement", seenRuns, (m) => m.p99);
    } finally {
      await client.end();
    }
  }

  const notes: string[] = [];
  if (doFeed) {
    const feedToken = (org: string, kind: "PROVIDER" | "AGENCY", scopes: string[], sub?: string) =>
      mintDevToken(dataDir!, { org, kind, scopes, ttlSeconds, ...(sub ? { sub } : {}) });
    const setup = await prepareFeed({
      incidentsUrl: incidents!.url,
      indicatorsUrl: indicators.url,
      token: feedToken,
      subscribers: SUBSCRIBERS,
      agencies: AGENCIES,
      tokenPer: TOKEN_PER,
    });
    say(`feed: ${setup.indicatorIds.length} GREEN indicators published; ${AGENCIES} agencies provisioned; ${SUBSCRIBERS} subscriber tokens (one per ${TOKEN_PER})`);
    const runs: { gateway: FeedSide; direct: FeedSide }[] = [];
    for (let r = 0; r < RUNS; r++) {
      const order: ("gateway" | "direct")[] = r % 2 ? ["direct", "gateway"] : ["gateway", "direct"];
      const run: Partial<{ gateway: FeedSide; direct: FeedSide }> = {};
      for (const side of order) {
        if (backends) await backends.refresh();
        run[side] = await runFeedSide({
          side: side === "gateway" ? "through the gateway" : "incidents subgraph direct",
          url: side === "gateway" ? hive.url : incidents!.url,
          query: side === "gateway" ? FEED_QUERY_GATEWAY : FEED_QUERY_DIRECT,
          withValues: side === "gateway",
          // Both sides report straight to the incidents subgraph: only the subscription path differs.
          producerUrl: incidents!.url,
          setup,
          server: side === "gateway" ? hive : incidents!,
          upstream: side === "gateway" ? incidents : undefined,
          rates: RATES,
          incidents: INCIDENTS,
          prefix: `r${r + 1}${side === "gateway" ? "g" : "d"}`,
          stallSeconds: STALL,
          drainCapSeconds: DRAIN_CAP,
          meter,
          say,
        });
        for (const phase of run[side]!.phases) {
          cpuSpent.push({ what: `feed ${side} @${phase.rate}/s`, per: "delivery", ...perUnit(phase.cpu, Math.max(1, phase.result.received), phase.seconds) });
        }
      }
      runs.push(run as { gateway: FeedSide; direct: FeedSide });
    }
    raw.feed = runs;
    feedRows(runs, rows, checks, notes, RATES, SUBSCRIBERS);
  }

  let profile: string | undefined;
  if (args.profile) {
    // The profiles are written when the profiled processes exit.
    for (const c of [...children]) await c.stop();
    const files = (await readdir(profileDir)).filter((f) => f.endsWith(".cpuprofile"));
    profile = (await Promise.all(files.sort().map((f) => summariseProfile(join(profileDir, f))))).join("\n");
  }

  printTable(rows, checks);
  printCpu(cpuSpent, Object.keys(groups));
  if (notes.length) process.stdout.write(`\nFeed: where each side saturates\n${notes.map((n) => `  ${n}`).join("\n")}\n`);
  await backends?.stop();
  if (profile) process.stdout.write(`\nWhere time goes (CPU profiles in ${profileDir}):\n${profile}\n`);
  const report = {
    at: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
    database: db.server,
    options: {
      runs: RUNS,
      rows: ROWS,
      batch: BATCH,
      seconds: SECONDS,
      warmup: WARMUP,
      connections: CONNECTIONS,
      subscribers: SUBSCRIBERS,
      agencies: AGENCIES,
      incidents: INCIDENTS,
      rates: RATES,
      tokenPer: TOKEN_PER,
      quick,
      only: args.only ?? null,
      hashes: HASHES,
      matchCalls: MATCH_CALLS,
      accounts: ACCOUNTS,
      stixIndicators: STIX_INDICATORS,
      reportCopies: REPORT_COPIES,
      stored: STORED,
      page: PAGE,
      accessEvents: ACCESS_EVENTS,
      accessStored: ACCESS_STORED,
      accessCalls: ACCESS_CALLS,
    },
    notes,
    rows,
    checks,
    cpu: cpuSpent,
    raw,
    elapsedSeconds: (Date.now() - started) / 1000,
  };
  await mkdir(RESULTS_DIR, { recursive: true });
  await writeFile(join(RESULTS_DIR, "latest.json"), `${JSON.stringify(report, null, 2)}\n`);
  say(`written ${join("bench", "results", "latest.json")} after ${report.elapsedSeconds.toFixed(0)} s`);
  return checks.every((c) => c.ok) ? 0 : 1;
}

/** The feed's rows (gateway beside direct, per rate), its checks, and where each side saturated. */
function feedRows(runs: { gateway: FeedSide; direct: FeedSide }[], rows: Row[], checks: { what: string; ok: boolean; detail: string }[], notes: string[], rates: number[], subscribers: number): void {
  const add = (figure: string, unit: string, f: (side: FeedSide) => number, target?: Row["target"]) => {
    const perRunRatios = runs.map((run) => f(run.gateway) / f(run.direct));
    const ratio = median(perRunRatios);
    rows.push({
      figure,
      unit,
      value: median(runs.map((run) => f(run.gateway))),
      baselineName: "incidents subgraph direct",
      baseline: median(runs.map((run) => f(run.direct))),
      ratio,
      perRunRatios,
      target,
      pass: target ? (target.op === ">=" ? ratio >= target.value : ratio <= target.value) : undefined,
    });
  };
  const at = (rate: number) => (side: FeedSide) => side.phases.find((p) => p.rate === rate)!;
  for (const rate of rates) {
    const phase = at(rate);
    add(`feed p50 send→delivery @${rate}/s: gateway`, "ms", (s) => phase(s).result.sendToDelivery.p50);
    add(`feed p99 send→delivery @${rate}/s: gateway`, "ms", (s) => phase(s).result.sendToDelivery.p99, rate === 10 ? { op: "<=", value: 2 } : undefined);
    add(`feed p99 response→delivery @${rate}/s: gateway`, "ms", (s) => phase(s).result.responseToDelivery.p99);
    add(`feed deliveries/s @${rate}/s (${(rate * subscribers).toLocaleString("en")} offered): gateway`, "/s", (s) => phase(s).deliveredPerSecond);
  }
  const perSub = (f: (side: FeedSide) => number) => (side: FeedSide) => f(side) / 1024 / side.subscribers;
  add("feed memory per subscriber (RSS): gateway", "KB", perSub((s) => s.memoryWith.rss - s.memoryBefore.rss));
  add("feed memory per subscriber (heap used): gateway", "KB", perSub((s) => s.memoryWith.heapUsed - s.memoryBefore.heapUsed));
  add("feed memory per subscriber (heap): incidents behind gateway", "KB", perSub((s) => (s.upstreamWith ?? s.memoryWith).heapUsed - (s.upstreamBefore ?? s.memoryBefore).heapUsed));

  for (const name of ["gateway", "direct"] as const) {
    const sides = runs.map((run) => run[name]);
    const label = sides[0]!.side;
    for (const rate of rates) {
      const phases = sides.map(at(rate));
      const sum = (f: (p: (typeof phases)[number]) => number) => phases.reduce((a, p) => a + f(p), 0);
      checks.push({
        what: `feed ${label} @${rate}/s: events lost (subscriber × incident not delivered)`,
        ok: sum((p) => p.result.lost) === 0,
        detail:
          `${sum((p) => p.result.lost)} of ${sum((p) => p.result.expected)}` +
          (sum((p) => p.result.lost) ? ` (${phases.map((p) => `${p.result.subscribersMissing} subscribers short, worst ${p.result.worstSubscriberMissing}${p.drained ? "" : p.stalled ? `, nothing more arrived in the last ${STALL} s` : `, still arriving when the wait ended after ${p.drainSeconds.toFixed(0)} s: late, maybe not lost`}`).join("; ")})` : ""),
      });
      checks.push({
        what: `feed ${label} @${rate}/s: duplicates / wrong payloads / subscriber errors / failed reports`,
        ok: sum((p) => p.result.duplicates + p.result.badPayloads + p.result.errors + p.reportFailures) === 0,
        detail:
          `${sum((p) => p.result.duplicates)} / ${sum((p) => p.result.badPayloads)} / ${sum((p) => p.result.errors)} / ${sum((p) => p.reportFailures)}` +
          [...new Set(phases.flatMap((p) => [p.result.firstBadPayload, p.result.firstError, p.firstReportFailure]).filter(Boolean))].map((m) => `; ${m}`).join(""),
      });
    }
    const mem = sides.map((s) => `${mb(s.memoryBefore.rss)} → ${mb(s.memoryWith.rss)} MB RSS, heap ${mb(s.memoryBefore.heapUsed)} → ${mb(s.memoryWith.heapUsed)} MB`).join("; ");
    notes.push(`${label}: ${sides[0]!.subscribers} subscribers, one token per ${sides[0]!.tokenPer}; server memory before → with them: ${mem}${sides[0]!.memoryWith.collected ? " (after full GCs)" : ""}`);
  }
  for (const rate of rates) {
    for (const name of ["gateway", "direct"] as const) {
      const phases = runs.map((run) => at(rate)(run[name]));
      const label = runs[0]![name].side;
      const offered = rate * subscribers;
      const delivered = median(phases.map((p) => p.deliveredPerSecond));
      const busy = Object.fromEntries(Object.keys(phases[0]!.cpu).map((g) => [g, median(phases.map((p) => (100 * p.cpu[g]!) / p.seconds))]));
      const machine = Object.values(busy).reduce((a, b) => a + b, 0);
      const wholeMachine = median(phases.map((p) => p.machineBusyPercent));
      const p99 = median(phases.map((p) => p.result.sendToDelivery.p99));
      const p50 = median(phases.map((p) => p.result.sendToDelivery.p50));
      // A Node process is one event loop: near a full core, it is the limit. Else the machine's 2 cores.
      const loops = Object.entries(busy).filter(([g]) => g !== "postgres" && g !== "subscribers" && g !== "load generator").sort((a, b) => b[1] - a[1]);
      const hot = loops.filter(([, b]) => b >= 85);
      const kept = delivered >= 0.95 * offered && p99 < 1000;
      const verdict = kept
        ? `kept up (${fmtPct(delivered / offered)} of the offered rate, p99 ${p99.toFixed(0)} ms)`
        : `saturated: ${fmtPct(delivered / offered)} of the offered rate, p50 ${p50.toFixed(0)} ms / p99 ${p99.toFixed(0)} ms (queues grow). ` +
          (hot.length
            ? `Limit: ${hot.map(([g, b]) => `${g} (${b.toFixed(0)}% of a core: its one event loop is full)`).join(", ")}`
            : wholeMachine >= 170
              ? `Limit: the machine's 2 cores (${wholeMachine.toFixed(0)}% busy, ${machine.toFixed(0)}% of it the bench's), no one process at a full core`
              : `no process at a full core and the machine ${wholeMachine.toFixed(0)}% busy: waiting, not computing (pool, queue or timer bound)`);
      notes.push(
        `@${rate}/s ${label}: ${Math.round(delivered).toLocaleString("en")} deliveries/s of ${offered.toLocaleString("en")} offered; ${verdict}. ` +
          `Busy (% of one core): ${Object.entries(busy).map(([g, b]) => `${g} ${b.toFixed(0)}%`).join(", ")}; the bench's processes ${machine.toFixed(0)}%; the whole machine ${wholeMachine.toFixed(0)}% of 200% (other tenants included).`,
      );
    }
  }
}

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
const fmtPct = (x: number) => `${(100 * x).toFixed(0)}%`;

/** Median CPU per request (reads) or per 1,000 rows (publish) in each process, over the runs. */
function printCpu(spent: { what: string; per: string; ms: Record<string, number>; busyPercent: number }[], groups: string[]): void {
  const whats = [...new Set(spent.map((s) => s.what))];
  const head = ["CPU ms per unit (median)", "per", ...groups, "total", "machine busy"];
  const body = whats.map((what) => {
    const these = spent.filter((s) => s.what === what);
    const cells = groups.map((g) => median(these.map((s) => s.ms[g] ?? 0)));
    return [what, these[0]!.per, ...cells.map((c) => c.toFixed(2)), cells.reduce((a, b) => a + b, 0).toFixed(2), `${median(these.map((s) => s.busyPercent)).toFixed(0)}%`];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  process.stdout.write(
    [
      "Where the CPU went (all processes share this machine's cores; busy 200% = 2 cores)",
      line(head),
      line(widths.map((w) => "-".repeat(w))),
      ...body.map(line),
      "",
    ].join("\n"),
  );
}

function fmt(n: number, unit: string): string {
  if (unit === "ms") return n.toFixed(n < 10 ? 2 : 1);
  if (unit === "KB") return n.toFixed(1);
  return Math.round(n).toLocaleString("en");
}

function printTable(rows: Row[], checks: { what: string; ok: boolean; detail: string }[]): void {
  const head = ["figure", "value", "baseline", "value", "ratio", "target", "result"];
  const body = rows.map((r) => [
    r.figure,
    `${fmt(r.value, r.unit)} ${r.unit}`,
    r.baselineName,
    `${fmt(r.baseline, r.unit)} ${r.unit}`,
    `${r.ratio.toFixed(2)}x${r.perRunRatios.length > 1 ? ` (${r.perRunRatios.map((x) => x.toFixed(2)).join(", ")})` : ""}`,
    r.target ? `${r.target.op} ${r.target.value}x` : "-",
    r.pass === undefined ? "context" : r.pass ? "PASS" : "FAIL",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  const out = [
    "",
    `Watchfloor bench (medians of ${RUNS} run(s); ratio = figure / baseline of the same run, per-run ratios in brackets)`,
    line(head),
    line(widths.map((w) => "-".repeat(w))),
    ...body.map(line),
    "",
    "Checks",
    ...checks.map((c) => `  ${c.ok ? "ok  " : "FAIL"}  ${c.what}: ${c.detail}`),
    "",
  ];
  process.stdout.write(out.join("\n"));
}

let code = 1;
try {
  code = await main();
} catch (err) {
  say(`failed: ${(err as Error).stack ?? err}`);
} finally {
  await cleanup();
}
process.exit(code);
