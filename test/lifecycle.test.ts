import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type AddressInfo, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, inject, it } from "vitest";
import { mintDevToken } from "../src/auth/dev-keys.js";
import { projectRoot } from "../src/paths.js";
import { orgId } from "./support/hub.js";
import { startHubProcess, stopHubProcess } from "./support/start.js";

/** Starting, stopping and backing up the hub as an operator does: `dist/app/*.js` in child processes. */
const root = projectRoot();
const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function tempDir(name: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `watchfloor-${name}-`));
  dirs.push(dir);
  return dir;
}

function listen(port = 0): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

async function freePort(): Promise<number> {
  const server = await listen();
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Runs `node dist/app/<script>` to its end. */
function run(script: string, args: string[], env: Record<string, string | undefined>): Promise<{ code: number | null; output: string }> {
  const proc = spawn(process.execPath, [`dist/app/${script}`, ...args], { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  proc.stdout.on("data", (c: Buffer) => (output += c.toString()));
  proc.stderr.on("data", (c: Buffer) => (output += c.toString()));
  return new Promise((resolve) => proc.once("exit", (code) => resolve({ code, output })));
}

async function gql(address: string, token: string, query: string, variables: Record<string, unknown> = {}) {
  const res = await fetch(`http://${address}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: any; errors?: unknown[] };
  expect(body.errors).toBeUndefined();
  return body.data;
}

describe("a port already in use", () => {
  for (const setting of ["PORT", "SUBGRAPH_PORT_BASE"] as const) {
    it(`(${setting}) stops the start with a line naming the port and the setting, before any database work`, async () => {
      const taken = await listen();
      const { port } = taken.address() as AddressInfo;
      const dataDir = await tempDir("port");
      try {
        const { code, output } = await run("start.js", [], {
          DATABASE_URL: undefined,
          DATA_DIR: dataDir,
          EMBEDDED_PG_PORT: String(await freePort()),
          PORT: "0",
          SUBGRAPH_PORT_BASE: "0",
          [setting]: String(port),
          NODE_ENV: "development",
          LOG_LEVEL: "info",
        });
        expect(code).not.toBe(0);
        // One line per port in use: this test's own, and any of SUBGRAPH_PORT_BASE's next ports that
        // another process on a shared machine happens to hold; each line names its port and setting.
        const lines = output.trim().split("\n");
        for (const line of lines) expect(line, output).toMatch(new RegExp(`^${setting}: 127\\.0\\.0\\.1:\\d+ .*is already in use`));
        expect(lines.filter((l) => l.includes(`127.0.0.1:${port} `)), output).toHaveLength(1);
        expect(output).not.toMatch(/\n\s+at |"stack"/);
        // Nothing of the database was touched: no embedded cluster made, no migration run.
        expect(existsSync(join(dataDir, "pg"))).toBe(false);
        expect(output).not.toMatch(/migrat|PostgreSQL/i);
      } finally {
        taken.close();
      }
    });
  }

  it("(EMBEDDED_PG_PORT among the subgraphs' ports) stops the start before anything listens, naming both settings", async () => {
    const base = await freePort();
    const dataDir = await tempDir("port-overlap");
    const { code, output } = await run("start.js", [], {
      DATABASE_URL: undefined,
      DATA_DIR: dataDir,
      PORT: "0",
      SUBGRAPH_PORT_BASE: String(base),
      EMBEDDED_PG_PORT: String(base + 5),
      NODE_ENV: "development",
      LOG_LEVEL: "info",
    });
    expect(code).not.toBe(0);
    expect(output).toContain(`SUBGRAPH_PORT_BASE: port ${base + 5} (the verification subgraph, SUBGRAPH_PORT_BASE + 5) is also the embedded PostgreSQL's (EMBEDDED_PG_PORT)`);
    expect(output).not.toMatch(/\n\s+at |"stack"|EADDRINUSE/);
    expect(existsSync(join(dataDir, "pg"))).toBe(false);
  });
});

describe("stopping", () => {
  it("logs `stopped` once everything is closed, after `stopping`", async () => {
    const hub = await startHubProcess({ DATABASE_URL: inject("databaseUrl"), DATA_DIR: await tempDir("stop"), LOG_LEVEL: "info" });
    expect(await stopHubProcess(hub)).toBe(0);
    const messages = hub
      .output()
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => (JSON.parse(line) as { msg: string }).msg);
    expect(messages).toContain("stopping");
    expect(messages.at(-1)).toBe("stopped");
  });
});

describe("npm run backup (the embedded PostgreSQL)", () => {
  const PUBLISH = `mutation($in: [IndicatorInput!]!) { publishIndicators(input: $in) { published } }`;
  const LOOKUP = `query($v: [String!]!) { lookupIndicators(values: $v) { value owner } }`;
  const VALUES = ["198.51.100.71", "198.51.100.72"];

  it("copies a running hub's DATA_DIR into one a hub restores from, and a stopped one too", { timeout: 600_000 }, async () => {
    const dataDir = await tempDir("backup-source");
    const online = join(await tempDir("backup-online"), "data");
    const offline = join(await tempDir("backup-offline"), "data");
    const org = orgId("backup");
    const env = { DATABASE_URL: undefined, DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(await freePort()) };
    const hub = await startHubProcess(env);
    let token: string;
    try {
      token = await mintDevToken(dataDir, { org, kind: "PROVIDER", scopes: ["indicators:read", "indicators:write"] });
      const publish = (value: string) => gql(hub.address, token, PUBLISH, { in: [{ type: "IPV4", value, tlp: "AMBER" }] });
      expect((await publish(VALUES[0]!)).publishIndicators.published).toBe(1);

      const backup = await run("backup.js", [online], env);
      expect(backup.output).not.toMatch(/\n\s+at /);
      expect(backup.code, backup.output).toBe(0);
      expect(backup.output).toContain("online, while the hub ran");
      // A second backup into the same place is refused: nothing is overwritten.
      const again = await run("backup.js", [online], env);
      expect(again.code).not.toBe(0);
      expect(again.output.trim().split("\n")).toHaveLength(1);

      expect((await publish(VALUES[1]!)).publishIndicators.published).toBe(1);
    } finally {
      expect(await stopHubProcess(hub)).toBe(0);
    }
    const cold = await run("backup.js", [offline], env);
    expect(cold.code, cold.output).toBe(0);
    expect(cold.output).toContain("the hub was stopped");

    // Each copy is a DATA_DIR: a hub started on it has the data as it was at the backup, and the same
    // development key (the token minted before still verifies).
    for (const [dir, expected] of [
      [online, [VALUES[0]]],
      [offline, VALUES],
    ] as const) {
      const restored = await startHubProcess({ DATABASE_URL: undefined, DATA_DIR: dir, EMBEDDED_PG_PORT: String(await freePort()) });
      try {
        const found = await gql(restored.address, token!, LOOKUP, { v: VALUES });
        expect(found.lookupIndicators.map((i: { value: string }) => i.value).sort()).toEqual([...expected]);
      } finally {
        expect(await stopHubProcess(restored)).toBe(0);
      }
    }
  });
});
