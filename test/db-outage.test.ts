import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { orgId, startTestHub, type TestHub } from "./support/hub.js";
import { tcpProxy } from "./support/process.js";
import { sleep } from "./support/wait.js";

/**
 * PostgreSQL unreachable (a restart, a failover, a network cut): requests get SERVICE_UNAVAILABLE, a
 * code that says to retry, not an internal error; nothing of the database (address, SQL) reaches the
 * client; and the hub serves again once the database is back.
 */

describe("the database goes away under the hub", () => {
  let t: TestHub;
  let proxy: Awaited<ReturnType<typeof tcpProxy>>;
  let token: string;
  const org = orgId("db-outage");

  beforeAll(async () => {
    const real = new URL(inject("databaseUrl"));
    proxy = await tcpProxy(`http://${real.hostname}:${real.port || 5432}/`);
    const viaProxy = new URL(real);
    viaProxy.hostname = "127.0.0.1";
    viaProxy.port = String(proxy.port);
    t = await startTestHub({ DATABASE_URL: viaProxy.toString() });
    token = await t.token(org, "PROVIDER", ["indicators:read", "indicators:write"]);
  });
  afterAll(async () => {
    await proxy?.restore().catch(() => undefined);
    await t?.stop();
    await proxy?.close();
  });

  const LIST = "{ indicators(first: 1) { totalCount } }";
  const PUBLISH = "mutation($in: [IndicatorInput!]!) { publishIndicators(input: $in) { published } }";

  it("answers SERVICE_UNAVAILABLE while it is gone, at the gateway and at the subgraph, then serves again", async () => {
    expect((await t.gql(LIST, {}, token)).errors).toBeUndefined();
    await proxy.cut();
    try {
      const cases = [
        { url: t.gatewayUrl, query: LIST, variables: {} },
        { url: t.gatewayUrl, query: PUBLISH, variables: { in: [{ type: "IPV4", value: "192.0.2.77", tlp: "GREEN" }] } },
        { url: t.subgraphUrl("indicators"), query: LIST, variables: {} },
      ];
      for (const { url, query, variables } of cases) {
        const res = await t.gql(query, variables, token, url);
        const text = JSON.stringify(res);
        expect(res.errors?.length, text).toBeGreaterThan(0);
        expect(res.errors![0]!.extensions?.code, text).toBe("SERVICE_UNAVAILABLE");
        expect(res.errors![0]!.message).toMatch(/retry/i);
        expect(res.errors![0]!.extensions?.correlationId).toEqual(expect.any(String));
        expect(text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|terminated|select |insert |stack/i);
      }
    } finally {
      await proxy.restore();
    }
    let again = await t.gql(LIST, {}, token);
    for (let i = 0; i < 50 && again.errors; i++) {
      await sleep(100);
      again = await t.gql(LIST, {}, token);
    }
    expect(again.errors).toBeUndefined();
  });
});
