import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { until } from "./support/wait.js";
import { deadUrl, fakeSubgraph, spawnPart, type FakeSubgraph, type HubProcess } from "./support/process.js";

/**
 * A subgraph that is down, or answers HTTP 5xx or garbage: the client learns which subgraph is
 * unavailable and that it may retry, and nothing else (no internal address, no echo of its request,
 * no upstream body); the detail goes to the log, without the request's values.
 */

const PUBLISH = "mutation($in: [IndicatorInput!]!) { publishIndicators(input: $in) { published failed } }";
const batch = Array.from({ length: 500 }, (_, i) => ({ type: "IPV4", value: `198.51.${Math.floor(i / 250)}.${i % 250}`, tlp: "AMBER" }));
/** What must never reach a client: addresses, Node's and Hive's words for transport failures, the request. */
const LEAKS = /ECONNREFUSED|127\.0\.0\.1|socket hang up|Unexpected response|boom|\/srv\/|"request"|"response"|198\.51\.|stack|relation "/;

describe("a subgraph that fails under the gateway", () => {
  let gateway: HubProcess;
  let indicators: FakeSubgraph;
  let token: string;

  beforeAll(async () => {
    indicators = await fakeSubgraph();
    gateway = await spawnPart("gateway", { SUBGRAPH_URLS: `indicators=${indicators.url},directory=${await deadUrl()},incidents=${await deadUrl()}` });
    token = await gateway.token("upstream-cloud", "PROVIDER", ["indicators:read", "indicators:write"]);
  });
  afterAll(async () => {
    await gateway?.signal("SIGKILL");
    await indicators?.close().catch(() => undefined);
  });

  async function send(query: string, variables?: Record<string, unknown>) {
    const res = await fetch(gateway.url, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: JSON.stringify({ query, variables }) });
    const text = await res.text();
    return { status: res.status, text, body: JSON.parse(text) };
  }

  /** The first leak found in a response (its whole text would bury the report under a 500-item echo). */
  const leak = (text: string) => LEAKS.exec(text)?.[0];

  async function expectUnavailable(res: { text: string; body: any }) {
    expect(leak(res.text), res.text.slice(0, 300)).toBeUndefined();
    const [error] = res.body.errors;
    expect(error.extensions, res.text).toMatchObject({ code: "SUBGRAPH_UNAVAILABLE", serviceName: "indicators" });
    expect(error.message).toMatch(/indicators/);
    expect(error.message).toMatch(/retr/i);
    expect(Object.keys(error.extensions).sort()).toEqual(["code", "correlationId", "serviceName"]);
    // The operators find the detail under the same id, and never the request's values.
    await until("the log line with the correlation id", () => gateway.logLines().some((l) => l.correlationId === error.extensions.correlationId));
  }

  it("down (connection refused): SUBGRAPH_UNAVAILABLE, nothing of the 500-item batch echoed", async () => {
    await indicators.close();
    try {
      await expectUnavailable(await send(PUBLISH, { in: batch }));
      await expectUnavailable(await send("{ indicators(first: 1) { totalCount } }"));
    } finally {
      await indicators.listen();
    }
  });

  it("a subgraph on another port refused too (directory): named in serviceName", async () => {
    const res = await send("{ viewer { org } }");
    expect(leak(res.text), res.text.slice(0, 300)).toBeUndefined();
    expect(res.body.errors[0].extensions).toMatchObject({ code: "SUBGRAPH_UNAVAILABLE", serviceName: "directory" });
  });

  const answers: Record<string, FakeSubgraph["handle"]> = {
    "HTTP 500 with an HTML page": (_req, res) => void res.writeHead(500, { "content-type": "text/html" }).end("<html>boom at /srv/app.js:12</html>"),
    "HTTP 502 without a body": (_req, res) => void res.writeHead(502).end(),
    "HTTP 503 with a JSON error": (_req, res) => void res.writeHead(503, { "content-type": "application/json" }).end('{"message":"boom"}'),
    "HTTP 200 with garbage": (_req, res) => void res.writeHead(200, { "content-type": "application/json" }).end("{not json"),
    "HTTP 200 with neither data nor errors": (_req, res) => void res.writeHead(200, { "content-type": "application/json" }).end("{}"),
    "a connection reset": (req) => void req.socket.destroy(),
  };
  for (const [what, handle] of Object.entries(answers)) {
    it(`answering ${what}: SUBGRAPH_UNAVAILABLE`, async () => {
      indicators.handle = handle;
      await expectUnavailable(await send(PUBLISH, { in: batch }));
    });
  }

  it("answering an error without a code (not one of the hub's): masked as an internal error", async () => {
    indicators.handle = (_req, res) =>
      void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ data: null, errors: [{ message: 'relation "indicators.indicator" does not exist at /srv/app.js:12' }] }));
    const res = await send("{ indicators(first: 1) { totalCount } }");
    expect(leak(res.text), res.text.slice(0, 300)).toBeUndefined();
    expect(res.body.errors[0].extensions).toMatchObject({ code: "INTERNAL_SERVER_ERROR" });
    expect(res.body.errors[0].message).toMatch(/quote reference/);
  });

  it("writes no value of a request into the log", () => {
    expect(/198\.51\./.exec(gateway.output())?.[0]).toBeUndefined();
    expect(gateway.output()).not.toContain(token);
  });
});
