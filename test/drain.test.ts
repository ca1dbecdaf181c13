import { request, type IncomingMessage, type ServerResponse } from "node:http";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, inject, it } from "vitest";
import { PRODUCTION_KEYS } from "./support/hub.js";
import { deadUrl, fakeSubgraph, spawnPart, type FakeSubgraph, type HubProcess } from "./support/process.js";
import { sleep, until } from "./support/wait.js";

/**
 * SIGTERM (what an orchestrator sends before it kills): every process stops taking new connections,
 * answers the requests it has in hand, then exits; a request still running when the drain timeout
 * passes does not hold the process up for ever.
 */

const PUBLISH = "mutation($in: [IndicatorInput!]!) { publishIndicators(input: $in) { published failed } }";
const batch = Array.from({ length: 1000 }, (_, i) => ({ type: "IPV4", value: `203.0.${Math.floor(i / 250)}.${i % 250}`, tlp: "GREEN" }));

/**
 * Production, as an orchestrator runs it (libraries install their own signal handlers there), with the
 * development key's JWKS standing in for the identity provider's.
 */
const production = (dataDir: string) => ({
  NODE_ENV: "production",
  AUTH_JWKS_FILE: join(dataDir, "keys", "dev-jwks.json"),
  AUTH_ISSUER: "watchfloor-dev",
  AUTH_AUDIENCE: "watchfloor",
  ...PRODUCTION_KEYS,
});

/** A request on a connection of its own (no pooled keep-alive socket): closed unanswered, or its status and body. */
function freshRequest(url: string, body: string, token: string): Promise<{ refused: true } | { refused: false; status: number; text: string }> {
  return new Promise((resolve) => {
    const req = request(url, { method: "POST", agent: false, headers: { "content-type": "application/json", authorization: `Bearer ${token}`, "content-length": Buffer.byteLength(body) } }, (res) => {
      let text = "";
      res.on("data", (c) => (text += c));
      res.on("end", () => resolve({ refused: false, status: res.statusCode!, text }));
    });
    req.on("error", () => resolve({ refused: true }));
    req.end(body);
  });
}

/** Whether a new TCP connection to the URL's port is refused now. */
function connectionRefused(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(true));
  });
}

describe("the gateway on SIGTERM", () => {
  let gateway: HubProcess | undefined;
  let indicators: FakeSubgraph | undefined;
  afterEach(async () => {
    await gateway?.signal("SIGKILL");
    await indicators?.close();
  });

  async function start(env: Record<string, string> = {}) {
    indicators = await fakeSubgraph();
    const held: ServerResponse[] = [];
    indicators.handle = (req: IncomingMessage, res: ServerResponse) => {
      req.resume();
      held.push(res);
    };
    const urls = `indicators=${indicators.url},directory=${await deadUrl()},incidents=${await deadUrl()}`;
    gateway = await spawnPart("gateway", (dataDir) => ({ ...production(dataDir), SUBGRAPH_URLS: urls, ...env }));
    const token = await gateway.token("drain-cloud", "PROVIDER", ["indicators:read", "indicators:write"]);
    return { held, token };
  }

  it("answers a 1000-item publish in flight, refuses new requests meanwhile, then exits 0", async () => {
    const { held, token } = await start();
    const inFlight = freshRequest(gateway!.url, JSON.stringify({ query: PUBLISH, variables: { in: batch } }), token);
    await until("the publish to reach the subgraph", () => held.length === 1);

    const exited = gateway!.signal("SIGTERM");
    let refusedNew = false;
    for (let i = 0; i < 200 && !refusedNew; i++) {
      refusedNew = await connectionRefused(gateway!.url);
      if (!refusedNew) await sleep(25);
    }
    expect(refusedNew).toBe(true);

    const answer = JSON.stringify({ data: { publishIndicators: { published: 1000, failed: 0 } } });
    held[0]!.writeHead(200, { "content-type": "application/json" }).end(answer);
    const res = await inFlight;
    expect(res.refused, gateway!.output().slice(-1500)).toBe(false);
    if (res.refused) return;
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text), gateway!.output().slice(-3000)).toEqual({ data: { publishIndicators: { published: 1000, failed: 0 } } });
    expect(await exited).toBe(0);
  });

  it("does not wait beyond DRAIN_TIMEOUT_SECONDS for a request that never ends", async () => {
    const { held, token } = await start({ DRAIN_TIMEOUT_SECONDS: "1" });
    const inFlight = freshRequest(gateway!.url, JSON.stringify({ query: "{ indicators(first: 1) { totalCount } }" }), token);
    await until("the query to reach the subgraph", () => held.length === 1);
    expect(await gateway!.signal("SIGTERM")).toBe(0);
    await inFlight;
  });
});

describe("a subgraph on SIGTERM", () => {
  let subgraph: HubProcess | undefined;
  afterEach(async () => {
    await subgraph?.signal("SIGKILL");
  });

  it("answers a request whose body is still arriving, after it has stopped taking connections", async () => {
    subgraph = await spawnPart("indicators", (dataDir) => ({ ...production(dataDir), DATABASE_URL: inject("databaseUrl") }));
    const token = await subgraph.token("drain-sub", "PROVIDER", ["indicators:read"]);
    const { hostname, port } = new URL(subgraph.url);
    const body = JSON.stringify({ query: "{ indicators(first: 1) { totalCount } }" });
    const socket: Socket = connect(Number(port), hostname);
    let received = "";
    socket.on("data", (c) => (received += c));
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    // "100 Continue" says the server holds the request (its headers parsed) and waits for the body.
    socket.write(
      `POST /graphql HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nAuthorization: Bearer ${token}\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nExpect: 100-continue\r\n\r\n`,
    );
    await until("100 Continue", () => received.includes("100 Continue"));

    const exited = subgraph.signal("SIGTERM");
    let refused = false;
    for (let i = 0; i < 200 && !refused; i++) {
      refused = await connectionRefused(subgraph.url);
      if (!refused) await sleep(25);
    }
    expect(refused).toBe(true);

    // Not `end`: a half-closed connection is one whose request Node abandons.
    socket.write(body);
    await closed;
    expect(received, subgraph.output().slice(-1500)).toMatch(/HTTP\/1\.1 200 OK/);
    expect(received).toMatch(/"totalCount":\d+/);
    expect(await exited).toBe(0);
  });
});
