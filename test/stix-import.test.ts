import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { orgId, startTestHub, type TestHub } from "./support/hub.js";
import { exampleFiles, exampleObjects } from "./support/stix-examples.js";

/** Import without loss: the losses once seen with published STIX 2.1 bundles, one test each. */

const IMPORT = `mutation($b: JSONObject!, $tlp: TLP!, $with: [String!]) {
  importStixBundle(bundle: $b, tlp: $tlp, sharedWith: $with) {
    id status totalCount successCount failureCount pendingCount
    successes { id version message } failures { id version property message }
  }
}`;
const INDICATOR = `query($id: ID!) { indicator(id: $id) { id type value pattern patternType name indicatorTypes tlp confidence labels description revoked owner modifiedAt } }`;
// The examples' indicators are years old, long past their lifetimes: expired, so asked for explicitly.
const LOOKUP = `query($v: [String!]!) { lookupIndicators(values: $v, includeExpired: true) { id owner description pattern } }`;

const bundle = (objects: unknown[]) => ({ type: "bundle", id: "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d", objects });
const uuid = () => crypto.randomUUID();

let n = 0;
/** A valid STIX 2.1 indicator, with what the test changes. */
function indicator(extra: Record<string, unknown> = {}): Record<string, any> {
  n++;
  return {
    type: "indicator",
    spec_version: "2.1",
    id: `indicator--${uuid()}`,
    created: "2026-06-01T00:00:00.000Z",
    modified: "2026-06-01T00:00:00.000Z",
    name: `indicator ${n}`,
    pattern: `[ipv4-addr:value = '198.51.100.${n % 250}']`,
    pattern_type: "stix",
    valid_from: "2026-06-01T00:00:00Z",
    ...extra,
  };
}

describe("STIX 2.1 import without loss", () => {
  let t: TestHub;
  let db: pg.Client;
  const provider = orgId("stix-in-cloud");
  const other = orgId("stix-in-other");
  let token: string;
  let otherToken: string;

  const importObjects = async (objects: unknown[], tlp = "GREEN", who = token, sharedWith?: string[]) => {
    const res = await t.gql(IMPORT, { b: bundle(objects), tlp, with: sharedWith }, who);
    expect(res.errors).toBeUndefined();
    return res.data.importStixBundle;
  };
  const stored = async (id: string, owner = provider) =>
    (await db.query("select version, tlp, revoked, object from indicators.stix_object where owner = $1 and id = $2 order by version_key", [owner, id])).rows;

  beforeAll(async () => {
    t = await startTestHub();
    token = await t.token(provider, "PROVIDER", ["indicators:read", "indicators:write"]);
    otherToken = await t.token(other, "PROVIDER", ["indicators:read", "indicators:write"]);
    expect((await t.gql("{ viewer { org } }", {}, otherToken)).errors).toBeUndefined();
    db = new pg.Client({ connectionString: inject("databaseUrl") });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
    await t?.stop();
  });

  it("every example bundle imports with no failure: each object under its own id and version, as sent", async () => {
    const files = exampleFiles();
    expect(files).toHaveLength(8);
    for (const file of files) {
      const objects = exampleObjects(file);
      const status = await importObjects(objects, "CLEAR");
      expect(status.failures, `${file}: ${JSON.stringify(status.failures)}`).toEqual([]);
      expect(status).toMatchObject({ status: "complete", totalCount: objects.length, successCount: objects.length, failureCount: 0, pendingCount: 0 });
      for (const o of objects) {
        const versions = await stored(o.id);
        expect(versions.length, `${file} ${o.id}`).toBeGreaterThanOrEqual(1);
        // Kept verbatim: every property as it came (name, kill_chain_phases, external_references, created_by_ref...).
        expect(versions.map((v) => v.object)).toContainEqual(o);
      }
    }
  });

  it("TLP is never lowered: a bundle's own tlp marking definition counts by its content, and a granular TLP:RED makes the object RED", async () => {
    const redById = "marking-definition--1b1a3c4e-7f6d-4c1e-9a55-3f2d0c1b2a99";
    const custom = { type: "marking-definition", spec_version: "2.1", id: redById, created: "2026-01-01T00:00:00.000Z", definition_type: "tlp", definition: { tlp: "red" } };
    const marked = indicator({ object_marking_refs: [redById] });
    const granular = indicator({
      description: "attributed to a named group",
      granular_markings: [{ marking_ref: "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", selectors: ["description"] }],
    });
    const status = await importObjects([custom, marked, granular], "GREEN");
    // The OASIS schemas allow definition_type "tlp" only under OASIS's own ids: the definition itself is
    // refused, but what it says still marks the objects that refer to it.
    expect(status.failures.map((f: any) => f.id)).toEqual([redById]);
    expect(status.successCount).toBe(2);
    for (const o of [marked, granular]) {
      const own = await t.gql(INDICATOR, { id: o.id }, token);
      expect(own.data.indicator.tlp).toBe("RED");
      // And another org cannot see either, by id or by value.
      expect((await t.gql(INDICATOR, { id: o.id }, otherToken)).data.indicator).toBeNull();
    }
    const seen = await t.gql(LOOKUP, { v: [granular.pattern.match(/'(.+)'/)[1]] }, otherToken);
    expect(seen.data.lookupIndicators.map((i: any) => i.id)).not.toContain(granular.id);
  });

  it("an object whose marking the hub cannot map is refused, naming the marking, not defaulted", async () => {
    const unknown = indicator({ object_marking_refs: ["marking-definition--0f6b2a64-8ac4-4c1e-b6a1-1c3f8e1d2b77"] });
    const pap = { type: "marking-definition", spec_version: "2.1", id: "marking-definition--7d6c2ab1-0f4e-4f37-8d0c-2b5e1a9c3f10", created: "2026-01-01T00:00:00.000Z", name: "PAP:AMBER", extensions: { "extension-definition--f8d78575-edfd-406e-8e84-6162a8450f5b": { extension_type: "property-extension", pap: "amber" } } };
    const papMarked = indicator({ object_marking_refs: [pap.id] });
    const status = await importObjects([unknown, pap, papMarked], "GREEN");
    expect(status.failures.map((f: any) => [f.id, f.property])).toEqual([
      [unknown.id, "object_marking_refs[0]"],
      [papMarked.id, "object_marking_refs[0]"],
    ]);
    expect(await stored(unknown.id)).toEqual([]);
    expect(await stored(papMarked.id)).toEqual([]);
  });

  it("statement markings are kept and the object takes the caller's level", async () => {
    const statement = { type: "marking-definition", spec_version: "2.1", id: `marking-definition--${uuid()}`, created: "2026-01-01T00:00:00.000Z", definition_type: "statement", definition: { statement: "Copyright 2026, a member" } };
    const o = indicator({ object_marking_refs: [statement.id] });
    const status = await importObjects([statement, o], "AMBER");
    expect(status.failures).toEqual([]);
    const [v] = await stored(o.id);
    expect(v.tlp).toBe("AMBER");
    expect(v.object.object_marking_refs).toEqual([statement.id]);
  });

  it("versions: a newer modified supersedes, an older one never overwrites, the same one twice is a no-op", async () => {
    const id = `indicator--${uuid()}`;
    const june = indicator({ id, modified: "2026-06-15T00:00:00.000Z", confidence: 90, object_marking_refs: ["marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"] });
    const january = indicator({ id, modified: "2026-01-15T00:00:00.000Z", created: "2026-01-01T00:00:00.000Z", confidence: 10 });
    expect((await importObjects([june])).failures).toEqual([]);
    const older = await importObjects([january]);
    expect(older.failures).toEqual([]);
    expect(older.successes[0].message).toMatch(/older version/);
    const now = (await t.gql(INDICATOR, { id }, token)).data.indicator;
    expect(now).toMatchObject({ tlp: "RED", confidence: 90 });
    // Both versions are kept; the same version again writes nothing.
    expect((await stored(id)).map((v) => v.version)).toEqual(["2026-01-15T00:00:00.000Z", "2026-06-15T00:00:00.000Z"]);
    const again = await importObjects([june]);
    expect(again.successes[0].message).toMatch(/already held/);
    expect(await stored(id)).toHaveLength(2);
    // Newer supersedes.
    const newer = { ...june, modified: "2026-07-01T00:00:00.000Z", confidence: 70 };
    await importObjects([newer]);
    expect((await t.gql(INDICATOR, { id }, token)).data.indicator.confidence).toBe(70);
  });

  it("revoked is honoured for an indicator already held, and a revoked object cannot be brought back", async () => {
    const o = indicator();
    await importObjects([o]);
    const revoked = { ...o, modified: "2026-06-02T00:00:00.000Z", revoked: true };
    const status = await importObjects([revoked]);
    expect(status.failures).toEqual([]);
    expect((await t.gql(INDICATOR, { id: o.id }, token)).data.indicator.revoked).toBe(true);
    const back = await importObjects([{ ...o, modified: "2026-06-03T00:00:00.000Z", revoked: false }]);
    expect(back.failures[0]).toMatchObject({ id: o.id, property: "revoked" });
  });

  it("objects are not merged by value: three indicators of two groups sharing one IP stay three, each with its attribution", async () => {
    const ip = "203.0.113.77";
    const objects = ["group A", "group A (again)", "group B"].map((who) => indicator({ pattern: `[ipv4-addr:value = '${ip}']`, description: `seen with ${who}` }));
    const status = await importObjects(objects);
    expect(status).toMatchObject({ successCount: 3, failureCount: 0 });
    const found = (await t.gql(LOOKUP, { v: [ip] }, token)).data.lookupIndicators.filter((i: any) => i.owner === provider);
    expect(found.map((i: any) => i.id).sort()).toEqual(objects.map((o) => o.id).sort());
    expect(found.map((i: any) => i.description).sort()).toEqual(["seen with group A", "seen with group A (again)", "seen with group B"]);
  });

  it("patterns: the whole grammar is taken, stored verbatim, and every equality observable is searchable", async () => {
    const sha512 = "a".repeat(128);
    const patterns = [
      "[ipv4-addr:value = '198.51.100.10' AND ipv4-addr:value != '198.51.100.11']",
      "[file:name MATCHES '^evil.*\\\\.exe$']",
      "[domain-name:value IN ('bad.example.com', 'worse.example.com')]",
      "[url:value = 'http://c2.example.net'] FOLLOWEDBY [ipv4-addr:value = '198.51.100.12'] WITHIN 300 SECONDS",
      "[file:name = 'dropper.exe'] REPEATS 5 TIMES",
      `[file:hashes.'SHA-512' = '${sha512}']`,
      "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_port = 443]",
      "[x509-certificate:issuer = 'CN=evil'] AND [x509-certificate:serial_number = '01']",
      "[file:name = 'a OR b.exe']",
      "[ipv4-addr:value = '198.51.100.13' OR file:name = 'x.exe']",
      "[ipv4-addr:value ISSUBSET '100.66.0.0/16']",
    ];
    const objects = patterns.map((pattern) => indicator({ pattern }));
    const status = await importObjects(objects);
    expect(status.failures).toEqual([]);
    for (const o of objects) expect((await t.gql(INDICATOR, { id: o.id }, token)).data.indicator.pattern).toBe(o.pattern);
    const find = async (value: string) => (await t.gql(LOOKUP, { v: [value] }, token)).data.lookupIndicators.map((i: any) => i.id);
    expect(await find("worse.example.com")).toContain(objects[2]!.id);
    expect(await find("http://c2.example.net")).toContain(objects[3]!.id);
    expect(await find("198.51.100.12")).toContain(objects[3]!.id);
    expect(await find(sha512)).toContain(objects[5]!.id);
    expect(await find("a OR b.exe")).toContain(objects[8]!.id);
    expect(await find("x.exe")).toContain(objects[9]!.id);
    expect(await find("198.51.100.13")).toContain(objects[9]!.id);
    // An address finds the block that holds it; the negated one is not an observable.
    expect(await find("100.66.7.200")).toContain(objects[10]!.id);
    expect(await find("198.51.100.11")).not.toContain(objects[0]!.id);
  });

  it("silent changes are gone: a missing confidence stays missing, labels and URLs stay as written", async () => {
    const o = indicator({ labels: ["apt/espionage", "гроза"], pattern: "[url:value = 'http://example.com']", indicator_types: ["malicious-activity"] });
    delete o.confidence;
    expect((await importObjects([o])).failures).toEqual([]);
    const got = (await t.gql(INDICATOR, { id: o.id }, token)).data.indicator;
    expect(got).toMatchObject({ confidence: null, labels: ["apt/espionage", "гроза"], indicatorTypes: ["malicious-activity"], pattern: "[url:value = 'http://example.com']" });
    expect(got.value).toBe("http://example.com");
  });

  it("STIX sightings import as sightings: totals follow the newest version of each", async () => {
    const o = indicator({ valid_from: new Date().toISOString() });
    const sighting = {
      type: "sighting",
      spec_version: "2.1",
      id: `sighting--${uuid()}`,
      created: "2026-11-01T00:00:00.000Z",
      modified: "2026-11-01T00:00:00.000Z",
      sighting_of_ref: o.id,
      count: 4,
      first_seen: "2026-11-01T00:00:00Z",
      last_seen: "2026-11-02T00:00:00Z",
    };
    expect((await importObjects([o, sighting])).failures).toEqual([]);
    const read = async () => (await t.gql(`query($id: ID!) { indicator(id: $id) { sightings { count sightings orgs firstSeen lastSeen } } }`, { id: o.id }, token)).data.indicator.sightings;
    expect(await read()).toEqual({ count: 4, sightings: 1, orgs: [provider], firstSeen: "2026-11-01T00:00:00.000Z", lastSeen: "2026-11-02T00:00:00.000Z" });
    // A newer version replaces it; an older one does not; a sighting whose last_seen is before its first_seen is refused.
    await importObjects([{ ...sighting, modified: "2026-11-05T00:00:00.000Z", count: 9, last_seen: "2026-11-04T00:00:00Z" }]);
    await importObjects([{ ...sighting, modified: "2026-10-01T00:00:00.000Z", count: 1 }]);
    expect(await read()).toMatchObject({ count: 9, sightings: 1, lastSeen: "2026-11-04T00:00:00.000Z" });
    const bad = await importObjects([{ ...sighting, id: `sighting--${uuid()}`, first_seen: "2026-11-03T00:00:00Z", last_seen: "2026-11-02T00:00:00Z" }]);
    expect(bad.failures.map((f: any) => f.property)).toEqual(["last_seen"]);
  });

  it("bad input fails per object, naming the property, and stores nothing of it", async () => {
    const good = indicator();
    const missing = indicator();
    delete missing.pattern;
    const cases: [Record<string, any>, string][] = [
      [indicator({ modified: "2026-13-01T00:00:00.000Z" }), "modified"],
      [indicator({ id: "indicator--not-a-uuid" }), "id"],
      [indicator({ id: `malware--${uuid()}` }), "id"],
      [missing, "pattern"],
      [indicator({ spec_version: "3.0" }), "spec_version"],
      [(({ spec_version: _, ...o }) => o)(indicator()), "spec_version"],
      [indicator({ pattern: "[ipv4-addr:value = '1.2.3.4'" }), "pattern"],
      [indicator({ confidence: "high" }), "confidence"],
    ];
    const status = await importObjects([good, ...cases.map(([o]) => o), "not an object"]);
    expect(status.successCount).toBe(1);
    expect(status.failureCount).toBe(cases.length + 1);
    for (const [o, property] of cases) {
      const failure = status.failures.find((f: any) => f.id === o.id);
      expect(failure, `${property}: ${JSON.stringify(status.failures)}`).toBeDefined();
      expect(failure.property, failure.message).toBe(property);
      expect(await stored(o.id)).toEqual([]);
    }
    expect(await stored(good.id)).toHaveLength(1);
  });

  it("a STIX 2.0 bundle is refused as a whole, naming the property", async () => {
    const res = await t.gql(IMPORT, { b: { type: "bundle", id: `bundle--${uuid()}`, spec_version: "2.0", objects: [indicator()] }, tlp: "GREEN" }, token);
    expect(res.errors?.[0]?.extensions?.field).toBe("bundle.spec_version");
  });

  it("the hub's own indicators re-import without a single failure, as the same versions", async () => {
    const published = await t.gql(
      `mutation { publishIndicators(input: [{ type: CIDR, value: "10.203.113.0/24", tlp: GREEN }, { type: URL, value: "https://own.example.org/x", tlp: AMBER }]) { results { indicator { id } error { message } } } }`,
      {},
      token,
    );
    const ids = published.data.publishIndicators.results.map((r: any) => r.indicator.id);
    const exported = await t.gql(`{ indicatorsStix(filter: { owner: "${provider}", types: [CIDR, URL] }, first: 100) { bundle } }`, {}, token);
    const bundle = exported.data.indicatorsStix.bundle;
    expect(bundle.objects.filter((o: any) => ids.includes(o.id))).toHaveLength(2);
    // The CIDR goes out as ISSUBSET, and comes back in.
    expect(bundle.objects.find((o: any) => o.id === ids[0]).pattern).toBe("[ipv4-addr:value ISSUBSET '10.203.113.0/24']");
    const res = await t.gql(IMPORT, { b: bundle, tlp: "GREEN" }, token);
    const status = res.data.importStixBundle;
    expect(status.failures).toEqual([]);
    const again = status.successes.filter((s: any) => ids.includes(s.id));
    expect(again.map((s: any) => s.message)).toEqual(["already held: nothing changed", "already held: nothing changed"]);
  });
});
