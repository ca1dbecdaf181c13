import "reflect-metadata";
import { randomBytes } from "node:crypto";
import type { MikroORM } from "@mikro-orm/postgresql";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Viewer } from "../src/auth/viewer.js";
import { createOrm } from "../src/db/orm.js";
import { encodeCursor } from "../src/events/cursor.js";
import type { HubEvent } from "../src/events/event.js";
import type { EventStream } from "../src/events/event-stream.js";
import { appendEvents } from "../src/events/outbox.js";
import { Organization } from "../src/orgs/organization.entity.js";
import { orgId, startTestHub, type TestHub } from "./support/hub.js";
import { sleep } from "./support/wait.js";

/**
 * The log's one promise to readers: paging by `seq > cursor` never passes over an event that commits
 * late. Many writer transactions append concurrently, each with a random delay before its append and
 * between its append and its commit (the window in which a sequence number is taken but not yet
 * visible), some rolling back, while a reader pages as fast as it can. What the reader collects must
 * be exactly what committed, in sequence order, and a subscription started mid-way must agree.
 */

const WRITERS = 120;
const ROLLBACK_EVERY = 5; // every fifth writer rolls back after appending
const PAGE = 7; // small pages: the reader comes back often

const randomMs = (max: number) => Math.floor(Math.random() * (max + 1));

class RollBack extends Error {}

interface Payload {
  run: string;
  writer: number;
  n: number;
}

describe("the event log under concurrent writers", () => {
  let t: TestHub;
  let orm: MikroORM;
  let stream: EventStream;
  const run = randomBytes(4).toString("hex");
  const topic = `test.event-log.${run}`;
  const owner = orgId("eventlog");
  const expiresAt = Math.floor(Date.now() / 1000) + 3600;
  const viewer: Viewer = { sub: "event-log-test", org: owner, orgKind: "PROVIDER", scopes: new Set(), expiresAt, validUntilMs: expiresAt * 1000 };

  beforeAll(async () => {
    t = await startTestHub();
    stream = t.hub.services!.events;
    // The writers' own pool, large enough that many transactions are open at once.
    orm = await createOrm(inject("databaseUrl"), [Organization], 30);
  });
  afterAll(async () => {
    await orm?.close(true);
    await t?.stop();
  });

  it("never lets a paging reader or a subscription skip an event that commits late", async () => {
    const key = (e: HubEvent) => {
      const p = e.payload as unknown as Payload;
      return `${p.writer}:${p.n}`;
    };
    const db = new pg.Client({ connectionString: inject("databaseUrl") });
    await db.connect();
    const start = Number((await db.query("select coalesce(max(seq), 0) as seq from hub.event")).rows[0].seq);

    const committed: string[][] = [];
    const rolledBack: string[] = [];
    let writing = true;
    let inFlight = 0;
    let maxInFlight = 0;

    async function writer(i: number): Promise<void> {
      await sleep(randomMs(400)); // spread the writers over time
      const count = 1 + (i % 3);
      const events = Array.from({ length: count }, (_, n) => ({ topic, owner, tlp: "AMBER" as const, sharedWith: [], payload: { run, writer: i, n } }));
      const rollBack = i % ROLLBACK_EVERY === 0;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        await orm.em.fork().transactional(async (em) => {
          const ctx = em.getTransactionContext();
          // Some work of the transaction's own, then a while before the change is reported.
          await em.getConnection().execute("select count(*) from hub.organization", [], "all", ctx);
          await sleep(randomMs(50));
          await appendEvents(em, events);
          // A commit that comes late: the sequence numbers are taken, the rows not yet visible.
          await sleep(randomMs(15));
          if (rollBack) throw new RollBack();
        });
        committed.push(events.map((e) => `${e.payload.writer}:${e.payload.n}`));
      } catch (err) {
        if (!(err instanceof RollBack)) throw err;
        rolledBack.push(...events.map((e) => `${e.payload.writer}:${e.payload.n}`));
      } finally {
        inFlight--;
      }
    }

    // The reader: pages by cursor as fast as it can while the writers run, then drains.
    const read: HubEvent[] = [];
    let polls = 0;
    let pollsWithEvents = 0;
    let pollsWhileWritersOpen = 0;
    const reader = (async () => {
      let cursor = start;
      for (;;) {
        const done = !writing;
        const page = await stream.readVisible(viewer, [topic], cursor, PAGE);
        polls++;
        if (!done) {
          if (page.length) pollsWithEvents++;
          if (inFlight > 0) pollsWhileWritersOpen++;
        }
        read.push(...page);
        if (page.length) cursor = page[page.length - 1]!.seq;
        else if (done) return;
      }
    })();

    // A subscription that starts while the writers are running, from before the first of them: it
    // replays from the log and then goes live, and must end with the same events as the reader.
    const subscribed: HubEvent[] = [];
    let target = Infinity;
    let subscription: AsyncIterableIterator<HubEvent> | undefined;
    const subscriber = (async () => {
      await sleep(150);
      expect(inFlight).toBeGreaterThan(0);
      subscription = stream.subscribe({ topics: [topic], viewer, after: encodeCursor(start) });
      for await (const event of subscription) {
        subscribed.push(event);
        if (subscribed.length >= target) break;
      }
    })();

    const writers = Array.from({ length: WRITERS }, (_, i) => writer(i));
    await Promise.all(writers);
    writing = false;
    await reader;

    const expected = committed.flat();
    target = expected.length;
    if (subscribed.length >= target) await subscription?.return?.();
    const subscriptionDone = await Promise.race([subscriber.then(() => true), sleep(15_000).then(() => false)]);
    if (!subscriptionDone) await subscription?.return?.();

    // The test did what it says: writers overlapped, and the reader ran among them and saw them come in.
    expect(maxInFlight).toBeGreaterThan(10);
    expect(rolledBack.length).toBeGreaterThan(0);
    expect(pollsWhileWritersOpen).toBeGreaterThan(20);
    expect(pollsWithEvents).toBeGreaterThan(10);

    // What committed, as the database has it after the fact, in sequence order.
    const { rows } = await db.query<{ seq: string; payload: Payload }>(
      "select seq, payload from hub.event where topic = $1 and seq > $2 order by seq",
      [topic, start],
    );
    await db.end();
    const inLog = rows.map((r) => `${r.payload.writer}:${r.payload.n}`);
    expect(new Set(inLog)).toEqual(new Set(expected));
    expect(inLog).toHaveLength(expected.length);
    for (const k of rolledBack) expect(inLog).not.toContain(k);

    // The reader: exactly the log, in order, nothing twice, nothing skipped.
    expect(read.map(key)).toEqual(inLog);
    expect(read.map((e) => e.seq)).toEqual(rows.map((r) => Number(r.seq)));

    // The subscription: the same.
    expect(subscriptionDone).toBe(true);
    expect(subscribed.map(key)).toEqual(inLog);
    expect(subscribed.map((e) => e.seq)).toEqual(rows.map((r) => Number(r.seq)));

    // Appends are serialised: each transaction's events are contiguous, in the order they were appended.
    for (const events of committed) {
      const at = inLog.indexOf(events[0]!);
      expect(inLog.slice(at, at + events.length)).toEqual(events);
    }
  });

  it("lets a subscriber that falls behind by more than its queue holds catch up from the log, losing nothing", async () => {
    const slowTopic = `${topic}.slow`;
    const live = stream.subscribe({ topics: [slowTopic], viewer }); // live from now; not read for a while
    const total = 6_000; // more than a subscriber's live queue holds (5,000)
    await orm.em.fork().transactional((em) =>
      appendEvents(em, Array.from({ length: total }, (_, n) => ({ topic: slowTopic, owner, tlp: "AMBER" as const, sharedWith: [], payload: { run, writer: -1, n } }))),
    );
    const db = new pg.Client({ connectionString: inject("databaseUrl") });
    await db.connect();
    const last = Number((await db.query("select max(seq) as seq from hub.event where topic = $1", [slowTopic])).rows[0].seq);
    await db.end();
    // Every event has been fanned out, so the subscriber's queue overflowed before it read one.
    for (let i = 0; stream.position < last; i++) {
      if (i > 500) throw new Error("the event reader did not reach the appended events");
      await sleep(20);
    }
    const received: number[] = [];
    const seqs: number[] = [];
    while (received.length < total) {
      const { value, done } = await live.next();
      if (done) break;
      received.push((value.payload as unknown as Payload).n);
      seqs.push(value.seq);
    }
    await live.return!();
    expect(received).toEqual(Array.from({ length: total }, (_, n) => n));
    expect(seqs[seqs.length - 1]).toBe(last);
  });
});
