import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "graphql-ws";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { orgId, startTestHub, type TestHub, PRODUCTION_KEYS } from "./support/hub.js";

/**
 * What an attacker without a token, or with one but without introspection, can learn of the schema in
 * production: nothing. No request without a valid token is parsed, and no error suggests a name.
 */

const ISSUER = "https://idp.watchfloor.test";
const AUDIENCE = "watchfloor-prod";

async function idp() {
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: "idp-edge", alg: "ES256", use: "sig" };
  const dir = await mkdtemp(join(tmpdir(), "watchfloor-idp-"));
  const jwksFile = join(dir, "jwks.json");
  await writeFile(jwksFile, JSON.stringify({ keys: [jwk] }));
  return { privateKey, jwksFile };
}

function sign(key: CryptoKey, org: string, scopes: string) {
  return new SignJWT({ org, org_kind: "PROVIDER", scope: scopes })
    .setProtectedHeader({ alg: "ES256", kid: "idp-edge" })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject(`${org}-analyst`)
    .setIssuedAt()
    .setExpirationTime("10m")
    .sign(key);
}

/** Every kind of misspelling graphql-js answers with a suggestion: a query, its variables. */
const MISSPELT: Record<string, { query: string; variables?: Record<string, unknown> }> = {
  field: { query: "{ indicatr(id: \"x\") { id } }" },
  "field of a type": { query: "{ indicators(first: 1) { totalCont } }" },
  argument: { query: "{ indicators(frist: 1) { totalCount } }" },
  "input field (literal)": { query: "{ indicators(filter: { tpyes: [IPV4] }) { totalCount } }" },
  "input field (variable)": { query: "query($f: IndicatorFilter) { indicators(filter: $f) { totalCount } }", variables: { f: { tpyes: ["IPV4"] } } },
  "enum value (literal)": { query: "{ indicators(filter: { tlp: [GRENE] }) { totalCount } }" },
  "enum value (variable)": { query: "query($f: IndicatorFilter) { indicators(filter: $f) { totalCount } }", variables: { f: { tlp: ["GRENE"] } } },
  "type of a variable": { query: "query($f: IndicatorFiltr) { indicators(filter: $f) { totalCount } }", variables: {} },
};

async function post(url: string, body: unknown, token: string) {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
  return { status: res.status, text: await res.text() };
}

/** The errors of one operation over graphql-ws. */
async function overWs(url: string, token: string, query: string, variables?: Record<string, unknown>): Promise<string> {
  const client = createClient({ url: url.replace(/^http/, "ws"), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, retryAttempts: 0, lazy: true });
  try {
    return await new Promise<string>((resolve) => {
      const seen: unknown[] = [];
      client.subscribe(
        { query, variables },
        {
          next: (value) => void seen.push(value),
          error: (err) => resolve(JSON.stringify([...seen, err])),
          complete: () => resolve(JSON.stringify(seen)),
        },
      );
    });
  } finally {
    await client.dispose();
  }
}

describe("production: a request without a valid token is never parsed", () => {
  let t: TestHub;
  beforeAll(async () => {
    const { jwksFile } = await idp();
    t = await startTestHub({ NODE_ENV: "production", AUTH_JWKS_FILE: jwksFile, AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: AUDIENCE, ...PRODUCTION_KEYS });
  });
  afterAll(() => t?.stop());

  const url = () => `${t.gatewayUrl}?query=${encodeURIComponent("{ incidnt { id } }")}`;
  const cases: Record<string, () => RequestInit> = {
    "GET accepting HTML (as a browser asks for GraphiQL)": () => ({ method: "GET", headers: { accept: "text/html, application/json" } }),
    "GET accepting HTML only": () => ({ method: "GET", headers: { accept: "text/html" } }),
    "GET accepting anything": () => ({ method: "GET", headers: { accept: "*/*" } }),
    "GET accepting an event stream": () => ({ method: "GET", headers: { accept: "text/event-stream" } }),
    "POST as text/plain": () => ({ method: "POST", headers: { "content-type": "text/plain" }, body: JSON.stringify({ query: "{ incidnt { id } }" }) }),
    "POST as a form": () => ({ method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "query=%7B%20incidnt%20%7B%20id%20%7D%20%7D" }),
  };
  for (const [name, init] of Object.entries(cases)) {
    it(`answers 401 UNAUTHENTICATED to a ${name}, and names nothing of the schema`, async () => {
      const res = await fetch(url(), init());
      const text = await res.text();
      expect(res.status, text).toBe(401);
      expect(text).not.toMatch(/incident|Did you mean|Cannot query/);
      expect(JSON.parse(text).errors[0].extensions.code).toBe("UNAUTHENTICATED");
    });
  }
});

describe("production: no error suggests a name of the schema", () => {
  let t: TestHub;
  let token: string;
  beforeAll(async () => {
    const { privateKey, jwksFile } = await idp();
    t = await startTestHub({ NODE_ENV: "production", AUTH_JWKS_FILE: jwksFile, AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: AUDIENCE, ...PRODUCTION_KEYS });
    token = await sign(privateKey, orgId("edge-prod"), "indicators:read");
  });
  afterAll(() => t?.stop());

  for (const [kind, { query, variables }] of Object.entries(MISSPELT)) {
    it(`refuses a misspelt ${kind} without a suggestion, at the gateway and at a subgraph (HTTP and graphql-ws)`, async () => {
      for (const url of [t.gatewayUrl, t.subgraphUrl("indicators")]) {
        const res = await post(url, { query, variables }, token);
        const body = JSON.parse(res.text);
        expect(body.errors?.length, `${url}: ${res.text}`).toBeGreaterThan(0);
        expect(body.errors[0].extensions?.code, `${url}: ${res.text}`).toMatch(/^(GRAPHQL_VALIDATION_FAILED|BAD_USER_INPUT)$/);
        expect(res.text, url).not.toMatch(/Did you mean/);
        const ws = await overWs(url, token, query, variables);
        expect(ws, `${url} (ws)`).toMatch(/"message"/);
        expect(ws, `${url} (ws)`).not.toMatch(/Did you mean/);
      }
    });
  }
});

describe("production: a malformed request learns only that it is malformed", () => {
  let t: TestHub;
  let token: string;
  beforeAll(async () => {
    const { privateKey, jwksFile } = await idp();
    t = await startTestHub({ NODE_ENV: "production", AUTH_JWKS_FILE: jwksFile, AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: AUDIENCE, ...PRODUCTION_KEYS });
    token = await sign(privateKey, orgId("edge-json"), "indicators:read");
  });
  afterAll(() => t?.stop());

  it("answers a body that is not JSON with 400 BAD_REQUEST, without the parser's exception", async () => {
    for (const url of [t.gatewayUrl, t.subgraphUrl("indicators")]) {
      const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: '{"query": nope' });
      const text = await res.text();
      expect(res.status, text).toBe(400);
      const [error] = JSON.parse(text).errors;
      expect(error.extensions, text).toEqual({ code: "BAD_REQUEST" });
      expect(text).not.toMatch(/SyntaxError|position|nope/);
    }
  });
});

describe("development: suggestions help whoever writes the queries", () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startTestHub();
  });
  afterAll(() => t?.stop());

  it("suggests the field meant", async () => {
    const token = await t.token(orgId("edge-dev"), "PROVIDER", ["indicators:read"]);
    const res = await post(t.gatewayUrl, MISSPELT.field, token);
    expect(JSON.parse(res.text).errors[0].message).toMatch(/Did you mean "indicator"/);
  });
});
