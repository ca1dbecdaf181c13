import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { createClient } from "graphql-ws";
import { base64url, exportJWK, generateKeyPair, importJWK, SignJWT, UnsecuredJWT, type JWK } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { orgId, startTestHub, type TestHub } from "./support/hub.js";

/**
 * Tokens the hub must refuse, and why it says it refuses them: at the gateway over HTTP and graphql-ws,
 * and straight at a subgraph (which verifies again, `_service` and `_entities` included).
 */

const ISSUER = "watchfloor-dev";
const AUDIENCE = "watchfloor";

interface RawResponse {
  status: number;
  text: string;
  body: any;
}

async function post(url: string, body: unknown, authorization?: string): Promise<RawResponse> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(authorization !== undefined ? { authorization } : {}) },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: any;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, text, body: parsed };
}

/** The one error of a refused request: no data, one error with this code and a message matching `why`. */
function expectRefused(res: RawResponse, code: string, why: RegExp) {
  expect(res.body, `not a JSON GraphQL response: ${res.text.slice(0, 300)}`).toBeTypeOf("object");
  expect(res.body.data ?? null, res.text).toBeNull();
  expect(res.body.errors, res.text).toHaveLength(1);
  const [error] = res.body.errors;
  expect(error.extensions?.code, res.text).toBe(code);
  expect(error.message, res.text).toMatch(why);
  expect(res.text).not.toMatch(/\bat \/|\.ts:\d|\.js:\d|stacktrace/);
}

/** What a graphql-ws client sees when the gateway closes its socket. */
async function wsClose(url: string, authorization?: string): Promise<{ code: number; reason: string; data: unknown }> {
  const client = createClient({
    url: url.replace(/^http/, "ws"),
    webSocketImpl: WebSocket,
    connectionParams: authorization === undefined ? {} : { authorization },
    retryAttempts: 0,
    lazy: true,
  });
  try {
    return await new Promise((resolve, reject) => {
      let data: unknown = null;
      const timer = setTimeout(() => reject(new Error("the socket was neither closed nor answered within 10 s")), 10_000);
      client.on("closed", (event) => {
        clearTimeout(timer);
        const e = event as { code: number; reason: string | Buffer };
        resolve({ code: e.code, reason: String(e.reason), data });
      });
      client.subscribe(
        { query: "{ viewer { org } }" },
        {
          next: (value) => {
            data = value;
          },
          error: () => undefined,
          complete: () => {
            clearTimeout(timer);
            resolve({ code: 0, reason: "completed", data });
          },
        },
      );
    });
  } finally {
    await client.dispose();
  }
}

describe("token verification", () => {
  let t: TestHub;
  const org = orgId("auth-cloud");
  let good: string;
  let privateJwk: JWK;
  let publicJwk: JWK;
  let indicatorId: string;

  /** A token signed with the hub's own development key, with these claims and header. */
  async function signed(claims: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
    const key = await importJWK(privateJwk, "ES256");
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ org, org_kind: "PROVIDER", scope: "indicators:read indicators:write", ...claims })
      .setProtectedHeader({ alg: "ES256", kid: privateJwk.kid, typ: "JWT", ...header })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject("auth-test")
      .setIssuedAt(now)
      .setExpirationTime(now + 600)
      .sign(key);
  }

  /** The good token with its payload changed and its signature kept. */
  function tampered(token: string): string {
    const [header, payload, signature] = token.split(".");
    const claims = JSON.parse(new TextDecoder().decode(base64url.decode(payload!)));
    claims.org = "someone-else";
    claims.scope = "admin indicators:read indicators:write";
    return [header, base64url.encode(JSON.stringify(claims)), signature].join(".");
  }

  const bad: Record<string, () => Promise<string>> = {};

  beforeAll(async () => {
    t = await startTestHub();
    good = await t.token(org, "PROVIDER", ["indicators:read", "indicators:write"]);
    privateJwk = JSON.parse(await readFile(join(t.dataDir, "keys", "dev-signing-key.json"), "utf8"));
    const jwks = JSON.parse(await readFile(join(t.dataDir, "keys", "dev-jwks.json"), "utf8"));
    publicJwk = jwks.keys[0];
    expect(publicJwk.kid).toBe(privateJwk.kid);

    const published = await t.gql(
      `mutation($input: [IndicatorInput!]!) { publishIndicators(input: $input) { results { indicator { id } } } }`,
      { input: [{ type: "IPV4", value: "198.51.100.77", tlp: "GREEN" }] },
      good,
    );
    expect(published.errors).toBeUndefined();
    indicatorId = published.data.publishIndicators.results[0].indicator.id;

    bad.expired = () => t.token(org, "PROVIDER", ["indicators:read"], { ttlSeconds: -120 });
    bad.badSignature = async () => tampered(good);
  });
  afterAll(() => t?.stop());

  const VIEWER = { query: "{ viewer { org } indicators(first: 1) { totalCount } }" };

  it("accepts the hub's own token (the control for every refusal below)", async () => {
    const res = await post(t.gatewayUrl, VIEWER, `Bearer ${good}`);
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.viewer.org).toBe(org);
    // A token crafted here with the same key and claims passes too, so the refusals are about the one change each makes.
    const crafted = await post(t.gatewayUrl, VIEWER, `Bearer ${await signed({})}`);
    expect(crafted.body.errors).toBeUndefined();
    expect(crafted.body.data.viewer.org).toBe(org);
  });

  describe("through the gateway over HTTP", () => {
    const cases: [string, () => Promise<string | undefined>, RegExp][] = [
      ["no Authorization header", async () => undefined, /missing bearer token/],
      ["an Authorization header that is not Bearer", async () => `Basic ${Buffer.from("a:b").toString("base64")}`, /must be 'Bearer <JWT>'/],
      ["an expired token", async () => `Bearer ${await bad.expired!()}`, /token expired/],
      [
        "a token not yet valid (nbf beyond the clock skew)",
        async () => `Bearer ${await t.token(org, "PROVIDER", ["indicators:read"], { notBeforeSeconds: 300 })}`,
        /token not yet valid/,
      ],
      ["the wrong audience", async () => `Bearer ${await t.token(org, "PROVIDER", ["indicators:read"], { audience: "someone-else" })}`, /wrong audience/],
      ["the wrong issuer", async () => `Bearer ${await t.token(org, "PROVIDER", ["indicators:read"], { issuer: "https://evil.example" })}`, /wrong issuer/],
      ["a tampered payload", async () => `Bearer ${await bad.badSignature!()}`, /token signature is invalid/],
      [
        "another ES256 key under the same kid",
        async () => {
          const { privateKey } = await generateKeyPair("ES256");
          const now = Math.floor(Date.now() / 1000);
          const token = await new SignJWT({ org, org_kind: "PROVIDER", scope: "indicators:read" })
            .setProtectedHeader({ alg: "ES256", kid: privateJwk.kid })
            .setIssuer(ISSUER)
            .setAudience(AUDIENCE)
            .setSubject("forger")
            .setIssuedAt(now)
            .setExpirationTime(now + 600)
            .sign(privateKey);
          return `Bearer ${token}`;
        },
        /token signature is invalid/,
      ],
      [
        "alg: none",
        async () => {
          const token = new UnsecuredJWT({ org, org_kind: "PROVIDER", scope: "indicators:read" })
            .setIssuer(ISSUER)
            .setAudience(AUDIENCE)
            .setSubject("forger")
            .setIssuedAt()
            .setExpirationTime("10m")
            .encode();
          return `Bearer ${token}`;
        },
        /token signing algorithm is not allowed/,
      ],
      [
        "HS256 keyed with the public key's bytes",
        async () => {
          const secret = new TextEncoder().encode(JSON.stringify(publicJwk));
          const now = Math.floor(Date.now() / 1000);
          const token = await new SignJWT({ org, org_kind: "PROVIDER", scope: "indicators:read" })
            .setProtectedHeader({ alg: "HS256", kid: publicJwk.kid })
            .setIssuer(ISSUER)
            .setAudience(AUDIENCE)
            .setSubject("forger")
            .setIssuedAt(now)
            .setExpirationTime(now + 600)
            .sign(secret);
          return `Bearer ${token}`;
        },
        /token signing algorithm is not allowed/,
      ],
      ["an unknown kid", async () => `Bearer ${await signed({}, { kid: "no-such-key" })}`, /token signing key \(kid\) is unknown/],
      ["a malformed token", async () => "Bearer not.a.jwt", /token is malformed/],
      ["an invalid org claim", async () => `Bearer ${await signed({ org: "Not An Org!" })}`, /claim 'org' is missing or invalid/],
      ["a missing org claim", async () => `Bearer ${await signed({ org: undefined })}`, /claim 'org' is missing or invalid/],
      ["an invalid org_kind claim", async () => `Bearer ${await signed({ org_kind: "EMPEROR" })}`, /claim 'org_kind' must be one of PROVIDER, RESELLER, AGENCY, OPERATOR/],
      ["a scope claim that is not a string", async () => `Bearer ${await signed({ scope: ["admin"] })}`, /claim 'scope' must be a string/],
      [
        "a token without sub",
        async () => {
          const key = await importJWK(privateJwk, "ES256");
          const now = Math.floor(Date.now() / 1000);
          const token = await new SignJWT({ org, org_kind: "PROVIDER", scope: "indicators:read" })
            .setProtectedHeader({ alg: "ES256", kid: privateJwk.kid })
            .setIssuer(ISSUER)
            .setAudience(AUDIENCE)
            .setIssuedAt(now)
            .setExpirationTime(now + 600)
            .sign(key);
          return `Bearer ${token}`;
        },
        /claim 'sub' is missing or invalid/,
      ],
    ];

    for (const [name, make, why] of cases) {
      it(`refuses ${name}`, async () => {
        const res = await post(t.gatewayUrl, VIEWER, await make());
        expectRefused(res, "UNAUTHENTICATED", why);
      });
    }

    it("answers a caller without a valid token before validating, so the schema cannot be probed", async () => {
      for (const token of [undefined, "Bearer not.a.jwt"]) {
        const probe = await post(t.gatewayUrl, { query: "{ noSuchField }" }, token);
        expect(probe.status).toBe(401);
        expectRefused(probe, "UNAUTHENTICATED", /token/);
        expect(JSON.stringify(probe.body)).not.toContain("noSuchField");
      }
      const withToken = await post(t.gatewayUrl, { query: "{ noSuchField }" }, `Bearer ${good}`);
      expect(JSON.stringify(withToken.body)).toContain("noSuchField");
    });

    it("refuses a mutation with a forged token and stores nothing", async () => {
      const forged = tampered(good);
      const res = await post(
        t.gatewayUrl,
        {
          query: `mutation($input: [IndicatorInput!]!) { publishIndicators(input: $input) { published } }`,
          variables: { input: [{ type: "IPV4", value: "203.0.113.201", tlp: "GREEN" }] },
        },
        `Bearer ${forged}`,
      );
      expectRefused(res, "UNAUTHENTICATED", /token signature is invalid/);
      const lookup = await t.gql(`query($v: [String!]!) { lookupIndicators(values: $v) { id } }`, { v: ["203.0.113.201"] }, good);
      expect(lookup.errors).toBeUndefined();
      expect(lookup.data.lookupIndicators).toEqual([]);
    });
  });

  describe("through the gateway over graphql-ws", () => {
    it("answers a good token (the control)", async () => {
      const outcome = await wsClose(t.gatewayUrl, `Bearer ${good}`);
      expect(outcome.code).toBe(0);
      expect(outcome.data).toEqual({ data: { viewer: { org } } });
    });

    const cases: [string, () => Promise<string | undefined>, RegExp][] = [
      ["no token", async () => undefined, /missing bearer token/],
      ["an expired token", async () => `Bearer ${await bad.expired!()}`, /token expired/],
      ["a bad signature", async () => `Bearer ${await bad.badSignature!()}`, /token signature is invalid/],
    ];
    for (const [name, make, why] of cases) {
      it(`closes the socket with 4403 for ${name}`, async () => {
        const outcome = await wsClose(t.gatewayUrl, await make());
        expect(outcome.data).toBeNull();
        expect(outcome.code).toBe(4403);
        expect(outcome.reason).toMatch(why);
      });
    }
  });

  describe("straight to the indicators subgraph over HTTP", () => {
    const SERVICE = { query: "{ _service { sdl } }" };
    const ENTITIES = () => ({
      query: `query($r: [_Any!]!) { _entities(representations: $r) { ... on Indicator { id value owner } } }`,
      variables: { r: [{ __typename: "Indicator", id: indicatorId }] },
    });
    const QUERY = { query: "{ indicators(first: 5) { totalCount edges { node { id value } } } }" };

    it("answers a good token (the control); _service to an operator's token", async () => {
      const url = t.subgraphUrl("indicators");
      const operator = await t.token(orgId("auth-operator"), "OPERATOR", ["admin"]);
      const service = await post(url, SERVICE, `Bearer ${operator}`);
      expect(service.body.errors).toBeUndefined();
      expect(service.body.data._service.sdl).toContain("type Indicator");
      const entities = await post(url, ENTITIES(), `Bearer ${good}`);
      expect(entities.body.errors).toBeUndefined();
      expect(entities.body.data._entities).toEqual([{ id: indicatorId, value: "198.51.100.77", owner: org }]);
      const list = await post(url, QUERY, `Bearer ${good}`);
      expect(list.body.errors).toBeUndefined();
      expect(list.body.data.indicators.totalCount).toBeGreaterThanOrEqual(1);
    });

    // The schema of a subgraph is the operators' to read (the gateway composes from schema/*.graphql
    // and never asks): a member's valid token is refused, whatever else it may do.
    it("refuses _service { sdl } to a valid token without the admin scope, on every subgraph, over HTTP and graphql-ws", async () => {
      const member = await t.token(org, "PROVIDER", ["indicators:read", "indicators:write", "incidents:read", "incidents:write"]);
      const none = await t.token(orgId("auth-noscope"), "PROVIDER", []);
      for (const subgraph of ["indicators", "incidents", "directory"]) {
        for (const token of [member, none]) {
          const res = await post(t.subgraphUrl(subgraph), SERVICE, `Bearer ${token}`);
          expectRefused(res, "FORBIDDEN", /'admin'/);
          expect(res.text, subgraph).not.toMatch(/type (Indicator|Incident|Organization)\b/);
        }
        const client = t.ws(member, t.subgraphUrl(subgraph));
        const errors: any[] = [];
        let data: unknown;
        await new Promise<void>((resolve) =>
          client.subscribe(SERVICE, {
            next: (value) => {
              data = value.data;
              errors.push(...(value.errors ?? []));
            },
            error: (err) => {
              errors.push(...(Array.isArray(err) ? err : [err]));
              resolve();
            },
            complete: resolve,
          }),
        );
        await client.dispose();
        expect(data ?? null, subgraph).toBeNull();
        expect(errors.map((e) => e.extensions?.code), `${subgraph}: ${JSON.stringify(errors)}`).toEqual(["FORBIDDEN"]);
      }
    });

    const cases: [string, () => Promise<string | undefined>, RegExp][] = [
      ["no token", async () => undefined, /missing bearer token/],
      ["an expired token", async () => `Bearer ${await bad.expired!()}`, /token expired/],
      ["a bad signature", async () => `Bearer ${await bad.badSignature!()}`, /token signature is invalid/],
    ];
    for (const [name, make, why] of cases) {
      for (const [what, body] of [
        ["a query", () => QUERY],
        ["_service { sdl }", () => SERVICE],
        ["_entities", ENTITIES],
      ] as const) {
        it(`refuses ${what} with ${name}`, async () => {
          const res = await post(t.subgraphUrl("indicators"), body(), await make());
          expectRefused(res, "UNAUTHENTICATED", why);
          expect(res.text).not.toContain("198.51.100.77");
          expect(res.text).not.toContain("type Indicator");
        });
      }
    }
  });

  describe("scopes", () => {
    it("refuses publishIndicators without indicators:write with FORBIDDEN naming the scope, and stores nothing", async () => {
      const readOnlyOrg = orgId("auth-reader");
      const readOnly = await t.token(readOnlyOrg, "PROVIDER", ["indicators:read"]);
      const res = await post(
        t.gatewayUrl,
        {
          query: `mutation($input: [IndicatorInput!]!) { publishIndicators(input: $input) { published results { indicator { id } } } }`,
          variables: { input: [{ type: "DOMAIN", value: "scope-test.example.org", tlp: "GREEN" }] },
        },
        `Bearer ${readOnly}`,
      );
      expectRefused(res, "FORBIDDEN", /'indicators:write'/);
      const stored = await t.gql(
        `query($f: IndicatorFilter) { indicators(filter: $f) { totalCount } }`,
        { f: { owner: readOnlyOrg, includeRevoked: true } },
        good,
      );
      expect(stored.errors).toBeUndefined();
      expect(stored.data.indicators.totalCount).toBe(0);
      const lookup = await t.gql(`query($v: [String!]!) { lookupIndicators(values: $v) { id } }`, { v: ["scope-test.example.org"] }, good);
      expect(lookup.data.lookupIndicators).toEqual([]);
    });

    it("refuses reads without indicators:read with FORBIDDEN naming the scope", async () => {
      const none = await t.token(orgId("auth-noscope"), "PROVIDER", []);
      const res = await post(t.gatewayUrl, { query: "{ indicators(first: 1) { totalCount } }" }, `Bearer ${none}`);
      expectRefused(res, "FORBIDDEN", /'indicators:read'/);
    });
  });
});
