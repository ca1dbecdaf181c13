import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { identityIdOf, TLP_MARKING_IDS } from "../subgraphs/indicators/indicator.stix.js";
import { orgId, startTestHub, type TestHub } from "./support/hub.js";

const DAY = 86_400_000;
/** The decay this file's hub runs with: IPv4 addresses live 30 days and decay fast at first. */
const TAU_DAYS = 30;
const DELTA = 2;

const PUBLISH = `mutation($input: [IndicatorInput!]!) { publishIndicators(input: $input) { failed results { error { field message } indicator { id value } } } }`;
const REPORT = `mutation($id: ID!, $count: Int!, $first: DateTime!, $last: DateTime!, $tlp: TLP, $shared: [String!]) {
  reportSighting(indicatorId: $id, count: $count, firstSeen: $first, lastSeen: $last, tlp: $tlp, sharedWith: $shared) {
    sighting { id indicatorId owner count firstSeen lastSeen tlp sharedWith }
    errors { field message code }
  }
}`;
const READ = `query($id: ID!) { indicator(id: $id) { score expired sightings { count sightings orgs firstSeen lastSeen } } }`;

/** The expected score at `now` of base `base`, last alive at `since` (ms). */
const expected = (base: number, since: number, now: number) => Math.max(0, base * (1 - ((now - since) / (TAU_DAYS * DAY)) ** (1 / DELTA)));

describe("sightings and decaying scores, through the gateway", () => {
  let t: TestHub;
  let db: pg.Client;
  const a = orgId("sight-a");
  const b = orgId("sight-b");
  const c = orgId("sight-c");
  let ta: string, tb: string, tc: string;
  let n = 0;
  /** A fresh address per indicator, so that reruns on one database never meet. */
  const ip = () => `198.18.${Math.floor(Math.random() * 250)}.${(n++ % 250) + 1}`;

  async function publish(items: Record<string, unknown>[]): Promise<string[]> {
    const res = await t.gql(PUBLISH, { input: items }, ta);
    expect(res.errors).toBeUndefined();
    expect(res.data.publishIndicators.failed).toBe(0);
    return res.data.publishIndicators.results.map((r: any) => r.indicator.id);
  }

  /** Reads an indicator and checks its score against the formula over the time the request took. */
  async function scoreBetween(id: string, token: string, base: number, since: number) {
    const before = Date.now();
    const res = await t.gql(READ, { id }, token);
    const after = Date.now();
    expect(res.errors).toBeUndefined();
    const { score } = res.data.indicator;
    expect(score).toBeLessThanOrEqual(expected(base, since, before) + 1e-6);
    expect(score).toBeGreaterThanOrEqual(expected(base, since, after) - 1e-6);
    return res.data.indicator;
  }

  beforeAll(async () => {
    t = await startTestHub({ DECAY_RULES: `IPV4:${TAU_DAYS}:${DELTA}` });
    [ta, tb, tc] = await Promise.all([a, b, c].map((org) => t.token(org, "PROVIDER", ["indicators:read", "indicators:write"])));
    for (const tk of [ta, tb, tc]) expect((await t.gql("{ viewer { org } }", {}, tk)).errors).toBeUndefined();
    db = new pg.Client({ connectionString: inject("databaseUrl") });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
    await t?.stop();
  });

  it("takes a sighting from another org that may see the indicator, with its STIX object and event", async () => {
    const [id] = await publish([{ type: "IPV4", value: ip(), tlp: "GREEN", confidence: 80 }]);
    const first = new Date(Date.now() - 3 * DAY).toISOString();
    const last = new Date(Date.now() - DAY).toISOString();
    const res = await t.gql(REPORT, { id, count: 7, first, last }, tb);
    expect(res.errors).toBeUndefined();
    const { sighting, errors } = res.data.reportSighting;
    expect(errors).toEqual([]);
    expect(sighting).toMatchObject({ indicatorId: id, owner: b, count: 7, firstSeen: first, lastSeen: last, tlp: "GREEN", sharedWith: [] });
    expect(sighting.id).toMatch(/^sighting--[0-9a-f-]{36}$/);

    const stored = await db.query(`select owner, type, tlp, object from indicators.stix_object where id = $1`, [sighting.id]);
    expect(stored.rows).toHaveLength(1);
    expect(stored.rows[0]).toMatchObject({ owner: b, type: "sighting", tlp: "GREEN" });
    expect(stored.rows[0].object).toMatchObject({
      type: "sighting",
      spec_version: "2.1",
      sighting_of_ref: id,
      count: 7,
      first_seen: first,
      last_seen: last,
      created_by_ref: identityIdOf(b),
      object_marking_refs: [TLP_MARKING_IDS.GREEN],
    });
    const events = await db.query(`select owner_org, tlp, payload from hub.event where topic = 'sighting.reported' and payload->>'id' = $1`, [sighting.id.slice("sighting--".length)]);
    expect(events.rows).toHaveLength(1);
    expect(events.rows[0]).toMatchObject({ owner_org: b, tlp: "GREEN" });
  });

  it("refuses an indicator the reporter may not see as not found, like one that does not exist", async () => {
    const [hidden] = await publish([{ type: "IPV4", value: ip(), tlp: "AMBER" }]);
    const now = new Date().toISOString();
    const refused = await t.gql(REPORT, { id: hidden, count: 1, first: now, last: now }, tb);
    const missing = await t.gql(REPORT, { id: "indicator--00000000-0000-4000-8000-000000000000", count: 1, first: now, last: now }, tb);
    for (const res of [refused, missing]) {
      expect(res.errors).toBeUndefined();
      expect(res.data.reportSighting.sighting).toBeNull();
      expect(res.data.reportSighting.errors).toEqual([{ field: "indicatorId", code: "NOT_FOUND", message: expect.stringMatching(/^indicatorId: '.*' not found$/) }]);
    }
    const none = await db.query(`select 1 from indicators.sighting where indicator_id = $1`, [hidden.slice("indicator--".length)]);
    expect(none.rows).toHaveLength(0);
  });

  it("counts only the sightings each viewer may see", async () => {
    const [id] = await publish([{ type: "IPV4", value: ip(), tlp: "GREEN", confidence: 80 }]);
    const t1 = new Date(Date.now() - 5 * DAY).toISOString();
    const t2 = new Date(Date.now() - 2 * DAY).toISOString();
    const t3 = new Date(Date.now() - DAY).toISOString();
    expect((await t.gql(REPORT, { id, count: 3, first: t1, last: t2 }, tb)).data.reportSighting.errors).toEqual([]);
    expect((await t.gql(REPORT, { id, count: 10, first: t2, last: t3, tlp: "RED" }, tc)).data.reportSighting.errors).toEqual([]);

    const forB = await t.gql(READ, { id }, tb);
    expect(forB.data.indicator.sightings).toEqual({ count: 3, sightings: 1, orgs: [b], firstSeen: t1, lastSeen: t2 });
    const forC = await t.gql(READ, { id }, tc);
    expect(forC.data.indicator.sightings).toEqual({ count: 13, sightings: 2, orgs: [b, c].sort(), firstSeen: t1, lastSeen: t3 });
    // Not even the indicator's owner sees a RED sighting that was not shared with it.
    const forA = await t.gql(READ, { id }, ta);
    expect(forA.data.indicator.sightings.count).toBe(3);
    // Shared with A, the next RED one counts for A too, and still not for B.
    expect((await t.gql(REPORT, { id, count: 5, first: t2, last: t3, tlp: "RED", shared: [a] }, tc)).data.reportSighting.errors).toEqual([]);
    expect((await t.gql(READ, { id }, ta)).data.indicator.sightings.count).toBe(8);
    expect((await t.gql(READ, { id }, tb)).data.indicator.sightings.count).toBe(3);
  });

  it("decays the score with age, and a sighting the viewer may see resets it", async () => {
    const validFrom = Date.now() - 10 * DAY;
    const [id] = await publish([{ type: "IPV4", value: ip(), tlp: "GREEN", confidence: 80, validFrom: new Date(validFrom).toISOString() }]);
    const fresh = await scoreBetween(id, tb, 80, validFrom);
    expect(fresh.expired).toBe(false);
    expect(fresh.score).toBeCloseTo(80 * (1 - Math.sqrt(10 / 30)), 3);

    // B saw it yesterday: every viewer's clock restarts from then.
    const seen = Date.now() - DAY;
    const at = new Date(seen).toISOString();
    expect((await t.gql(REPORT, { id, count: 1, first: at, last: at }, tb)).data.reportSighting.errors).toEqual([]);
    await scoreBetween(id, tb, 80, seen);
    await scoreBetween(id, ta, 80, seen);

    // C's RED sighting of just now moves C's score only.
    const now = new Date(Date.now() - 1000);
    expect((await t.gql(REPORT, { id, count: 1, first: now.toISOString(), last: now.toISOString(), tlp: "RED" }, tc)).data.reportSighting.errors).toEqual([]);
    await scoreBetween(id, tc, 80, now.getTime());
    await scoreBetween(id, tb, 80, seen);
  });

  it("leaves expired indicators out unless asked, and filters on minScore, in lists and lookups", async () => {
    const old = Date.now() - (TAU_DAYS + 5) * DAY;
    const [oldValue, newValue, revokedValue] = [ip(), ip(), ip()];
    const [oldId, newId, revokedId] = await publish([
      { type: "IPV4", value: oldValue, tlp: "GREEN", confidence: 90, validFrom: new Date(old).toISOString() },
      { type: "IPV4", value: newValue, tlp: "GREEN", confidence: 90 },
      { type: "IPV4", value: revokedValue, tlp: "GREEN", confidence: 90 },
    ]);
    expect((await t.gql(`mutation($id: ID!) { revokeIndicator(id: $id) { id } }`, { id: revokedId }, ta)).errors).toBeUndefined();

    const LIST = `query($f: IndicatorFilter) { indicators(filter: $f, first: 500) { totalCount edges { node { id score expired } } } }`;
    const ids = async (f: Record<string, unknown>) => {
      const res = await t.gql(LIST, { f: { owner: a, ...f } }, tb);
      expect(res.errors).toBeUndefined();
      return res.data.indicators.edges.map((e: any) => e.node);
    };
    const mine = (nodes: any[]) => nodes.filter((x) => [oldId, newId, revokedId].includes(x.id));
    expect(mine(await ids({})).map((x: any) => x.id)).toEqual([newId]);
    const all = mine(await ids({ includeExpired: true, includeRevoked: true }));
    expect(all.map((x: any) => x.id).sort()).toEqual([oldId, newId, revokedId].sort());
    for (const x of all) {
      if (x.id === newId) expect(x).toMatchObject({ expired: false, score: expect.closeTo(90, 1) });
      else expect(x).toEqual({ id: x.id, score: 0, expired: true });
    }
    // A sighting within the lifetime brings the old one back.
    const recent = new Date(Date.now() - DAY).toISOString();
    expect((await t.gql(REPORT, { id: oldId, count: 1, first: recent, last: recent }, tb)).data.reportSighting.errors).toEqual([]);
    expect(mine(await ids({})).map((x: any) => x.id).sort()).toEqual([oldId, newId].sort());
    // 90 × (1 − √(1/30)) ≈ 73.6; the new one is just under 90.
    expect(mine(await ids({ minScore: 80 })).map((x: any) => x.id)).toEqual([newId]);
    expect(mine(await ids({ minScore: 70 })).map((x: any) => x.id).sort()).toEqual([oldId, newId].sort());

    const LOOKUP = `query($v: [String!]!, $m: Float, $e: Boolean) { lookupIndicators(values: $v, minScore: $m, includeExpired: $e) { id } }`;
    const look = async (v: Record<string, unknown>) => {
      const res = await t.gql(LOOKUP, { v: [oldValue, newValue, revokedValue], ...v }, tb);
      expect(res.errors).toBeUndefined();
      return res.data.lookupIndicators.map((x: any) => x.id).sort();
    };
    expect(await look({})).toEqual([oldId, newId].sort());
    expect(await look({ e: true })).toEqual([oldId, newId, revokedId].sort());
    expect(await look({ m: 80 })).toEqual([newId]);
  });

  it("counts imported STIX sightings: seen times from created when absent, a newer version replacing the older", async () => {
    const [id] = await publish([{ type: "IPV4", value: ip(), tlp: "GREEN", confidence: 80 }]);
    const sid = `sighting--${crypto.randomUUID()}`;
    const created = new Date(Date.now() - 2 * DAY).toISOString();
    const IMPORT = `mutation($b: JSONObject!) { importStixBundle(bundle: $b, tlp: GREEN) { status failures { id property message } } }`;
    const send = async (object: Record<string, unknown>) => {
      const res = await t.gql(IMPORT, { b: { type: "bundle", id: `bundle--${crypto.randomUUID()}`, objects: [object] } }, tc);
      expect(res.errors).toBeUndefined();
      expect(res.data.importStixBundle.failures).toEqual([]);
    };
    const base = { type: "sighting", spec_version: "2.1", id: sid, created, sighting_of_ref: id };
    await send({ ...base, modified: created });
    expect((await t.gql(READ, { id }, tb)).data.indicator.sightings).toEqual({ count: 0, sightings: 1, orgs: [c], firstSeen: created, lastSeen: created });

    const later = new Date(Date.now() - DAY).toISOString();
    await send({ ...base, modified: later, count: 4, first_seen: created, last_seen: later });
    expect((await t.gql(READ, { id }, tb)).data.indicator.sightings).toEqual({ count: 4, sightings: 1, orgs: [c], firstSeen: created, lastSeen: later });
  });

  it("names the field at fault, every one at once", async () => {
    const [id] = await publish([{ type: "IPV4", value: ip(), tlp: "GREEN" }]);
    const now = Date.now();
    const res = await t.gql(REPORT, {
      id,
      count: 0,
      first: new Date(now - DAY).toISOString(),
      last: new Date(now - 2 * DAY).toISOString(),
      shared: ["Not An Org"],
    }, tb);
    expect(res.errors).toBeUndefined();
    expect(res.data.reportSighting.errors.map((e: any) => e.field)).toEqual(["count", "lastSeen", "sharedWith[0]"]);
    const future = new Date(now + 3600_000).toISOString();
    const ahead = await t.gql(REPORT, { id, count: 1, first: future, last: future }, tb);
    expect(ahead.data.reportSighting.errors.map((e: any) => e.field)).toEqual(["firstSeen", "lastSeen"]);
    const big = await t.gql(REPORT, { id, count: 1_000_000_000, first: new Date(now).toISOString(), last: new Date(now).toISOString() }, tb);
    expect(big.data.reportSighting.errors).toEqual([{ field: "count", code: "BAD_USER_INPUT", message: "count: must be from 1 to 999999999" }]);
    const malformed = await t.gql(REPORT, { id: "sighting--nope", count: 1, first: new Date(now).toISOString(), last: new Date(now).toISOString() }, tb);
    expect(malformed.data.reportSighting.errors.map((e: any) => e.field)).toEqual(["indicatorId"]);
    const stranger = await t.gql(REPORT, { id, count: 1, first: new Date(now).toISOString(), last: new Date(now).toISOString(), shared: ["no-such-org-x1"] }, tb);
    expect(stranger.data.reportSighting.errors).toEqual([{ field: "sharedWith[0]", code: "BAD_USER_INPUT", message: "sharedWith[0]: 'no-such-org-x1' is not a member org" }]);

    const score = await t.gql(`query { indicators(filter: { minScore: 101 }) { edges { node { id } } } }`, {}, tb);
    expect(score.errors?.[0]?.message).toMatch(/filter\.minScore: must be from 0 to 100/);
    const lookupScore = await t.gql(`query { lookupIndicators(values: ["x"], minScore: -1) { id } }`, {}, tb);
    expect(lookupScore.errors?.[0]?.message).toMatch(/^minScore: must be from 0 to 100/);
  });
});
