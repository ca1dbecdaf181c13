import { readFile } from "node:fs/promises";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { importJWK, SignJWT, type JWK } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { orgId, startTestHub, type TestHub } from "./support/hub.js";
import { sleep, until } from "./support/wait.js";

/**
 * The limits an attacker meets at the gateway and, reaching around it, at a subgraph: aliases of
 * `__typename`, list sizes (refused before anything runs), the request id, a token's lifetime, and
 * clients that send their request slowly or hold many connections.
 */

async function post(url: string, body: unknown, token: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}`, ...headers }, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: JSON.parse(text) };
}

describe("limits on operations", () => {
  let t: TestHub;
  let token: string;
  beforeAll(async () => {
    // The list cap pinned at 5,000, under the token limit, so a literal list over it reaches the list check.
    t = await startTestHub({ MAX_LIST_VALUES: "5000" });
    token = await t.token(orgId("limits"), "PROVIDER", ["indicators:read", "indicators:write"]);
  });
  afterAll(() => t?.stop());

  it("counts aliases of __typename: 3,000 of them are refused at the gateway, 31 at a subgraph", async () => {
    const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: __typename`).join(" ")} }`;
    const gateway = await post(t.gatewayUrl, { query: aliases(3000) }, token);
    expect(gateway.body.data ?? null, gateway.text.slice(0, 300)).toBeNull();
    expect(gateway.body.errors[0].extensions.code).toBe("LIMIT_EXCEEDED");
    expect(gateway.body.errors[0].message).toMatch(/Aliases limit of 15 exceeded, found 3000/);
    const subgraph = await post(t.subgraphUrl("indicators"), { query: aliases(31) }, token);
    expect(subgraph.body.data ?? null, subgraph.text.slice(0, 300)).toBeNull();
    expect(subgraph.body.errors?.[0]?.message).toMatch(/Aliases limit of 30 exceeded, found 31/);
    expect((await post(t.gatewayUrl, { query: aliases(15) }, token)).body.errors).toBeUndefined();
  });

  const LOOKUP = "query($v: [String!]!) { lookupIndicators(values: $v) { id } }";
  const PUBLISH = "mutation($in: [IndicatorInput!]!) { publishIndicators(input: $in) { published } }";
  /** Refused before execution: no `data` at all (an execution error has `data` and a `path`). */
  function expectRefusedBeforeExecution(res: { text: string; body: any }, field: string) {
    expect("data" in res.body, res.text.slice(0, 300)).toBe(false);
    const [error] = res.body.errors;
    expect(error.extensions, res.text.slice(0, 300)).toMatchObject({ code: "BAD_USER_INPUT", field });
    expect(error.message).toMatch(new RegExp(`^${field.replace(/[[\].]/g, "\\$&")}: at most 5000 values`));
    expect(error.path).toBeUndefined();
  }

  for (const [where, url] of [
    ["the gateway", () => t.gatewayUrl],
    ["a subgraph", () => t.subgraphUrl("indicators")],
  ] as const) {
    it(`refuses a list over its cap before executing anything, at ${where}: a variable, a literal, a nested list`, async () => {
      const values = Array.from({ length: 200_000 }, (_, i) => String(i % 10));
      expectRefusedBeforeExecution(await post(url(), { query: LOOKUP, variables: { v: values } }, token), "values");
      const literal = `{ lookupIndicators(values: [${Array.from({ length: 5001 }, () => '"x"').join(",")}]) { id } }`;
      expectRefusedBeforeExecution(await post(url(), { query: literal }, token), "values");
      const nested = [{ type: "IPV4", value: "192.0.2.1", tlp: "AMBER" }, { type: "IPV4", value: "192.0.2.2", tlp: "AMBER", sharedWith: Array.from({ length: 5001 }, (_, i) => `org-${i}`) }];
      expectRefusedBeforeExecution(await post(url(), { query: PUBLISH, variables: { in: nested } }, token), "input[1].sharedWith");
      const at = await post(url(), { query: LOOKUP, variables: { v: values.slice(0, 1000) } }, token);
      expect(at.body.errors, at.text.slice(0, 300)).toBeUndefined();
    });
  }

  it("replaces an x-request-id that is too long or has odd characters with one of its own, and keeps a good one", async () => {
    for (const bad of ["a".repeat(129), "id with spaces", "id<script>", "ü-id"]) {
      const res = await post(t.gatewayUrl, { query: "{ viewer { org } }" }, token, { "x-request-id": bad });
      const echoed = res.headers.get("x-request-id");
      expect(echoed, bad).not.toBe(bad);
      expect(echoed).toMatch(/^[0-9a-f-]{36}$/);
    }
    const good = "trace-1234.abc:DEF_5";
    expect((await post(t.gatewayUrl, { query: "{ viewer { org } }" }, token, { "x-request-id": good })).headers.get("x-request-id")).toBe(good);
  });
});

describe("a token's lifetime", () => {
  let t: TestHub;
  let key: CryptoKey;
  let kid: string;
  const org = orgId("lifetime");
  beforeAll(async () => {
    t = await startTestHub({ AUTH_MAX_TOKEN_LIFETIME_SECONDS: "3600" });
    const jwk = JSON.parse(await readFile(join(t.dataDir, "keys", "dev-signing-key.json"), "utf8")) as JWK;
    kid = jwk.kid!;
    key = (await importJWK(jwk, "ES256")) as CryptoKey;
  });
  afterAll(() => t?.stop());

  /** A token of the development issuer with this `iat` (none: left out) and `exp`. */
  function signed(iat: number | null, exp: number) {
    const jwt = new SignJWT({ org, org_kind: "PROVIDER", scope: "indicators:read" })
      .setProtectedHeader({ alg: "ES256", kid })
      .setIssuer("watchfloor-dev")
      .setAudience("watchfloor")
      .setSubject("lifetime-test")
      .setExpirationTime(exp);
    if (iat !== null) jwt.setIssuedAt(iat);
    return jwt.sign(key);
  }

  const now = () => Math.floor(Date.now() / 1000);
  const cases: Record<string, () => Promise<string>> = {
    "exp: 1e300": () => signed(now(), 1e300),
    "a lifetime one second over AUTH_MAX_TOKEN_LIFETIME_SECONDS": () => signed(now(), now() + 3601),
    "no iat": () => signed(null, now() + 600),
    "an iat far in the future (a lifetime that starts later)": () => signed(now() + 7200, now() + 7300),
  };
  for (const [what, make] of Object.entries(cases)) {
    it(`refuses a token with ${what}: 401 UNAUTHENTICATED at the gateway and at a subgraph`, async () => {
      const token = await make();
      for (const url of [t.gatewayUrl, t.subgraphUrl("directory")]) {
        const res = await post(url, { query: "{ viewer { org expiresAt } }" }, token);
        expect(res.status, `${url}: ${res.text}`).toBe(401);
        expect(res.body.errors[0].extensions.code).toBe("UNAUTHENTICATED");
        expect(res.body.errors[0].message).toMatch(/token/);
      }
    });
  }

  it("accepts a token of exactly the longest lifetime", async () => {
    const res = await post(t.gatewayUrl, { query: "{ viewer { org } }" }, await signed(now(), now() + 3600));
    expect(res.body.errors, res.text).toBeUndefined();
  });
});

/** A raw HTTP client on one socket: what it has received, and whether the server has closed it. */
async function rawClient(url: string) {
  const { hostname, port } = new URL(url);
  const socket: Socket = connect(Number(port), hostname);
  const state = { received: "", closed: false };
  socket.on("data", (c) => (state.received += c));
  // The server ending its side (FIN) or the whole socket: either way it is done with this client.
  socket.on("end", () => (state.closed = true));
  socket.on("close", () => (state.closed = true));
  socket.on("error", () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("error", reject);
  });
  return { socket, state };
}

/** Writes `text` a byte every 100 ms until it is all sent or the server closes the socket. */
async function dribble(client: Awaited<ReturnType<typeof rawClient>>, text: string): Promise<"closed" | "sent"> {
  for (const byte of text) {
    if (client.state.closed) return "closed";
    client.socket.write(byte);
    await sleep(100);
  }
  return client.state.closed ? "closed" : "sent";
}

describe("slow and greedy clients", () => {
  let t: TestHub;
  let token: string;
  beforeAll(async () => {
    t = await startTestHub({ HTTP_HEADERS_TIMEOUT_SECONDS: "1", HTTP_REQUEST_TIMEOUT_SECONDS: "2", HTTP_MAX_REQUESTS_PER_SOCKET: "2", HTTP_MAX_CONNECTIONS: "20" });
    token = await t.token(orgId("slow"), "PROVIDER", ["indicators:read"]);
  });
  afterAll(() => t?.stop());

  for (const [where, url] of [
    ["the gateway", () => t.gatewayUrl],
    ["a subgraph", () => t.subgraphUrl("indicators")],
  ] as const) {
    it(`closes a connection that sends its headers a byte at a time, at ${where} (408)`, async () => {
      const { host, pathname } = new URL(url());
      const client = await rawClient(url());
      const headers = `POST ${pathname} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nAuthorization: Bearer ${token.slice(0, 40)}`;
      // The headers take 10 s or more at this pace; the server must give up on them first.
      expect(await dribble(client, headers.padEnd(120, "x"))).toBe("closed");
      expect(client.state.received).toMatch(/^HTTP\/1\.1 408/);
    });

    it(`closes a connection that sends its body a byte at a time, at ${where} (408)`, async () => {
      const { host, pathname } = new URL(url());
      const body = JSON.stringify({ query: `{ indicators(first: 1) { totalCount } }`, variables: { pad: "x".repeat(100) } });
      const client = await rawClient(url());
      client.socket.write(`POST ${pathname} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nAuthorization: Bearer ${token}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`);
      expect(await dribble(client, body)).toBe("closed");
      expect(client.state.received).toMatch(/^HTTP\/1\.1 408/);
    });
  }

  it("closes a keep-alive connection after HTTP_MAX_REQUESTS_PER_SOCKET requests", async () => {
    const client = await rawClient(t.gatewayUrl);
    const { host } = new URL(t.gatewayUrl);
    // An answer's status line follows the previous answer's body on the same line.
    const answers = () => client.state.received.match(/HTTP\/1\.1 \d{3} /g)?.length ?? 0;
    for (let i = 1; i <= 2; i++) {
      client.socket.write(`GET /nothing-here HTTP/1.1\r\nHost: ${host}\r\nConnection: keep-alive\r\n\r\n`);
      await until(`answer ${i}`, () => answers() >= i || client.state.closed);
    }
    const [first, second] = client.state.received.split(/(?=HTTP\/1\.1 \d{3} )/);
    expect(first).toMatch(/^HTTP\/1\.1 404/);
    expect(first).toMatch(/^connection: keep-alive/im);
    expect(second).toMatch(/^HTTP\/1\.1 404/);
    expect(second).toMatch(/^connection: close/im);
    // Node keeps the socket open a moment, but serves nothing more on it.
    client.socket.write(`GET /nothing-here HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
    await until("a third answer or the close", () => answers() >= 3 || client.state.closed);
    expect(client.state.received.split(/(?=HTTP\/1\.1 \d{3} )/)[2] ?? "closed").not.toMatch(/^HTTP\/1\.1 404/);
    client.socket.destroy();
  });

  it("closes connections beyond HTTP_MAX_CONNECTIONS at once", async () => {
    const clients: Awaited<ReturnType<typeof rawClient>>[] = [];
    for (let i = 0; i < 21; i++) clients.push(await rawClient(t.gatewayUrl));
    await until("a connection beyond the cap to be closed", () => clients.some((c) => c.state.closed));
    expect(clients.filter((c) => c.state.closed).every((c) => c.state.received === "")).toBe(true);
    for (const c of clients) c.socket.destroy();
  });
});
