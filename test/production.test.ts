import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { writeFile, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureDevKeys } from "../src/auth/dev-keys.js";
import { orgId, PRODUCTION_KEYS, startTestHub, type TestHub } from "./support/hub.js";

const ISSUER = "https://idp.watchfloor.test";
const AUDIENCE = "watchfloor-prod";

async function idpKey() {
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: "idp-1", alg: "ES256", use: "sig" };
  return { privateKey, jwks: { keys: [jwk] } };
}

function sign(key: CryptoKey, org: string, scopes: string, overrides: { iss?: string; aud?: string } = {}) {
  return new SignJWT({ org, org_kind: "AGENCY", scope: scopes })
    .setProtectedHeader({ alg: "ES256", kid: "idp-1" })
    .setIssuer(overrides.iss ?? ISSUER)
    .setAudience(overrides.aud ?? AUDIENCE)
    .setSubject(`${org}-analyst`)
    .setIssuedAt()
    .setExpirationTime("10m")
    .sign(key);
}

const INTROSPECT = "{ __schema { queryType { name } } }";

describe("production: the identity provider's JWKS, no development issuer, no introspection", () => {
  let t: TestHub;
  let key: CryptoKey;
  const org = orgId("prod-agency");

  beforeAll(async () => {
    const idp = await idpKey();
    key = idp.privateKey;
    const dir = await mkdtemp(join(tmpdir(), "watchfloor-idp-"));
    const jwksFile = join(dir, "jwks.json");
    await writeFile(jwksFile, JSON.stringify(idp.jwks));
    t = await startTestHub({
      NODE_ENV: "production",
      AUTH_JWKS_FILE: jwksFile,
      AUTH_ISSUER: ISSUER,
      AUTH_AUDIENCE: AUDIENCE,
      ...PRODUCTION_KEYS,
    });
  });
  afterAll(() => t?.stop());

  it("accepts the identity provider's tokens and provisions the org from them", async () => {
    const token = await sign(key, org, "indicators:read");
    const res = await t.gql(`{ viewer { org orgKind } organization(id: "${org}") { id kind provisionedBy } indicators(first: 1) { totalCount } }`, {}, token);
    expect(res.errors).toBeUndefined();
    expect(res.data.viewer).toEqual({ org, orgKind: "AGENCY" });
    expect(res.data.organization).toEqual({ id: org, kind: "AGENCY", provisionedBy: "TOKEN" });
  });

  it("refuses tokens of the development issuer and of another audience", async () => {
    // No development key exists in production; make one as an attacker with file access would.
    expect(existsSync(join(t.dataDir, "keys"))).toBe(false);
    await ensureDevKeys(t.dataDir);
    const dev = await t.token(org, "AGENCY", ["indicators:read"]);
    const res = await t.gql("{ viewer { org } }", {}, dev);
    expect(res.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    const otherAudience = await sign(key, org, "indicators:read", { aud: "someone-else" });
    const res2 = await t.gql("{ viewer { org } }", {}, otherAudience);
    expect(res2.errors?.[0]?.message).toMatch(/audience/);
  });

  it("answers no introspection, at the gateway or at a subgraph", async () => {
    const token = await sign(key, org, "indicators:read");
    const atGateway = await t.gql(INTROSPECT, {}, token);
    expect(atGateway.data?.__schema).toBeUndefined();
    expect(atGateway.errors?.length).toBeGreaterThan(0);
    const atSubgraph = await t.gql(INTROSPECT, {}, token, t.subgraphUrl("indicators"));
    expect(atSubgraph.data?.__schema).toBeUndefined();
    expect(atSubgraph.errors?.length).toBeGreaterThan(0);
  });
});

describe("development: introspection answers", () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startTestHub();
  });
  afterAll(() => t?.stop());

  it("introspects with a valid token, and not without one", async () => {
    const token = await t.token(orgId("dev-cloud"), "PROVIDER", ["indicators:read"]);
    const res = await t.gql(INTROSPECT, {}, token);
    expect(res.data.__schema.queryType.name).toBe("Query");
    const anonymous = await t.gql(INTROSPECT, {});
    expect(anonymous.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
  });
});

describe("a remote JWKS (AUTH_JWKS_URL)", () => {
  let t: TestHub;
  let idpServer: Server;
  let key: CryptoKey;
  let fetches = 0;

  beforeAll(async () => {
    const idp = await idpKey();
    key = idp.privateKey;
    idpServer = createServer((_req, res) => {
      fetches++;
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(idp.jwks));
    });
    await new Promise<void>((resolve) => idpServer.listen(0, "127.0.0.1", resolve));
    const { port } = idpServer.address() as AddressInfo;
    t = await startTestHub({ AUTH_JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json`, AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: AUDIENCE });
  });
  afterAll(async () => {
    await t?.stop();
    idpServer?.close();
  });

  it("verifies tokens against keys fetched from the identity provider", async () => {
    const org = orgId("jwks-agency");
    const res = await t.gql("{ viewer { org } }", {}, await sign(key, org, "indicators:read"));
    expect(res.errors).toBeUndefined();
    expect(res.data.viewer.org).toBe(org);
    expect(fetches).toBeGreaterThan(0);
  });
});
