import "reflect-metadata";
import { randomBytes, randomUUID } from "node:crypto";
import type { Client } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collect, orgId, startTestHub, type TestHub } from "./support/hub.js";

/**
 * TLP 2.0 on every read path: an AMBER, AMBER_STRICT or RED indicator is seen only by its owner and
 * the orgs it is shared with, through the gateway (lists, counts, lookups, by id, subscriptions live
 * and replayed), through `_entities` sent straight to the subgraph, and a mutation by someone who may
 * not see it answers as if it did not exist. Every negative check has its positive twin (the owner,
 * or an org it is shared with, sees the same record by the same path), so a path that returns nothing
 * at all cannot pass.
 */

const PUBLISH = `mutation($input: [IndicatorInput!]!) {
  publishIndicators(input: $input) { published failed results { error { field message } indicator { id value tlp owner sharedWith } } }
}`;
const LIST = `query($f: IndicatorFilter) { indicators(filter: $f, first: 500) { totalCount edges { node { id value owner tlp sharedWith } } } }`;
const COUNT = `query($f: IndicatorFilter) { indicators(filter: $f) { totalCount } }`;
const LOOKUP = `query($v: [String!]!) { lookupIndicators(values: $v) { id value owner tlp sharedWith } }`;
const BY_ID = `query($id: ID!) { indicator(id: $id) { id value owner tlp sharedWith revoked } }`;
const REVOKE = `mutation($id: ID!) { revokeIndicator(id: $id) { id revoked } }`;
const ENTITIES = `query($r:[_Any!]!){ _entities(representations:$r){ ... on Indicator { id value } } }`;
const ENTITIES_SHARED = `query($r:[_Any!]!){ _entities(representations:$r){ ... on Indicator { id value sharedWith } } }`;
const SUBSCRIBE = `subscription($after: String) { indicatorPublished(after: $after) { cursor indicator { id value owner tlp sharedWith } } }`;

interface Published {
  cursor: string;
  indicator: { id: string; value: string; owner: string; tlp: string; sharedWith: string[] };
}
type Event = { indicatorPublished: Published };

const uniqueDomain = (tag: string) => `${tag.replace(/_/g, "-")}-${randomBytes(5).toString("hex")}.tlp-test.example`;

/** A subscription that records everything it receives, with a way to wait for a given value. */
function watch(client: Client, after: string | null) {
  const sub = collect<Event>(client, SUBSCRIBE, { after }, Number.MAX_SAFE_INTEGER, 30_000);
  const values = () => sub.received.map((e) => e.indicatorPublished.indicator.value);
  async function waitFor(value: string, timeoutMs = 15_000): Promise<Published> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = sub.received.find((e) => e.indicatorPublished.indicator.value === value);
      if (hit) return hit.indicatorPublished;
      if (sub.errors.length) throw new Error(`subscription failed: ${JSON.stringify(sub.errors)}`);
      if (Date.now() > deadline) throw new Error(`no event for ${value} within ${timeoutMs} ms; got ${JSON.stringify(values())}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  return { ...sub, values, waitFor };
}

describe("TLP is enforced on every path", () => {
  let t: TestHub;
  const A = orgId("tlp-owner");
  const B = orgId("tlp-other");
  const C = orgId("tlp-third");
  const D = orgId("tlp-fourth");
  const tokens: Record<string, string> = {};
  const clients: Client[] = [];
  let entitiesUrl: string;

  const gql = (org: string, query: string, variables?: Record<string, unknown>) => t.gql(query, variables, tokens[org]);
  const ok = async (org: string, query: string, variables?: Record<string, unknown>) => {
    const res = await gql(org, query, variables);
    expect(res.errors, `${org}: ${query}`).toBeUndefined();
    return res.data;
  };
  const client = (org: string) => {
    const c = t.ws(tokens[org]!);
    clients.push(c);
    return c;
  };

  async function publish(org: string, items: Record<string, unknown>[]) {
    const data = await ok(org, PUBLISH, { input: items });
    expect(data.publishIndicators.failed, JSON.stringify(data.publishIndicators.results)).toBe(0);
    return data.publishIndicators.results.map((r: any) => r.indicator) as Published["indicator"][];
  }

  /**
   * A live subscription of `org` that is known to be up: GREEN markers of A are published until one
   * arrives. Returns the subscription and the cursor of the marker it received.
   */
  async function liveSubscription(org: string) {
    const sub = watch(client(org), null);
    for (let attempt = 0; ; attempt++) {
      const marker = uniqueDomain("marker");
      await publish(A, [{ type: "DOMAIN", value: marker, tlp: "GREEN" }]);
      try {
        const event = await sub.waitFor(marker, 1_000);
        return { sub, cursor: event.cursor };
      } catch (err) {
        if (attempt >= 20) throw err;
      }
    }
  }

  beforeAll(async () => {
    t = await startTestHub();
    for (const org of [A, B, C, D]) {
      tokens[org] = await t.token(org, "PROVIDER", ["indicators:read", "indicators:write"]);
      // The first use of a valid token enters its org in the directory, so that A may share with it.
      const who = await ok(org, `{ viewer { org } }`);
      expect(who.viewer.org).toBe(org);
    }
    entitiesUrl = t.subgraphUrl("indicators");
  });
  afterAll(async () => {
    for (const c of clients) await c.dispose();
    await t?.stop();
  });

  /** Checks every path for `viewer`: `visible` says whether it must see `record`. */
  async function expectVisibility(viewer: string, record: Published["indicator"], tlp: string, visible: boolean) {
    const list = await ok(viewer, LIST, { f: { owner: A, tlp: [tlp] } });
    const listed = list.indicators.edges.map((e: any) => e.node.id);
    if (visible) expect(listed).toContain(record.id);
    else expect(listed).not.toContain(record.id);
    expect(list.indicators.edges.every((e: any) => e.node.owner === A && e.node.tlp === tlp)).toBe(true);

    // Counts: the same filter with no list attached.
    const count = await ok(viewer, COUNT, { f: { owner: A, tlp: [tlp] } });
    expect(count.indicators.totalCount).toBe(list.indicators.edges.length);

    const lookup = await ok(viewer, LOOKUP, { v: [record.value, record.value.toUpperCase()] });
    expect(lookup.lookupIndicators.map((i: any) => i.id)).toEqual(visible ? [record.id] : []);

    const byId = await ok(viewer, BY_ID, { id: record.id });
    if (visible) expect(byId.indicator).toMatchObject({ id: record.id, value: record.value, owner: A, tlp });
    else expect(byId.indicator).toBeNull();

    // Federation's `_entities`, sent straight to the subgraph with the viewer's own token.
    const entities = await t.gql(ENTITIES, { r: [{ __typename: "Indicator", id: record.id }] }, tokens[viewer], entitiesUrl);
    expect(entities.errors).toBeUndefined();
    expect(entities.data._entities).toEqual([visible ? { id: record.id, value: record.value } : null]);
  }

  /** Revoking what one may not see is answered as "no such indicator": no error that reveals it. */
  async function expectRevokeNotFound(viewer: string, record: Published["indicator"]) {
    const res = await gql(viewer, REVOKE, { id: record.id });
    expect(res.errors).toBeUndefined();
    expect(res.data).toEqual({ revokeIndicator: null });
    // And the answer is the same as for an id that names nothing.
    const nothing = await gql(viewer, REVOKE, { id: `indicator--${randomUUID()}` });
    expect(nothing).toEqual(res);
  }

  for (const tlp of ["AMBER", "AMBER_STRICT", "RED"] as const) {
    describe(`${tlp}`, () => {
      it(`is invisible to other orgs unless shared with them, on every path`, async () => {
        // Live subscriptions of the owner and of B, both known to be up, and where they stand.
        const ownerLive = await liveSubscription(A);
        const bLive = await liveSubscription(B);
        const cLive = await liveSubscription(C);
        // The last marker: every event after it is one this test published.
        const start = cLive.cursor;

        const value = uniqueDomain(tlp.toLowerCase());
        const [secret] = await publish(A, [{ type: "DOMAIN", value, tlp }]);
        expect(secret).toMatchObject({ value, tlp, owner: A, sharedWith: [] });
        const after = uniqueDomain("after");
        await publish(A, [{ type: "DOMAIN", value: after, tlp: "GREEN" }]);

        // The owner sees it everywhere; B sees it nowhere.
        await expectVisibility(A, secret!, tlp, true);
        await expectVisibility(B, secret!, tlp, false);

        // Live: the owner receives the secret; B receives the GREEN event after it, and not the secret.
        await ownerLive.sub.waitFor(value);
        await bLive.sub.waitFor(after);
        expect(bLive.sub.values()).not.toContain(value);

        // Replay from before it: the same.
        const ownerReplay = watch(client(A), start);
        const bReplay = watch(client(B), start);
        await ownerReplay.waitFor(after);
        await bReplay.waitFor(after);
        expect(ownerReplay.values()).toEqual([value, after]);
        expect(bReplay.values()).toEqual([after]);

        // B may not revoke it, and is not told that it exists.
        await expectRevokeNotFound(B, secret!);
        expect((await ok(A, BY_ID, { id: secret!.id })).indicator.revoked).toBe(false);

        // Republished (same type and value: the same indicator) shared with B.
        const [shared] = await publish(A, [{ type: "DOMAIN", value, tlp, sharedWith: [B] }]);
        expect(shared!.id).toBe(secret!.id);
        expect(shared!.sharedWith).toEqual([B]);
        const after2 = uniqueDomain("after2");
        await publish(A, [{ type: "DOMAIN", value: after2, tlp: "GREEN" }]);

        await expectVisibility(B, shared!, tlp, true);
        await expectVisibility(C, shared!, tlp, false);

        // Live: B now receives the republished event; C still does not.
        const bEvent = await bLive.sub.waitFor(value);
        expect(bEvent.indicator).toEqual({ id: secret!.id, value, owner: A, tlp, sharedWith: [B] });
        await bLive.sub.waitFor(after2);
        expect(bLive.sub.values().filter((v) => v === value)).toHaveLength(1);
        await cLive.sub.waitFor(after2);
        expect(cLive.sub.values()).not.toContain(value);

        // Replay from before both events: B gets only the one that was shared with it.
        const bReplay2 = watch(client(B), start);
        const cReplay = watch(client(C), start);
        await bReplay2.waitFor(after2);
        await cReplay.waitFor(after2);
        expect(bReplay2.values()).toEqual([after, value, after2]);
        expect(cReplay.values()).toEqual([after, after2]);

        // Shared with B, B may see it but still may not revoke it; C is told it does not exist.
        const bRevoke = await gql(B, REVOKE, { id: secret!.id });
        expect(bRevoke.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
        await expectRevokeNotFound(C, secret!);
        expect((await ok(A, BY_ID, { id: secret!.id })).indicator.revoked).toBe(false);

        for (const s of [ownerLive.sub, bLive.sub, cLive.sub, ownerReplay, bReplay, bReplay2, cReplay]) {
          expect(s.errors).toEqual([]);
          s.stop();
        }
      });
    });
  }

  for (const tlp of ["GREEN", "CLEAR"] as const) {
    it(`${tlp} is visible to every member on every path`, async () => {
      const bLive = await liveSubscription(B);
      const value = uniqueDomain(tlp.toLowerCase());
      const [open] = await publish(A, [{ type: "DOMAIN", value, tlp }]);
      for (const viewer of [A, B, C]) await expectVisibility(viewer, open!, tlp, true);
      const event = await bLive.sub.waitFor(value);
      expect(event.indicator).toEqual({ id: open!.id, value, owner: A, tlp, sharedWith: [] });
      const replay = watch(client(C), bLive.cursor);
      await replay.waitFor(value);
      expect(replay.values()).toEqual([value]);
      for (const s of [bLive.sub, replay]) {
        expect(s.errors).toEqual([]);
        s.stop();
      }
    });
  }

  it("shows sharedWith to a recipient only as far as it names the recipient; the owner sees all of it", async () => {
    const bLive = await liveSubscription(B);
    const value = uniqueDomain("shared-list");
    const [record] = await publish(A, [{ type: "DOMAIN", value, tlp: "AMBER", sharedWith: [D, B, C] }]);
    expect(record!.sharedWith).toEqual([B, C, D].sort());

    const full = [B, C, D].sort();
    expect((await ok(A, BY_ID, { id: record!.id })).indicator.sharedWith).toEqual(full);
    for (const viewer of [B, C, D]) {
      expect((await ok(viewer, BY_ID, { id: record!.id })).indicator.sharedWith).toEqual([viewer]);
      const list = await ok(viewer, LIST, { f: { owner: A, tlp: ["AMBER"] } });
      const node = list.indicators.edges.find((e: any) => e.node.id === record!.id)?.node;
      expect(node.sharedWith).toEqual([viewer]);
      const lookup = await ok(viewer, LOOKUP, { v: [value] });
      expect(lookup.lookupIndicators[0].sharedWith).toEqual([viewer]);
      const entities = await t.gql(ENTITIES_SHARED, { r: [{ __typename: "Indicator", id: record!.id }] }, tokens[viewer], entitiesUrl);
      expect(entities.data._entities).toEqual([{ id: record!.id, value, sharedWith: [viewer] }]);
    }
    const ownerEntities = await t.gql(ENTITIES_SHARED, { r: [{ __typename: "Indicator", id: record!.id }] }, tokens[A], entitiesUrl);
    expect(ownerEntities.data._entities).toEqual([{ id: record!.id, value, sharedWith: full }]);

    // The subscription payload follows the same rule.
    const event = await bLive.sub.waitFor(value);
    expect(event.indicator.sharedWith).toEqual([B]);
    const ownerReplay = watch(client(A), bLive.cursor);
    expect((await ownerReplay.waitFor(value)).indicator.sharedWith).toEqual(full);
    bLive.sub.stop();
    ownerReplay.stop();
  });
});
