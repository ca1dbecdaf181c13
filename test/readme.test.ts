import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { projectRoot } from "../src/paths.js";
import { examples, listUnder, type Example } from "./support/examples.js";
import { startHubProcess, stopHubProcess, type HubProcess } from "./support/start.js";

/**
 * The examples of README.md and docs/api.md, run as a new user would: in order, with bash, against a
 * hub started as `npm start` starts it (dist/app/start.js) on a fresh DATA_DIR. Only the address
 * changes (the docs say 127.0.0.1:4000). Each block must exit 0 and print no GraphQL `errors`.
 */
const root = projectRoot();
const DOCS = ["README.md", "docs/api.md"];
const ADDRESS = "127.0.0.1:4000";
/** An event cursor (base64url of `wf1:<seq>`), which every event of a feed carries. */
const EVENT = /d2Yx[A-Za-z0-9_-]+/;

interface Hub extends HubProcess {
  dataDir: string;
}

/** The hub as `npm start` runs it, on a fresh DATA_DIR and the test run's database. */
async function startHub(): Promise<Hub> {
  const dataDir = await mkdtemp(join(tmpdir(), "watchfloor-readme-"));
  return { ...(await startHubProcess({ DATABASE_URL: inject("databaseUrl"), DATA_DIR: dataDir })), dataDir };
}

async function stopHub(hub: Hub | undefined): Promise<void> {
  if (!hub) return;
  await stopHubProcess(hub);
  await rm(hub.dataDir, { recursive: true, force: true });
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs one block with bash: the variables and functions that earlier blocks set are sourced from
 * `state` first and saved back after, as if the reader typed every block into one terminal.
 */
function runBlock(block: string, env: NodeJS.ProcessEnv, cwd: string, state: string, stream: boolean): Promise<Run> {
  const script = [
    "set -eo pipefail",
    "__base=$(compgen -v)",
    `source ${JSON.stringify(state)}`,
    block,
    "{ declare -f; for __v in $(compgen -v); do",
    '  case "$__v" in __*|BASH*|PIPESTATUS|OLDPWD|_) continue;; esac',
    '  grep -qx -- "$__v" <<<"$__base" || declare -p "$__v"',
    `done; } > ${JSON.stringify(state)}`,
  ].join("\n");
  const proc = spawn("bash", ["-c", script], { cwd, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const run: Run = { code: null, stdout: "", stderr: "" };
  proc.stdout!.on("data", (c: Buffer) => (run.stdout += c.toString()));
  proc.stderr!.on("data", (c: Buffer) => (run.stderr += c.toString()));
  return new Promise((resolve) => {
    // A stream runs until its first event has arrived: every event carries its cursor.
    const firstEvent = setInterval(() => {
      if (stream && EVENT.test(run.stdout)) process.kill(-proc.pid!, "SIGTERM");
    }, 100);
    // Past this, a block is stuck: its process group is stopped and the block fails.
    const stuck = setTimeout(() => {
      run.stderr += "\n(stopped after 60 s)";
      process.kill(-proc.pid!, "SIGKILL");
    }, 60_000);
    proc.once("exit", (code) => {
      clearInterval(firstEvent);
      clearTimeout(stuck);
      resolve({ ...run, code });
    });
  });
}

describe("the README's and docs/api.md's examples", () => {
  let hub: Hub | undefined;
  let work: string;
  beforeAll(async () => {
    hub = await startHub();
    // Inside the checkout (as a reader's files would be), so that `import "graphql-ws"` and `npm run`
    // find the project's packages; under node_modules/.cache, so that git ignores it.
    await mkdir(join(root, "node_modules", ".cache"), { recursive: true });
    work = await mkdtemp(join(root, "node_modules", ".cache", "readme-test-"));
    await writeFile(join(work, "state.sh"), "");
  });
  afterAll(async () => {
    await stopHub(hub);
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("run as written, in order, on a fresh start", { timeout: 600_000 }, async () => {
    const all: Example[] = DOCS.flatMap((file) => examples(root, file));
    expect(all.filter((e) => !e.skip).length).toBeGreaterThan(10);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PATH: `${join(root, "node_modules", ".bin")}:${process.env.PATH}`,
      // The same DATA_DIR as the hub, as the README asks, so that `npm run token` signs with its key.
      DATA_DIR: hub!.dataDir,
    };
    delete env.DATABASE_URL;
    const failures: string[] = [];
    for (const example of all) {
      if (example.skip) continue;
      const code = example.code.replaceAll(ADDRESS, hub!.address);
      if (example.lang === "js") {
        // A script the reader saves under the name its first line gives, then runs from a later block.
        const name = /^\/\/ (\S+\.m?js)\b/.exec(code)?.[1];
        if (!name) {
          failures.push(`${example.where}: a js example must start with "// <file>.mjs" (its file name)`);
          continue;
        }
        await writeFile(join(work, name), code);
        continue;
      }
      const run = await runBlock(code, env, work, join(work, "state.sh"), example.stream);
      const problems = [
        run.code !== 0 && !(example.stream && run.code === null) ? `exit code ${run.code}` : "",
        /"errors"\s*:/.test(run.stdout) ? "GraphQL errors in its output" : "",
        example.stream && !EVENT.test(run.stdout) ? "no event before it was stopped" : "",
        run.stderr.trim() ? `stderr: ${run.stderr.trim().slice(0, 500)}` : "",
      ].filter(Boolean);
      if (problems.length) failures.push(`${example.where}: ${problems.join("; ")}\n  output: ${run.stdout.slice(0, 800)}`);
    }
    expect(failures).toEqual([]);
  });
});

const read = (file: string) => readFileSync(join(root, file), "utf8");
const supergraph = () => read("schema/supergraph.graphql");
const dependencies = () => {
  const pkg = JSON.parse(read("package.json")) as Record<string, Record<string, string> | undefined>;
  return Object.keys({ ...pkg.dependencies, ...pkg.devDependencies, ...pkg.optionalDependencies });
};
const sources = (dir: string) =>
  readdirSync(join(root, dir), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .map((f) => read(join(dir, f)))
    .join("\n");
/** What shows that a thing exists: a line per sign found, none when it is absent. */
const signs = (checks: [boolean, string][]) => checks.filter(([found]) => found).map(([, sign]) => sign);
const subgraph = (name: string) => existsSync(join(root, "subgraphs", name));
const served = async (address: string, path: string) => (await fetch(`http://${address}${path}`)).status !== 404;

/**
 * For each item of the README's "Not built yet" list (by its first bold words), what would show it is
 * built. An item without a check here fails the test, so the list and the checks move together.
 */
const BUILT: Record<string, (address: string) => Promise<string[]>> = {
  resellers: async () => signs([[subgraph("resellers"), "subgraphs/resellers exists"], [/resellerChain/.test(supergraph()), "the supergraph has resellerChain"]]),
  measures: async () => signs([[subgraph("measures"), "subgraphs/measures exists"], [/\bscreening\b/i.test(supergraph()), "the supergraph has screening"]]),
  "incident exports": async () =>
    signs([[/^\s+\w*(Stix|Export)\w*\s*[(:]/im.test(read("schema/incidents.graphql")), "the incidents subgraph has an export field"]]),
  "analyst console": async (address) => signs([[await served(address, "/console"), "the gateway serves /console"]]),
  metrics: async (address) =>
    signs([
      [await served(address, "/metrics"), "the gateway serves /metrics"],
      [dependencies().some((d) => /opentelemetry|prom-client/.test(d)), "a metrics or tracing package is a dependency"],
    ]),
  "rate limits": async () =>
    signs([
      [/rate.?limit/i.test(sources("gateway") + sources("src")), "gateway/ or src/ names a rate limit"],
      [dependencies().some((d) => /rate-?limit/i.test(d)), "a rate-limit package is a dependency"],
    ]),
  "read replicas": async () => signs([[/read.?replica|citus/i.test(sources("src")), "src/ names read replicas or Citus"]]),
};

describe("the README's list of what is not built yet", () => {
  let hub: Hub | undefined;
  beforeAll(async () => {
    hub = await startHub();
  });
  afterAll(() => stopHub(hub));

  it("names only things the code still lacks, each with a check here", async () => {
    const items = listUnder(root, "README.md", "Not built yet");
    expect(items.length).toBeGreaterThan(5);
    const wrong: string[] = [];
    for (const item of items) {
      const key = /\*\*(.+?)\*\*/.exec(item)?.[1];
      const check = key === undefined ? undefined : BUILT[key];
      if (!check) {
        wrong.push(`"${item.slice(0, 60)}…": no check in test/readme.test.ts for "${key ?? "(no bold words)"}"`);
        continue;
      }
      for (const sign of await check(hub!.address)) wrong.push(`"${key}" is listed as not built, but ${sign}`);
    }
    expect(wrong).toEqual([]);
  });
});
