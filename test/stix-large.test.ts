import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { orgId, startTestHub, type TestHub } from "./support/hub.js";

/**
 * A large feed in one request (AMBER, so that no other test file sharing the database sees it): a 50,000-indicator envelope goes through one TAXII POST, answered at
 * once with a pending status that is polled until complete; no splitting on the client's side.
 */

const TAXII = "application/taxii+json;version=2.1";
const SIZE = 50_000;

function feed(): Record<string, unknown>[] {
  const objects = [];
  for (let i = 0; i < SIZE; i++) {
    const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    objects.push({
      type: "indicator",
      spec_version: "2.1",
      id: `indicator--${randomUUID()}`,
      created: "2026-11-01T00:00:00.000Z",
      modified: "2026-11-01T00:00:00.000Z",
      name: `feed entry ${i}`,
      indicator_types: ["malicious-activity"],
      pattern: i % 10 ? `[ipv4-addr:value = '${ip}']` : `[ipv4-addr:value = '${ip}' OR domain-name:value = 'host${i}.feed.example']`,
      pattern_type: "stix",
      valid_from: "2026-11-01T00:00:00Z",
      confidence: 60,
    });
  }
  return objects;
}

describe("a 50,000-indicator feed", () => {
  let t: TestHub;
  let db: pg.Client;
  const org = orgId("large-feed");
  let token: string;
  beforeAll(async () => {
    t = await startTestHub();
    token = await t.token(org, "PROVIDER", ["indicators:read", "indicators:write"]);
    db = new pg.Client({ connectionString: inject("databaseUrl") });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
    await t?.stop();
  });

  it("imports through one TAXII POST, answered pending at once and polled to complete", async () => {
    const headers = { accept: TAXII, authorization: `Bearer ${token}` };
    const collections = await (await fetch(`${t.gatewayUrl.replace(/\/graphql$/, "")}/taxii2/api/collections/`, { headers })).json();
    const own = collections.collections.find((c: any) => c.can_write && c.title.endsWith("at TLP:AMBER"));
    const objects = feed();
    const body = JSON.stringify({ objects });
    expect(body.length).toBeGreaterThan(4 * 1024 * 1024); // more than a GraphQL request may carry
    const res = await fetch(`${t.gatewayUrl.replace(/\/graphql$/, "")}/taxii2/api/collections/${own.id}/objects/`, {
      method: "POST",
      headers: { ...headers, "content-type": TAXII },
      body,
    });
    expect(res.status).toBe(202);
    let status = await res.json();
    expect(status).toMatchObject({ status: "pending", total_count: SIZE });
    while (status.status !== "complete") {
      await new Promise((r) => setTimeout(r, 500));
      status = await (await fetch(`${t.gatewayUrl.replace(/\/graphql$/, "")}/taxii2/api/status/${status.id}/`, { headers })).json();
      expect(status.success_count + status.failure_count + status.pending_count).toBe(SIZE);
    }
    expect(status).toMatchObject({ status: "complete", success_count: SIZE, failure_count: 0, pending_count: 0 });
    const counts = (
      await db.query(
        `select (select count(*)::int from indicators.stix_object where owner = $1) as objects,
                (select count(*)::int from indicators.indicator where owner = $1) as indicators,
                (select count(*)::int from indicators.observable o join indicators.indicator i on i.seq = o.indicator_seq where i.owner = $1) as observables`,
        [org],
      )
    ).rows[0];
    expect(counts).toEqual({ objects: SIZE, indicators: SIZE, observables: SIZE + SIZE / 10 });
    const found = await t.gql(`{ lookupIndicators(values: ["host49990.feed.example"]) { id owner } }`, {}, token);
    expect(found.data.lookupIndicators).toEqual([{ id: (objects[49_990] as any).id, owner: org }]);
  }, 600_000);
});
