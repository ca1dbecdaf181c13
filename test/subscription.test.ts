import "reflect-metadata";
import { randomBytes } from "node:crypto";
import type { Client } from "graphql-ws";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { collect, orgId, startTestHub, type TestHub } from "./support/hub.js";
import { recordFeed } from "./support/feed.js";
import { subscribeSse } from "./support/sse.js";
import { sleep, until } from "./support/wait.js";

/**
 * `indicatorPublished` through the gateway: live delivery, resume from a cursor after a disconnect
 * (graphql-ws and SSE), the end of a subscription at its token's expiry and the resume that follows,
 * and the errors for a cursor past retention and for one that is not a cursor at all.
 */

const PUBLISH = `mutation($input: [IndicatorInput!]!) {
  publishIndicators(input: $input) { failed results { error { field message } indicator { id value } } }
}`;
const SUBSCRIBE = `subscription($after: String) { indicatorPublished(after: $after) { cursor indicator { id value owner tlp } } }`;

interface Published {
  cursor: string;
  indicator: { id: string; value: string; owner: string; tlp: string };
}
type Event = { indicatorPublished: Published };

let counter = 0;
/** Values that sort and read well in a failure message, unique across runs. */
const run = randomBytes(3).toString("hex");
const nextValue = (tag: string) => `${tag}-${String(++counter).padStart(4, "0")}-${run}.sub-test.example`;

const record = (client: Client, after: string | null) => recordFeed<Published>(client, SUBSCRIBE, { after });

/** `indicatorPublished` over SSE through the gateway, from `after`. */
async function sse(url: string, token: string, after: string | null) {
  const sub = await subscribeSse<Published>(url, token, { query: SUBSCRIBE, variables: { after } });
  return { ...sub, values: () => sub.state.events.map((e) => e.indicator.value) };
}

/** GraphQL errors, whether they came as an `error` message (an array) or inside `next`; not close events. */
function graphqlErrors(errors: any[]): { message: string; extensions?: Record<string, unknown> }[] {
  return errors.flat().filter((e) => typeof e?.message === "string" && typeof e?.code !== "number");
}

/** The first GraphQL error's code. */
function errorCode(errors: any[]): unknown {
  return graphqlErrors(errors)[0]?.extensions?.code;
}

describe("indicatorPublished through the gateway", () => {
  let t: TestHub;
  const P = orgId("sub-publisher");
  const S = orgId("sub-reader");
  let publisherToken: string;
  let readerToken: string;
  const clients: Client[] = [];
  const client = (token: string) => {
    const c = t.ws(token);
    clients.push(c);
    return c;
  };

  /** Publishes AMBER indicators of P shared with S (only S and P can see them), one event each. */
  async function publish(values: string[]): Promise<void> {
    const res = await t.gql(PUBLISH, { input: values.map((value) => ({ type: "DOMAIN", value, tlp: "AMBER", sharedWith: [S] })) }, publisherToken);
    expect(res.errors).toBeUndefined();
    expect(res.data.publishIndicators.failed).toBe(0);
  }

  /** A live subscription of S known to be up (it has received a marker), and that marker's cursor. */
  async function live(token = readerToken) {
    const sub = record(client(token), null);
    for (let attempt = 0; ; attempt++) {
      const marker = nextValue("marker");
      await publish([marker]);
      try {
        await until(`marker ${marker}`, () => sub.has(marker) || sub.state.ended, 1_000);
        if (sub.state.ended) throw new Error(`subscription ended: ${JSON.stringify(sub.state.errors)}`);
        return { sub, cursor: sub.state.events.find((e) => e.indicator.value === marker)!.cursor };
      } catch (err) {
        if (attempt >= 20 || sub.state.ended) throw err;
      }
    }
  }

  beforeAll(async () => {
    // A short clock skew, so that a 3 s token stops being accepted 4 s after it was made.
    t = await startTestHub({ AUTH_CLOCK_SKEW_SECONDS: "1" });
    publisherToken = await t.token(P, "PROVIDER", ["indicators:read", "indicators:write"]);
    readerToken = await t.token(S, "AGENCY", ["indicators:read"]);
    // S joins the directory on first use of its token, so that P may share with it.
    expect((await t.gql(`{ viewer { org } }`, {}, readerToken)).data.viewer.org).toBe(S);
  });
  afterAll(async () => {
    for (const c of clients) await c.dispose();
    await t?.stop();
  });

  it("delivers what is published, in order, with a cursor on every event", async () => {
    const { sub } = await live();
    const values = [nextValue("live"), nextValue("live"), nextValue("live")];
    await publish(values.slice(0, 2));
    await publish(values.slice(2));
    await until("three live events", () => values.every((v) => sub.has(v)));
    const got = sub.state.events.filter((e) => values.includes(e.indicator.value));
    expect(got.map((e) => e.indicator.value)).toEqual(values);
    expect(got.every((e) => e.indicator.owner === P && e.indicator.tlp === "AMBER")).toBe(true);
    expect(new Set(got.map((e) => e.cursor)).size).toBe(3);
    expect(sub.state.errors).toEqual([]);
    sub.stop();
  });

  it("resumes after a disconnect with exactly the 50 missed events, in order, then goes live", async () => {
    const { sub } = await live();
    const before = [nextValue("before"), nextValue("before")];
    await publish(before);
    await until("events before the disconnect", () => before.every((v) => sub.has(v)));
    const lastCursor = sub.state.events[sub.state.events.length - 1]!.cursor;
    expect(sub.state.events[sub.state.events.length - 1]!.indicator.value).toBe(before[1]);
    // Disconnect: every client this test made so far goes away.
    for (const c of clients.splice(0)) await c.dispose();

    const missed: string[] = [];
    for (const size of [1, 9, 15, 5, 20]) {
      const batch = Array.from({ length: size }, () => nextValue("missed"));
      await publish(batch);
      missed.push(...batch);
    }
    expect(missed).toHaveLength(50);

    const resumed = record(client(readerToken), lastCursor);
    await until("the 50 missed events", () => resumed.state.events.length >= 50 || resumed.state.ended);
    expect(resumed.values()).toEqual(missed);

    // Then live: published only now that the replay has been received.
    const liveValues = [nextValue("after"), nextValue("after"), nextValue("after")];
    await publish(liveValues.slice(0, 1));
    await publish(liveValues.slice(1));
    const sentinel = nextValue("sentinel");
    await publish([sentinel]);
    await until("the live events", () => resumed.has(sentinel) || resumed.state.ended);
    // Exactly these, in order: nothing twice, nothing from before the cursor.
    expect(resumed.values()).toEqual([...missed, ...liveValues, sentinel]);
    expect(new Set(resumed.state.events.map((e) => e.cursor)).size).toBe(resumed.state.events.length);
    expect(resumed.state.errors).toEqual([]);
    resumed.stop();
  });

  it("replays from a cursor over SSE too", async () => {
    const { sub, cursor } = await live();
    sub.stop();
    const values = [nextValue("sse"), nextValue("sse"), nextValue("sse"), nextValue("sse")];
    await publish(values.slice(0, 3));

    const stream = await sse(t.gatewayUrl, readerToken, cursor);
    expect(stream.res.status).toBe(200);
    expect(stream.res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    await until("three replayed events over SSE", () => stream.state.events.length >= 3 || stream.state.ended);
    // And live over the same stream.
    await publish(values.slice(3));
    await until("the live event over SSE", () => stream.state.events.length >= 4 || stream.state.ended);
    await stream.stop();
    expect(stream.state.errors).toEqual([]);
    expect(stream.values()).toEqual(values);
  });

  it("closes a subscription when its token expires, and a new token resumes from the cursor losing nothing", async () => {
    const shortToken = await t.token(S, "AGENCY", ["indicators:read"], { ttlSeconds: 3 });
    const { sub } = await live(shortToken);

    // Publish steadily across the expiry and a little beyond it.
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

    await until("the short-lived subscription to end", () => sub.state.ended, 10_000);
    const firstSession = sub.state.events.filter((e) => !e.indicator.value.startsWith("marker-"));
    expect(firstSession.length).toBeGreaterThan(0);
    // It ends with a reason a client can act on: the gateway closes the socket at the token's expiry
    // (4403 "Forbidden: token expired"); should the subgraph's own end of the stream at expiry
    // (UNAUTHENTICATED) reach the client first, that says so too. Nothing else, and never a masked error.
    const errors = graphqlErrors(sub.state.errors);
    for (const e of errors) {
      expect(e.extensions?.code, JSON.stringify(e)).toBe("UNAUTHENTICATED");
      expect(e.message).toMatch(/token expired/);
    }
    const closedAtExpiry = sub.state.close?.code === 4403 && sub.state.close.reason === "Forbidden: token expired";
    expect(closedAtExpiry || errors.length > 0, JSON.stringify(sub.state)).toBe(true);

    await sleep(500); // a few more events while the subscriber is away
    publishing = false;
    await publisher;

    const lastCursor = sub.state.events[sub.state.events.length - 1]!.cursor;
    const freshToken = await t.token(S, "AGENCY", ["indicators:read"]);
    const resumed = record(client(freshToken), lastCursor);
    const sentinel = nextValue("sentinel");
    await until("the replay", () => resumed.state.events.length > 0 || resumed.state.ended);
    await publish([sentinel]);
    published.push(sentinel);
    await until("the sentinel", () => resumed.has(sentinel) || resumed.state.ended);
    expect(resumed.state.errors).toEqual([]);

    // Both sessions together: every event once, in order.
    expect([...firstSession.map((e) => e.indicator.value), ...resumed.values()]).toEqual(published);
    expect(resumed.state.events.length).toBeGreaterThan(1);
    resumed.stop();
  });

  it("closes a socket straight to a subgraph when its token expires, as the gateway does", async () => {
    const shortToken = await t.token(S, "AGENCY", ["indicators:read"], { ttlSeconds: 2 });
    const direct = t.ws(shortToken, t.subgraphUrl("indicators"));
    clients.push(direct);
    let closed: { code: number; reason: string } | undefined;
    direct.on("closed", (event) => {
      closed ??= event as { code: number; reason: string };
    });
    const sub = record(direct, null);
    await until("the socket to close at the token's expiry", () => closed !== undefined, 10_000);
    expect(closed).toMatchObject({ code: 4403, reason: "Forbidden: token expired" });
    sub.stop();
  });

  it("refuses a cursor older than the retention window with CURSOR_EXPIRED", async () => {
    const { sub } = await live();
    const [old, kept] = [nextValue("pruned"), nextValue("kept")];
    await publish([old]);
    await publish([kept]);
    await until("two events", () => sub.has(old) && sub.has(kept));
    sub.stop();
    const oldCursor = sub.state.events.find((e) => e.indicator.value === old)!.cursor;
    const keptCursor = sub.state.events.find((e) => e.indicator.value === kept)!.cursor;

    const db = new pg.Client({ connectionString: inject("databaseUrl") });
    await db.connect();
    const { rows } = await db.query<{ pruned_through: string }>("select pruned_through from hub.event_retention");
    const original = rows[0]!.pruned_through;
    try {
      // As if the log had been pruned up to and including `kept`'s event: `old`'s cursor is now too old.
      await db.query("update hub.event_retention set pruned_through = (select max(seq) from hub.event)");

      const expired = record(client(readerToken), oldCursor);
      await until("the refusal", () => expired.state.ended);
      expect(expired.state.events).toEqual([]);
      expect(errorCode(expired.state.errors)).toBe("CURSOR_EXPIRED");
      expect(graphqlErrors(expired.state.errors)[0].message).toMatch(/retention window/);

      // The same over SSE.
      const overSse = await sse(t.gatewayUrl, readerToken, oldCursor);
      await until("the refusal over SSE", () => overSse.state.ended);
      expect(overSse.state.events).toEqual([]);
      expect(errorCode(overSse.state.errors)).toBe("CURSOR_EXPIRED");
      expect(overSse.state.errors[0].message).toMatch(/retention window/);

      // A cursor at the retention mark itself still works: it has lost nothing.
      const fine = record(client(readerToken), keptCursor);
      const later = nextValue("later");
      await publish([later]);
      await until("an event after the mark", () => fine.has(later) || fine.state.ended);
      expect(fine.state.errors).toEqual([]);
      expect(fine.values()).toEqual([later]);
      fine.stop();
    } finally {
      await db.query("update hub.event_retention set pruned_through = $1", [original]);
      await db.end();
    }
  });

  it("refuses a malformed cursor with BAD_USER_INPUT", async () => {
    for (const after of ["not-a-cursor", Buffer.from("wf1:-4").toString("base64url"), "x".repeat(100)]) {
      const bad = collect<Event>(client(readerToken), SUBSCRIBE, { after }, 1);
      await bad.done;
      expect(bad.received).toEqual([]);
      expect(errorCode(bad.errors), JSON.stringify(bad.errors)).toBe("BAD_USER_INPUT");
      expect(graphqlErrors(bad.errors)[0].message).toMatch(/^after: /);

      const overSse = await sse(t.gatewayUrl, readerToken, after);
      await until("the refusal over SSE", () => overSse.state.ended);
      expect(errorCode(overSse.state.errors)).toBe("BAD_USER_INPUT");
    }
  });

  it("replays nothing of an indicator withdrawn from the viewer since, over graphql-ws and SSE, and straight at the subgraph", async () => {
    const { sub, cursor } = await live();
    sub.stop();
    const [kept, withdrawn] = [nextValue("kept"), nextValue("withdrawn")];
    await publish([kept, withdrawn]);
    // The publisher re-marks one of them RED, shared with no one: S may no longer see it at all.
    const remark = await t.gql(PUBLISH, { input: [{ type: "DOMAIN", value: withdrawn, tlp: "RED", sharedWith: [] }] }, publisherToken);
    expect(remark.data.publishIndicators.failed).toBe(0);
    const marker = nextValue("after-withdrawal");
    await publish([marker]);

    const overWs = record(client(readerToken), cursor);
    await until("the replay up to the marker", () => overWs.has(marker) || overWs.state.ended);
    expect(overWs.state.errors).toEqual([]);
    expect(overWs.values()).toEqual([kept, marker]);
    overWs.stop();

    const overSse = await sse(t.gatewayUrl, readerToken, cursor);
    await until("the SSE replay up to the marker", () => overSse.values().includes(marker) || overSse.state.ended);
    expect(overSse.values()).toEqual([kept, marker]);
    await overSse.stop();

    const directClient = t.ws(readerToken, t.subgraphUrl("indicators"));
    clients.push(directClient);
    const direct = record(directClient, cursor);
    await until("the direct replay up to the marker", () => direct.has(marker) || direct.state.ended);
    expect(direct.values()).toEqual([kept, marker]);
    direct.stop();

    // The owner still replays all of it, the RED re-publication included.
    const owner = record(client(publisherToken), cursor);
    await until("the owner's replay", () => owner.has(marker) || owner.state.ended);
    expect(owner.values()).toEqual([kept, withdrawn, withdrawn, marker]);
    owner.stop();
  });
});
