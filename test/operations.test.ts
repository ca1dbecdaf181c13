import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtemp, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeJwt } from "jose";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { ensureDevKeys, mintDevToken } from "../src/auth/dev-keys.js";
import { projectRoot } from "../src/paths.js";
import { orgId, startTestHub, type TestHub } from "./support/hub.js";

const root = projectRoot();

describe("health", () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startTestHub();
  });
  afterAll(() => t?.stop());

  it("answers 200 without a token while every part answers, 503 naming the part that does not", async () => {
    const healthz = t.gatewayUrl.replace(/\/graphql$/, "/healthz");
    const ok = await fetch(healthz);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ status: "ok", subgraphs: { indicators: "ok", directory: "ok", incidents: "ok", accounts: "ok", resellers: "ok", verification: "ok" } });

    const directory = t.hub.subgraphs.find((s) => s.name === "directory")!;
    await directory.close();
    t.hub.subgraphs.splice(t.hub.subgraphs.indexOf(directory), 1);
    const down = await fetch(healthz);
    expect(down.status).toBe(503);
    expect((await down.json()).subgraphs.directory).not.toBe("ok");
  });
});

describe("cross-origin requests from browsers", () => {
  const preflight = (url: string, origin: string) =>
    fetch(url, { method: "OPTIONS", headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization,content-type" } });

  it("are allowed from no origin by default", async () => {
    const t = await startTestHub();
    try {
      const res = await preflight(t.gatewayUrl, "https://console.example");
      expect(res.headers.get("access-control-allow-origin")).toBeNull();
    } finally {
      await t.stop();
    }
  });

  it("are allowed from the origins in CORS_ORIGINS only", async () => {
    const t = await startTestHub({ CORS_ORIGINS: "https://console.watchfloor.test" });
    try {
      const allowed = await preflight(t.gatewayUrl, "https://console.watchfloor.test");
      expect(allowed.headers.get("access-control-allow-origin")).toBe("https://console.watchfloor.test");
      const other = await preflight(t.gatewayUrl, "https://evil.example");
      expect(other.headers.get("access-control-allow-origin")).not.toBe("https://evil.example");
    } finally {
      await t.stop();
    }
  });
});

describe("the member directory", () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startTestHub();
  });
  afterAll(() => t?.stop());

  const REGISTER = `mutation($i: OrganizationInput!) { registerOrganization(input: $i) { organization { id name kind provisionedBy } error { field message } } }`;

  it("lets operators register orgs, refuses others, and names the bad field", async () => {
    const operator = await t.token(orgId("hub-ops"), "OPERATOR", ["admin"]);
    const agency = orgId("cisa-like");
    const done = await t.gql(REGISTER, { i: { id: agency, name: "An agency", kind: "AGENCY" } }, operator);
    expect(done.data.registerOrganization).toEqual({ organization: { id: agency, name: "An agency", kind: "AGENCY", provisionedBy: "OPERATOR" }, error: null });

    const bad = await t.gql(REGISTER, { i: { id: "Not An Id", name: "x", kind: "AGENCY" } }, operator);
    expect(bad.data.registerOrganization.error.field).toBe("id");
    const empty = await t.gql(REGISTER, { i: { id: orgId("ok"), name: "  ", kind: "AGENCY" } }, operator);
    expect(empty.data.registerOrganization.error.field).toBe("name");

    const provider = await t.token(orgId("some-cloud"), "PROVIDER", ["indicators:read", "indicators:write"]);
    const refused = await t.gql(REGISTER, { i: { id: orgId("sneaky"), name: "x", kind: "AGENCY" } }, provider);
    expect(refused.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect(refused.errors?.[0]?.message).toContain("admin");

    const list = await t.gql(`{ organizations(kind: AGENCY) { id kind } }`, {}, provider);
    expect(list.data.organizations).toContainEqual({ id: agency, kind: "AGENCY" });
  });
});

describe("npm run token", () => {
  it("prints a token with the requested claims, and refuses bad options", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "watchfloor-token-"));
    await ensureDevKeys(dataDir);
    const run = (args: string[]) =>
      spawnSync(process.execPath, [join(root, "dist/app/token.js"), ...args], { env: { ...process.env, DATA_DIR: dataDir }, encoding: "utf8" });
    const ok = run(["--org", "acme-cloud", "--kind", "PROVIDER", "--scopes", "indicators:read indicators:write", "--ttl", "120", "--sub", "alice"]);
    expect(ok.status).toBe(0);
    const claims = decodeJwt(ok.stdout.trim());
    expect(claims).toMatchObject({ org: "acme-cloud", org_kind: "PROVIDER", scope: "indicators:read indicators:write", sub: "alice", iss: "watchfloor-dev", aud: "watchfloor" });
    expect(claims.exp! - claims.iat!).toBe(120);

    const badScope = run(["--org", "acme-cloud", "--kind", "PROVIDER", "--scopes", "indicators:delete"]);
    expect(badScope.status).not.toBe(0);
    expect(badScope.stderr).toContain("indicators:delete");
    expect(badScope.stderr).not.toMatch(/\n\s+at /);
  });
});

describe("npm start's process: request log lines", () => {
  let child: ChildProcess;
  let out = "";
  let url = "";
  let dataDir = "";
  // The process's working directory, and a database of its own: every migration runs at its start,
  // and neither they nor anything else may write files where the process was started.
  let workDir = "";
  const database = `${new URL(inject("databaseUrl")).pathname.slice(1)}_ops`;
  const admin = () => new pg.Client({ connectionString: inject("databaseUrl") });

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "watchfloor-logs-"));
    workDir = await mkdtemp(join(tmpdir(), "watchfloor-cwd-"));
    const client = admin();
    await client.connect();
    await client.query(`create database ${database}`);
    await client.end();
    const databaseUrl = new URL(inject("databaseUrl"));
    databaseUrl.pathname = `/${database}`;
    child = spawn(process.execPath, [join(root, "dist/app/start.js")], {
      cwd: workDir,
      env: { ...process.env, DATABASE_URL: databaseUrl.toString(), DATA_DIR: dataDir, PORT: "0", SUBGRAPH_PORT_BASE: "0", LOG_LEVEL: "info", NODE_ENV: "test" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout!.on("data", (chunk) => (out += chunk));
    child.stderr!.on("data", (chunk) => (out += chunk));
    const deadline = Date.now() + 60_000;
    while (!url && Date.now() < deadline) {
      url = /Watchfloor is up: (\S+)/.exec(out)?.[1] ?? "";
      await new Promise((r) => setTimeout(r, 100));
    }
    if (!url) throw new Error(`the hub did not start:\n${out}`);
  });
  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    }
    const client = admin();
    await client.connect();
    await client.query(`drop database if exists ${database} with (force)`);
    await client.end();
  });

  it("writes one JSON line per request with org, operation, duration and outcome, and never the token", async () => {
    const org = orgId("log-cloud");
    const token = await mintDevToken(dataDir, { org, kind: "PROVIDER", scopes: ["indicators:read"] });
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: "query ListForLog { indicators(first: 1) { totalCount } }", operationName: "ListForLog" }),
    });
    expect(res.status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    const lines = out.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
    const gatewayLine = lines.find((l) => l.component === "gateway" && l.msg === "request" && l.operation === "ListForLog");
    expect(gatewayLine).toMatchObject({ org, operation: "ListForLog", outcome: "ok", status: 200 });
    expect(typeof gatewayLine.ms).toBe("number");
    // The subgraph's line carries the same request id (the gateway sends it as x-request-id).
    expect(gatewayLine.requestId).toBe(res.headers.get("x-request-id"));
    const subgraphLine = lines.find((l) => l.subgraph === "indicators" && l.msg === "request" && l.requestId === gatewayLine.requestId);
    expect(subgraphLine).toMatchObject({ org, outcome: "ok" });
    expect(out).not.toContain(token);
    expect(out).not.toContain(token.split(".")[2]);
  });

  it("stops on SIGTERM with exit code 0, having written no file where it was started", async () => {
    child.kill("SIGTERM");
    const code = await new Promise((r) => child.once("exit", r));
    expect(code).toBe(0);
    expect(await readdir(workDir)).toEqual([]);
  });
});
