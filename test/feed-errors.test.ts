import { createClient, type Client } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { recordFeed } from "./support/feed.js";
import { orgId, startTestHub, type TestHub } from "./support/hub.js";
import { spawnPart, tcpProxy, type HubProcess } from "./support/process.js";
import { sleep, until } from "./support/wait.js";

/**
 * How feeds end, as documented: a subgraph outage under a shared graphql-ws feed restarts it (a short
 * outage loses nothing) and, when it lasts, ends it with FEED_UNAVAILABLE; an SSE subscription ends
 * with UNAUTHENTICATED at its token's expiry (and its log line says so).
 */

const PUBLISH = "mutation($input: [IndicatorInput!]!) { publishIndicators(input: $input) { failed } }";
const SUBSCRIBE = "subscription($after: String) { indicatorPublished(after: $after) { cursor indicator { value } } }";

describe("feeds through a gateway whose indicators subgraph goes away", () => {
  let t: TestHub;
  let proxy: Awaited<ReturnType<typeof tcpProxy>>;
  let gateway: HubProcess;
  const P = orgId("feed-err-pub");
  let token: string;
  const clients: Client[] = [];

  beforeAll(async () => {
    t = await startTestHub({ AUTH_CLOCK_SKEW_SECONDS: "0" });
    proxy = await tcpProxy(t.subgraphUrl("indicators"));
    gateway = await spawnPart("gateway", {
      DATA_DIR: t.dataDir,
      AUTH_CLOCK_SKEW_SECONDS: "0",
      SUBGRAPH_URLS: `indicators=${proxy.url},directory=${t.subgraphUrl("directory")},incidents=${t.subgraphUrl("incidents")}`,
    });
    token = await t.token(P, "PROVIDER", ["indicators:read", "indicators:write"]);
  });
  afterAll(async () => {
    for (const c of clients) await c.dispose();
    await gateway?.signal("SIGKILL");
    await proxy?.close();
    await t?.stop();
  });

  const client = () => {
    const c = createClient({ url: gateway.url.replace(/^http/, "ws"), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, retryAttempts: 0, lazy: true });
    clients.push(c);
    return c;
  };
  const publish = async (value: string) => {
    const res = await t.gql(PUBLISH, { input: [{ type: "DOMAIN", value, tlp: "GREEN" }] }, token);
    expect(res.errors).toBeUndefined();
  };
  /** A feed from the log's current position, so that what is published next is delivered. */
  const subscribe = async () => {
    const cursor = (await t.gql("{ eventLogCursor }", {}, token)).data.eventLogCursor;
    return recordFeed(client(), SUBSCRIBE, { after: cursor });
  };
  const restarts = () => gateway.logLines().filter((l) => l.msg === "shared subscription restarted").length;

  it("a short outage: the shared feed restarts and loses nothing", async () => {
    const feed = await subscribe();
    const first = `first-${P}.example`;
    await publish(first);
    await until("the feed to deliver", () => feed.has(first) || feed.state.ended);
    const before = restarts();
    await proxy.cut();
    const missed = `missed-${P}.example`;
    await publish(missed);
    await proxy.restore();
    const after = `after-${P}.example`;
    await until("a restart", () => restarts() > before || feed.state.ended);
    await publish(after);
    await until("the events of and after the outage", () => (feed.has(missed) && feed.has(after)) || feed.state.ended);
    expect(feed.state.errors).toEqual([]);
    expect(feed.values().filter((v) => v.endsWith(`${P}.example`))).toEqual([first, missed, after]);
    feed.stop();
  });

  it("an outage that lasts: restarts with backoff, then FEED_UNAVAILABLE and nothing else", async () => {
    const feed = await subscribe();
    const value = `before-cut-${P}.example`;
    await publish(value);
    await until("the feed to deliver", () => feed.has(value) || feed.state.ended);
    const before = restarts();
    await proxy.cut();
    await until("the feed to end", () => feed.state.ended, 20_000);
    expect(feed.state.errors.map((e) => e.extensions?.code)).toEqual(["FEED_UNAVAILABLE"]);
    expect(feed.state.errors[0].message).toMatch(/cursor/);
    expect(restarts() - before).toBe(3);
    await proxy.restore();
  });
});

describe("how an SSE subscription ends", () => {
  let t: TestHub;
  let gateway: HubProcess;
  const gatewayOver = (hub: TestHub, env: Record<string, string> = {}) =>
    spawnPart("gateway", {
      DATA_DIR: hub.dataDir,
      AUTH_CLOCK_SKEW_SECONDS: "0",
      SUBGRAPH_URLS: ["indicators", "directory", "incidents"].map((n) => `${n}=${hub.subgraphUrl(n)}`).join(","),
      ...env,
    });
  beforeAll(async () => {
    t = await startTestHub({ AUTH_CLOCK_SKEW_SECONDS: "0" });
    gateway = await gatewayOver(t);
  });
  afterAll(async () => {
    await gateway?.signal("SIGKILL");
    await t?.stop();
  });

  /** An SSE subscription to `url`: everything it receives, and when its stream ends. */
  async function sse(url: string, token: string, requestId: string) {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream", authorization: `Bearer ${token}`, "x-request-id": requestId },
      body: JSON.stringify({ query: SUBSCRIBE, variables: { after: null } }),
    });
    expect(res.status).toBe(200);
    const stream = { text: "", ended: false };
    void (async () => {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) stream.text += Buffer.from(chunk).toString();
    })()
      .catch(() => undefined)
      .finally(() => (stream.ended = true));
    return stream;
  }
  const errorsOf = (text: string) =>
    [...text.matchAll(/^event: next\ndata: (.*)$/gm)].map((m) => JSON.parse(m[1]!)).flatMap((p) => p.errors ?? []) as { message: string; extensions?: { code?: string } }[];

  it("at the gateway's stop: SERVICE_UNAVAILABLE, and the gateway does not wait for the stream", async () => {
    const own = await gatewayOver(t, { DRAIN_TIMEOUT_SECONDS: "300" });
    try {
      const token = await t.token(orgId("sse-stop"), "AGENCY", ["indicators:read"]);
      const stream = await sse(own.url, token, "sse-stop");
      expect(await own.signal("SIGTERM")).toBe(0);
      await until("the stream to end", () => stream.ended);
      expect(errorsOf(stream.text).map((e) => e.extensions?.code), stream.text).toEqual(["SERVICE_UNAVAILABLE"]);
      expect(stream.text).toMatch(/event: complete/);
    } finally {
      await own.signal("SIGKILL");
    }
  });

  it("at its token's expiry: UNAUTHENTICATED, and the request's log line counts it as an error", async () => {
    const org = orgId("sse-expiry");
    const token = await t.token(org, "AGENCY", ["indicators:read"], { ttlSeconds: 3 });
    const requestId = `sse-expiry-${org}`;
    const stream = await sse(gateway.url, token, requestId);
    // The token's exp is 3 s away; the stream must end well before the 36 s it used to take.
    await until("the stream to end", () => stream.ended, 13_000).catch(() => undefined);
    const text = stream.text;
    const errors = errorsOf(text);
    expect(errors.map((e) => e.extensions?.code), text).toEqual(["UNAUTHENTICATED"]);
    expect(errors[0].message).toMatch(/token expired/);
    expect(text).toMatch(/event: complete/);
    await until("the request's log line", () => gateway.logLines().some((l) => l.msg === "request" && l.requestId === requestId));
    const line = gateway.logLines().find((l) => l.msg === "request" && l.requestId === requestId)!;
    expect(line).toMatchObject({ outcome: "error", errors: 1 });
  });
});
