import "reflect-metadata";
import { randomBytes } from "node:crypto";
import type { Client } from "graphql-ws";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { parse, print, type GraphQLSchema } from "graphql";
import { planShare, type SharedSubscriptionStats } from "../gateway/shared-subscriptions.js";
import { orgId, startTestHub, type TestHub } from "./support/hub.js";
import { recordFeed, type FeedRecording } from "./support/feed.js";
import { sleep, until } from "./support/wait.js";

/**
 * Subscribers of the same feed through the gateway share one upstream subscription and one execution
 * per event (gateway/shared-subscriptions.ts), each keeping its own cursor, replay and token expiry.
 * Real gateway, real subgraphs, real PostgreSQL, real graphql-ws clients; the gateway's counters tell
 * how many upstreams it started.
 */

const RING = 8;
const PUBLISH = `mutation($input: [IndicatorInput!]!) { publishIndicators(input: $input) { failed } }`;
const FEED = `subscription($after: String) { indicatorPublished(after: $after) { cursor indicator { id value owner tlp } } }`;

let counter = 0;
const run = randomBytes(3).toString("hex");
const nextValue = (tag: string) => `${tag}-${String(++counter).padStart(4, "0")}-${run}.shared-test.example`;

const record = recordFeed;
type Recording = FeedRecording;

describe("shared subscriptions through the gateway", () => {
  let t: TestHub;
  const P = orgId("shared-pub");
  const A = orgId("shared-a");
  const B = orgId("shared-b");
  let publisherToken: string;
  let aToken: string;
  let bToken: string;
  let clients: Client[] = [];
  const client = (token: string) => {
    const c = t.ws(token);
    clients.push(c);
    return c;
  };
  const stats = (): SharedSubscriptionStats => t.hub.gateway!.sharedSubscriptions.stats();

  /** Publishes indicators of P: AMBER shared with `sharedWith` (only they and P see them), or GREEN. */
  async function publish(values: string[], sharedWith: string[] | null = [A]): Promise<void> {
    const input = values.map((value) => (sharedWith ? { type: "DOMAIN", value, tlp: "AMBER", sharedWith } : { type: "DOMAIN", value, tlp: "GREEN" }));
    const res = await t.gql(PUBLISH, { input }, publisherToken);
    expect(res.errors).toBeUndefined();
    expect(res.data.publishIndicators.failed).toBe(0);
  }

  /** Waits until `n` more subscribers than `before` are being served through shared upstreams. */
  const joined = (before: SharedSubscriptionStats, n: number) =>
    until(`${n} subscribers to join`, () => stats().subscribers >= before.subscribers + n);

  /** The events of one subscription among `values`, in the order received. */
  const among = (sub: Recording, values: string[]) => sub.values().filter((v) => values.includes(v));

  beforeAll(async () => {
    // A small ring, so that a cursor older than it is easy to make; a short clock skew, so that a 3 s
    // token stops being accepted 4 s after it was made.
    t = await startTestHub({ SUBSCRIPTION_RING_SIZE: String(RING), AUTH_CLOCK_SKEW_SECONDS: "1" });
    publisherToken = await t.token(P, "PROVIDER", ["indicators:read", "indicators:write"]);
    aToken = await t.token(A, "AGENCY", ["indicators:read"]);
    bToken = await t.token(B, "AGENCY", ["indicators:read"]);
    // A and B join the directory on first use of their tokens, so that P may share with them.
    for (const token of [aToken, bToken]) expect((await t.gql(`{ viewer { org } }`, {}, token)).errors).toBeUndefined();
  });
  afterEach(async () => {
    for (const c of clients) await c.dispose();
    clients = [];
    // Every group ends with its last subscriber.
    await until("every group to end", () => stats().groups === 0 && stats().subscribers === 0);
  });
  afterAll(async () => {
    for (const c of clients) await c.dispose();
    await t?.stop();
  });

  it("rewrites a feed's document for its group and leaves anything else alone", async () => {
    const schema = (await t.hub.gateway!.runtime.getSchema()) as GraphQLSchema;
    const plan = (query: string, variables: Record<string, unknown> = {}) => planShare(schema, parse(query), undefined, variables);
    const text = (query: string) => print(parse(query));

    const byVariable = plan(`subscription S($a: String, $f: Boolean!) { feed: indicatorPublished(after: $a) { indicator { id @include(if: $f) } } }`, { a: "d2YxOjU", f: true });
    expect(byVariable).toMatchObject({ rootKey: "feed", cursor: "d2YxOjU", variables: { f: true } });
    expect(print(byVariable!.document)).toBe(
      text(`subscription S($f: Boolean!, $__wfAfter: String) { feed: indicatorPublished(after: $__wfAfter) { indicator { id @include(if: $f) } __wfCursor: cursor } }`),
    );
    const byLiteral = plan(`subscription S($f: Boolean!) { feed: indicatorPublished(after: "d2YxOjU") { indicator { id @include(if: $f) } } }`, { f: true });
    expect(print(byLiteral!.document)).toBe(print(byVariable!.document));
    expect(plan(`subscription { indicatorRevoked { cursor } }`)).toMatchObject({ cursor: null, rootKey: "indicatorRevoked" });
    // A variable used elsewhere too stays; an absent one falls back to its default.
    const shared = plan(`subscription($a: String = "d2YxOjc") { indicatorPublished(after: $a) { cursor indicator { value @skip(if: false) } } }`);
    expect(shared?.cursor).toBe("d2YxOjc");
    // Not feeds, or using the gateway's hidden names: served as they are.
    expect(plan(`{ eventLogCursor }`)).toBeNull();
    expect(plan(`subscription { indicatorPublished { __wfCursor: cursor } }`)).toBeNull();
    expect(plan(`subscription($__wfAfter: String) { indicatorPublished(after: $__wfAfter) { cursor } }`)).toBeNull();
  });

  it("eventLogCursor is the log's current position, and a feed from it delivers exactly what follows", async () => {
    const first = await t.gql(`{ eventLogCursor }`, {}, aToken);
    expect(first.errors).toBeUndefined();
    const value = nextValue("after-cursor");
    await publish([value]);
    const second = await t.gql(`{ eventLogCursor }`, {}, aToken);
    expect(second.data.eventLogCursor).not.toBe(first.data.eventLogCursor);
    const sub = record(client(aToken), FEED, { after: first.data.eventLogCursor });
    await until("the event after the cursor", () => sub.state.events.length >= 1 || sub.state.ended);
    expect(sub.values()).toEqual([value]);
    expect(sub.state.events[0]!.cursor).toBe(second.data.eventLogCursor);
    // Without a token it is refused like every other query.
    expect((await t.gql(`{ eventLogCursor }`)).status).toBe(401);
  });

  it("20 subscribers of one org share one upstream and each receives every event exactly once, in order", async () => {
    const before = stats();
    const subs = Array.from({ length: 20 }, () => record(client(aToken), FEED, { after: null }));
    await joined(before, 20);
    const values = Array.from({ length: 6 }, () => nextValue("fanout"));
    await publish(values.slice(0, 2));
    await publish(values.slice(2, 5));
    await publish(values.slice(5));
    await until("every subscriber to receive all six", () => subs.every((s) => values.every((v) => s.has(v)) || s.state.ended));
    for (const sub of subs) {
      expect(sub.state.errors).toEqual([]);
      expect(sub.values()).toEqual(values);
      // The gateway's hidden cursor never reaches a client.
      expect(sub.state.payloads.every((p) => Object.keys(p.indicatorPublished!).sort().join() === "cursor,indicator")).toBe(true);
    }
    const after = stats();
    expect(after.groups - before.groups).toBe(1);
    expect(after.upstreamsStarted - before.upstreamsStarted).toBe(1);
    expect(after.catchUpsStarted).toBe(before.catchUpsStarted);
  });

  it("two orgs form two groups, and one org's AMBER indicator never reaches the other's", async () => {
    const before = stats();
    const a = [record(client(aToken), FEED), record(client(aToken), FEED)];
    const b = [record(client(bToken), FEED), record(client(bToken), FEED)];
    await joined(before, 4);
    expect(stats().groups - before.groups).toBe(2);
    const amberForA = nextValue("amber-a");
    const green = nextValue("green");
    await publish([amberForA]);
    await publish([green], null);
    await until("the events", () => [...a, ...b].every((s) => s.has(green) || s.state.ended));
    for (const sub of a) expect(among(sub, [amberForA, green])).toEqual([amberForA, green]);
    for (const sub of b) expect(among(sub, [amberForA, green])).toEqual([green]);
    expect(stats().upstreamsStarted - before.upstreamsStarted).toBe(2);
  });

  it("the same org with different scopes forms different groups", async () => {
    const before = stats();
    const writerToken = await t.token(A, "AGENCY", ["indicators:read", "indicators:write"]);
    const reader = record(client(aToken), FEED);
    const writer = record(client(writerToken), FEED);
    const reader2 = record(client(await t.token(A, "AGENCY", ["indicators:read"])), FEED);
    await joined(before, 3);
    const value = nextValue("scopes");
    await publish([value]);
    await until("the event", () => [reader, writer, reader2].every((s) => s.has(value)));
    const after = stats();
    expect(after.groups - before.groups).toBe(2);
    expect(after.upstreamsStarted - before.upstreamsStarted).toBe(2);
  });

  it("different variables form different groups; `after` as a literal or a variable shares one", async () => {
    const withValue = `subscription($after: String, $full: Boolean!) {
      indicatorPublished(after: $after) { cursor indicator { id value @include(if: $full) } }
    }`;
    const start = (await t.gql(`{ eventLogCursor }`, {}, aToken)).data.eventLogCursor as string;
    const before = stats();
    const full = record(client(aToken), withValue, { after: start, full: true });
    const brief = record(client(aToken), withValue, { after: start, full: false });
    const literal = record(client(aToken), withValue.replace("$after: String, ", "").replace("after: $after", `after: "${start}"`), { full: true });
    await joined(before, 3);
    const value = nextValue("vars");
    await publish([value]);
    await until("the event", () => full.has(value) && brief.state.events.length >= 1 && literal.has(value));
    expect(brief.state.events).toHaveLength(1);
    expect(brief.state.events[0]!.indicator).toEqual({ id: full.state.events[0]!.indicator.id });
    expect(literal.state.events).toEqual(full.state.events);
    // full and literal differ only in how they give `after`: one group for them, one for brief.
    const after = stats();
    expect(after.groups - before.groups).toBe(2);
    expect(after.upstreamsStarted - before.upstreamsStarted).toBe(2);
  });

  // What the group executed before a subscriber came back is not served to it from memory (the viewer
  // may see less by now): the log replays what it missed, then it joins the group without a gap.
  it("a subscriber that comes back with its last cursor receives exactly what it missed, replayed for it, then the group's events", async () => {
    const before = stats();
    const keeper = record(client(aToken), FEED);
    const leaver = record(client(aToken), FEED);
    await joined(before, 2);
    const seen = [nextValue("seen"), nextValue("seen")];
    await publish(seen);
    await until("the first events", () => seen.every((v) => leaver.has(v)));
    leaver.stop();
    await until("the leaver to leave", () => stats().subscribers === before.subscribers + 1);
    const missed = [nextValue("missed"), nextValue("missed"), nextValue("missed")];
    await publish(missed.slice(0, 1));
    await publish(missed.slice(1));
    await until("the keeper to have them", () => missed.every((v) => keeper.has(v)));

    const lastCursor = leaver.state.events[leaver.state.events.length - 1]!.cursor;
    const back = record(client(aToken), FEED, { after: lastCursor });
    await until("the missed events", () => back.state.events.length >= 3 || back.state.ended);
    expect(stats().catchUpsStarted - before.catchUpsStarted).toBe(1);
    const live = [nextValue("live"), nextValue("live")];
    await publish(live.slice(0, 1));
    await until("the first live event", () => back.has(live[0]!) && keeper.has(live[0]!));
    // Past where the group was when it came back: the private upstream is gone, the group serves it.
    await until("the private catch-up to end", () => stats().catchingUp === 0);
    await publish(live.slice(1));
    await until("the second live event", () => back.has(live[1]!) && keeper.has(live[1]!));
    expect(back.values()).toEqual([...missed, ...live]);
    expect(keeper.values()).toEqual([...seen, ...missed, ...live]);
    expect(back.state.errors).toEqual([]);
    const after = stats();
    expect(after.upstreamsStarted - before.upstreamsStarted).toBe(1);
    expect(after.catchUpsStarted - before.catchUpsStarted).toBe(1);
  });

  it("a subscriber whose cursor is older than the ring catches up privately, then joins the group without a gap", async () => {
    const before = stats();
    const keeper = record(client(aToken), FEED);
    const leaver = record(client(aToken), FEED);
    await joined(before, 2);
    const first = nextValue("old");
    await publish([first]);
    await until("the first event", () => leaver.has(first));
    const oldCursor = leaver.state.events[0]!.cursor;
    leaver.stop();
    // Far more than the ring holds, with events of others in between that A may not see.
    const missed: string[] = [];
    for (let i = 0; i < 4; i++) {
      const batch = Array.from({ length: RING }, () => nextValue("old-missed"));
      await publish(batch);
      await publish([nextValue("for-b")], [B]);
      missed.push(...batch);
    }
    await until("the keeper to have them", () => missed.every((v) => keeper.has(v)));

    const back = record(client(aToken), FEED, { after: oldCursor });
    await until("the missed events", () => back.state.events.length >= missed.length || back.state.ended);
    expect(stats().catchUpsStarted - before.catchUpsStarted).toBe(1);
    const live = [nextValue("joined"), nextValue("joined")];
    await publish(live.slice(0, 1));
    await until("the first live event", () => back.has(live[0]!));
    // Caught up: the private upstream is gone and the subscriber is the group's.
    await until("the private catch-up to end", () => stats().catchingUp === 0);
    await publish(live.slice(1));
    await until("the second live event", () => back.has(live[1]!) && keeper.has(live[1]!));

    expect(back.values()).toEqual([...missed, ...live]);
    const seqs = back.state.events.map((e) => Number(Buffer.from(e.cursor, "base64url").toString().slice(4)));
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(back.state.errors).toEqual([]);
    const after = stats();
    expect(after.groups - before.groups).toBe(1);
    expect(after.upstreamsStarted - before.upstreamsStarted).toBe(1);
  });

  it("when the group's upstream token expires, a subscriber with a longer token keeps every event; the expired one's socket closes with 4403", async () => {
    const before = stats();
    // The short-lived token starts the group, so the upstream runs on it.
    const shortToken = await t.token(A, "AGENCY", ["indicators:read"], { ttlSeconds: 3 });
    const short = record(client(shortToken), FEED);
    await joined(before, 1);
    const long = record(client(aToken), FEED);
    await joined(before, 2);
    expect(stats().groups - before.groups).toBe(1);

    const published: string[] = [];
    let publishing = true;
    const publisher = (async () => {
      while (publishing) {
        const value = nextValue("steady");
        await publish([value]);
        published.push(value);
        await sleep(100);
      }
    })();
    await until("the short-lived subscriber's socket to close", () => short.state.close !== undefined, 10_000);
    await sleep(1_000); // more events after the group's upstream moved to the long token
    publishing = false;
    await publisher;
    const sentinel = nextValue("sentinel");
    await publish([sentinel]);
    published.push(sentinel);
    await until("the sentinel", () => long.has(sentinel) || long.state.ended);

    expect(short.state.close).toMatchObject({ code: 4403, reason: "Forbidden: token expired" });
    expect(short.state.events.length).toBeGreaterThan(0);
    expect(long.state.errors).toEqual([]);
    expect(long.values()).toEqual(published);
    // Started on the short token, restarted once on the long one.
    const after = stats();
    expect(after.upstreamsStarted - before.upstreamsStarted).toBe(2);
    expect(after.groups - before.groups).toBe(1);
  });
});

describe("the ring and the log's retention", () => {
  let t: TestHub;
  const P = orgId("ring-pub");
  const A = orgId("ring-a");
  const clients: Client[] = [];

  beforeAll(async () => {
    t = await startTestHub({ SUBSCRIPTION_RING_SECONDS: "1" });
  });
  afterAll(async () => {
    for (const c of clients) await c.dispose();
    await t?.stop();
  });

  it("a cursor behind the group goes to the log, under its retention rule", async () => {
    const publisher = await t.token(P, "PROVIDER", ["indicators:read", "indicators:write"]);
    const reader = await t.token(A, "AGENCY", ["indicators:read"]);
    const open = (after: string | null) => {
      const c = t.ws(reader);
      clients.push(c);
      return record(c, FEED, { after });
    };
    const stats = () => t.hub.gateway!.sharedSubscriptions.stats();
    const before = (await t.gql(`{ eventLogCursor }`, {}, reader)).data.eventLogCursor as string;

    // A live subscriber keeps the group, and its ring, alive.
    const live = open(before);
    await until("the group to start", () => stats().groups === 1);
    const value = nextValue("ring");
    const res = await t.gql(PUBLISH, { input: [{ type: "DOMAIN", value, tlp: "GREEN" }] }, publisher);
    expect(res.data.publishIndicators.failed).toBe(0);
    await until("the live subscriber's event", () => live.has(value));

    const db = new pg.Client({ connectionString: inject("databaseUrl") });
    await db.connect();
    const { rows } = await db.query<{ pruned_through: string }>("select pruned_through from hub.event_retention");
    try {
      // As if the log had been pruned through its newest event, which is older than the ring keeps.
      await db.query("update hub.event_retention set pruned_through = (select max(seq) from hub.event)");
      await sleep(1_500);
      const late = open(before);
      await until("the late subscriber to be refused", () => late.state.ended);
      expect(late.state.events).toEqual([]);
      expect(late.state.errors[0]?.extensions?.code ?? late.state.errors[0]?.[0]?.extensions?.code).toBe("CURSOR_EXPIRED");
      expect(live.state.errors).toEqual([]);
    } finally {
      await db.query("update hub.event_retention set pruned_through = $1", [rows[0]!.pruned_through]);
      await db.end();
    }
  });
});
