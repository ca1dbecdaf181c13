import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collect, orgId, startTestHub, type TestHub } from "./support/hub.js";

const PUBLISH = `mutation Publish($input: [IndicatorInput!]!) {
  publishIndicators(input: $input) { published failed results { index error { field message } indicator { id type value tlp owner revoked } } }
}`;

describe("indicators end to end through the gateway", () => {
  let t: TestHub;
  let token: string;
  const org = orgId("flow-cloud");

  beforeAll(async () => {
    t = await startTestHub();
    token = await t.token(org, "PROVIDER", ["indicators:read", "indicators:write"]);
  });
  afterAll(() => t?.stop());

  it("publishes, lists, looks up, reads by id and revokes", async () => {
    const published = await t.gql(PUBLISH, {
      input: [
        { type: "IPV4", value: "198.51.100.23", tlp: "GREEN", confidence: 80, labels: ["c2"] },
        { type: "DOMAIN", value: "Bad.Example.ORG.", tlp: "AMBER" },
      ],
    }, token);
    expect(published.errors).toBeUndefined();
    const [ip, domain] = published.data.publishIndicators.results.map((r: any) => r.indicator);
    expect(ip).toMatchObject({ type: "IPV4", value: "198.51.100.23", owner: org, revoked: false });
    expect(domain.value).toBe("bad.example.org");
    expect(ip.id).toMatch(/^indicator--[0-9a-f-]{36}$/);

    const list = await t.gql(`query($f: IndicatorFilter) { indicators(filter: $f, first: 1) { totalCount edges { node { id } } pageInfo { hasNextPage endCursor } } }`, { f: { owner: org } }, token);
    expect(list.data.indicators.totalCount).toBe(2);
    expect(list.data.indicators.edges).toHaveLength(1);
    expect(list.data.indicators.pageInfo.hasNextPage).toBe(true);
    const next = await t.gql(`query($f: IndicatorFilter, $a: String) { indicators(filter: $f, first: 1, after: $a) { edges { node { id } } pageInfo { hasNextPage endCursor } } }`, { f: { owner: org }, a: list.data.indicators.pageInfo.endCursor }, token);
    expect(next.data.indicators.pageInfo.hasNextPage).toBe(false);
    // Past the last page the count still covers every match; a fragment asks for it too.
    const beyond = await t.gql(
      `query($f: IndicatorFilter, $a: String) { indicators(filter: $f, after: $a) { ...Counted edges { node { id } } } }
       fragment Counted on IndicatorConnection { totalCount }`,
      { f: { owner: org }, a: next.data.indicators.pageInfo.endCursor ?? "" },
      token,
    );
    expect(beyond.errors).toBeUndefined();
    expect(beyond.data.indicators).toEqual({ totalCount: 2, edges: [] });
    const ids = [list.data.indicators.edges[0].node.id, next.data.indicators.edges[0].node.id].sort();
    expect(ids).toEqual([ip.id, domain.id].sort());

    const lookup = await t.gql(`query($v: [String!]!) { lookupIndicators(values: $v) { id value owner pattern } }`, { v: ["BAD.example.org", "198.51.100.23", "192.0.2.1"] }, token);
    // Other files' orgs share the database and may have published the same GREEN values (the README's do).
    const ours = lookup.data.lookupIndicators.filter((i: any) => i.owner === org);
    expect(ours.map((i: any) => i.id).sort()).toEqual([ip.id, domain.id].sort());
    // Every indicator found names one of the values in its pattern, or a block that holds the address.
    const names = (i: any) => /'bad\.example\.org'|'198\.51\.100\.23'|'192\.0\.2\.1'|ISSUBSET '(198\.51\.100|192\.0\.2)\./.test(i.pattern);
    expect(lookup.data.lookupIndicators.filter((i: any) => !names(i))).toEqual([]);

    const byId = await t.gql(`query($id: ID!) { indicator(id: $id) { id value labels confidence } }`, { id: ip.id }, token);
    expect(byId.data.indicator).toEqual({ id: ip.id, value: "198.51.100.23", labels: ["c2"], confidence: 80 });

    const revoked = await t.gql(`mutation($id: ID!) { revokeIndicator(id: $id) { id revoked } }`, { id: ip.id }, token);
    expect(revoked.data.revokeIndicator).toEqual({ id: ip.id, revoked: true });
    const after = await t.gql(`query($f: IndicatorFilter) { indicators(filter: $f) { totalCount } }`, { f: { owner: org } }, token);
    expect(after.data.indicators.totalCount).toBe(1);
  });

  it("updates instead of duplicating when the same org publishes the same value again", async () => {
    const first = await t.gql(PUBLISH, { input: [{ type: "EMAIL", value: "Phisher@Example.NET", tlp: "GREEN", confidence: 10 }] }, token);
    const again = await t.gql(PUBLISH, { input: [{ type: "EMAIL", value: "phisher@example.net", tlp: "GREEN", confidence: 90 }] }, token);
    const a = first.data.publishIndicators.results[0].indicator;
    const b = again.data.publishIndicators.results[0].indicator;
    expect(b.id).toBe(a.id);
    const read = await t.gql(`query($id: ID!) { indicator(id: $id) { confidence } }`, { id: a.id }, token);
    expect(read.data.indicator.confidence).toBe(90);
  });

  it("streams revocations to those who may see the indicator, and to no one else", async () => {
    const partner = orgId("flow-partner");
    const outsider = orgId("flow-outsider");
    const partnerToken = await t.token(partner, "AGENCY", ["indicators:read"]);
    const outsiderToken = await t.token(outsider, "AGENCY", ["indicators:read"]);
    for (const tk of [partnerToken, outsiderToken]) expect((await t.gql("{ viewer { org } }", {}, tk)).errors).toBeUndefined();

    const published = await t.gql(PUBLISH, {
      input: [
        { type: "URL", value: "HTTPS://Drop.Example.COM/payload.bin", tlp: "AMBER", sharedWith: [partner] },
        { type: "DOMAIN", value: "open-revoked.example", tlp: "GREEN" },
      ],
    }, token);
    const [amber, green] = published.data.publishIndicators.results.map((r: any) => r.indicator);
    expect(amber.value).toBe("https://drop.example.com/payload.bin");

    const REVOKED = `subscription { indicatorRevoked { cursor indicator { id revoked } } }`;
    const forPartner = collect<any>(t.ws(partnerToken), REVOKED, {}, 2, 10_000);
    const forOutsider = collect<any>(t.ws(outsiderToken), REVOKED, {}, 2, 4_000);
    await new Promise((r) => setTimeout(r, 500)); // both subscribed before the revocations
    for (const id of [amber.id, green.id]) {
      const res = await t.gql(`mutation($id: ID!) { revokeIndicator(id: $id) { id } }`, { id }, token);
      expect(res.data.revokeIndicator.id).toBe(id);
    }
    await Promise.all([forPartner.done, forOutsider.done]);
    forPartner.stop();
    forOutsider.stop();
    expect(forPartner.errors).toEqual([]);
    expect(forPartner.received.map((e) => e.indicatorRevoked.indicator)).toEqual([
      { id: amber.id, revoked: true },
      { id: green.id, revoked: true },
    ]);
    // The outsider sees the GREEN revocation only; the AMBER one never reaches it.
    expect(forOutsider.received.map((e) => e.indicatorRevoked.indicator.id)).toEqual([green.id]);
  });
});
