import "reflect-metadata";
import { randomUUID } from "node:crypto";
import type { Client } from "graphql-ws";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import type { Viewer } from "../src/auth/viewer.js";
import { encodeCursor } from "../src/events/cursor.js";
import { IncidentService } from "../subgraphs/incidents/incident.service.js";
import { orgId, startTestHub, type TestHub } from "./support/hub.js";
import { subscribeSse } from "./support/sse.js";
import { until } from "./support/wait.js";

/**
 * The incident feed shows an event only to a viewer that may see the incident as of that event and
 * now, with the incident and its timeline as they were after the event, and only events whose
 * timeline entries the viewer may read (a viewer not referred learns of no agency note and no
 * referral). Each rule is tried on every way to the feed: graphql-ws and SSE through the gateway, the
 * gateway's shared upstream (and its ring), and graphql-ws straight to the incidents subgraph; replayed
 * and live. Every negative has its positive twin: the reporter, on the same path, receives what the
 * other may not, so a path that delivers nothing cannot pass.
 */

const FEED = `subscription($after: String) { incidentFeed(after: $after) {
  cursor kind incident { id title tlp status timeline { kind authorOrg text agencies } times { toTriage toContain toClose } } } }`;
const REPORT = `mutation($input: IncidentInput!) { reportIncident(input: $input) { incident { id } error { field message code } } }`;
const UPDATE = `mutation($id: ID!, $input: IncidentUpdate!) { updateIncident(id: $id, input: $input) { incident { id } error { field message code } } }`;
const NOTE = `mutation($id: ID!, $text: String!) { addIncidentNote(id: $id, text: $text) { incident { id } error { field message code } } }`;
const REFER = `mutation($id: ID!, $agencies: [String!]!) { referIncident(id: $id, agencies: $agencies) { incident { id } error { field message code } } }`;
const GET = `query($id: ID!) { incident(id: $id) { id } }`;

interface Entry {
  kind: string;
  authorOrg: string;
  text: string | null;
  agencies: string[];
}
interface FeedEvent {
  cursor: string;
  kind: string;
  incident: { id: string; title: string; tlp: string; status: string; timeline: Entry[]; times: Record<string, number | null> };
}

/** What one subscription received, however it travelled. */
interface Recording {
  events: FeedEvent[];
  errors: unknown[];
  ended: boolean;
  /** Everything received, as text: to look for what must never appear. */
  raw: string[];
  stop(): Promise<void>;
}

function recordWs(client: Client, after: string | null): Recording {
  const rec: Recording = { events: [], errors: [], ended: false, raw: [], stop: () => client.dispose() as Promise<void> };
  client.subscribe<{ incidentFeed: FeedEvent }>(
    { query: FEED, variables: { after } },
    {
      next: (value) => {
        rec.raw.push(JSON.stringify(value));
        if (value.errors) rec.errors.push(...value.errors);
        if (value.data) rec.events.push(value.data.incidentFeed);
      },
      error: (err) => {
        rec.errors.push(err);
        rec.ended = true;
      },
      complete: () => {
        rec.ended = true;
      },
    },
  );
  return rec;
}

/** The feed over Server-Sent Events through the gateway. */
async function recordSse(url: string, token: string, after: string | null): Promise<Recording> {
  const sub = await subscribeSse<FeedEvent>(url, token, { query: FEED, variables: { after } });
  expect(sub.res.headers.get("content-type")).toMatch(/^text\/event-stream/);
  const { state } = sub;
  return {
    events: state.events,
    errors: state.errors,
    raw: state.raw,
    get ended() {
      return state.ended;
    },
    stop: sub.stop,
  };
}

const of = (rec: Recording, id: string) => rec.events.filter((e) => e.incident.id === id);
const kinds = (rec: Recording, id: string) => of(rec, id).map((e) => e.kind);

describe("the incident feed: as of the event and now", () => {
  let t: TestHub;
  let db: pg.Client;
  const ACME = orgId("ifa-acme");
  const BETA = orgId("ifa-beta");
  const AGENCY = orgId("ifa-agency");
  const OTHER_AGENCY = orgId("ifa-agency2");
  const tokens: Record<string, string> = {};
  const recordings: Recording[] = [];

  const ok = async (org: string, query: string, variables: Record<string, unknown>) => {
    const res = await t.gql(query, variables, tokens[org]);
    expect(res.errors, `${org}: ${JSON.stringify(res.errors)}`).toBeUndefined();
    const result = Object.values(res.data as Record<string, any>)[0];
    if (result && "error" in result) expect(result.error, JSON.stringify(result.error)).toBeNull();
    return result;
  };
  const report = async (org: string, input: Record<string, unknown>) => (await ok(org, REPORT, { input })).incident.id as string;
  const cursorNow = async () => encodeCursor(Number((await db.query("select coalesce(max(seq), 0) as seq from hub.event")).rows[0].seq));

  /** The same feed on each way to it: ws and SSE through the gateway, ws straight to the subgraph. */
  async function everyPath(org: string, after: string | null) {
    const paths = {
      "graphql-ws through the gateway": recordWs(t.ws(tokens[org]!), after),
      "SSE through the gateway": await recordSse(t.gatewayUrl, tokens[org]!, after),
      "graphql-ws straight to the subgraph": recordWs(t.ws(tokens[org]!, t.subgraphUrl("incidents")), after),
    };
    recordings.push(...Object.values(paths));
    return paths;
  }
  const waitFor = (paths: Record<string, Recording>, id: string) =>
    Promise.all(Object.entries(paths).map(([name, rec]) => until(`${name}: ${id}`, () => of(rec, id).length > 0 || rec.ended)));
  /** A GREEN incident of ACME that every subscriber sees: once it arrives, everything before it has. */
  const sentinel = () => report(ACME, { title: `sentinel ${randomUUID().slice(0, 8)}`, severity: "LOW", tlp: "GREEN" });

  /** Live subscriptions are known to be up once each has received a sentinel reported after it opened. */
  async function live(org: string) {
    const paths = await everyPath(org, null);
    for (let i = 0; ; i++) {
      const marker = await sentinel();
      try {
        await Promise.all(Object.entries(paths).map(([name, rec]) => until(`${name} to be live`, () => of(rec, marker).length > 0 || rec.ended, 1_000)));
        return paths;
      } catch (err) {
        if (i > 20) throw err;
      }
    }
  }

  beforeAll(async () => {
    t = await startTestHub();
    const rw = ["incidents:read", "incidents:write"];
    tokens[ACME] = await t.token(ACME, "PROVIDER", rw);
    tokens[BETA] = await t.token(BETA, "PROVIDER", rw);
    tokens[AGENCY] = await t.token(AGENCY, "AGENCY", rw);
    tokens[OTHER_AGENCY] = await t.token(OTHER_AGENCY, "AGENCY", rw);
    for (const org of Object.keys(tokens)) expect((await t.gql(`{ viewer { org } }`, {}, tokens[org])).data.viewer.org).toBe(org);
    db = new pg.Client({ connectionString: inject("databaseUrl") });
    await db.connect();
  });
  afterEach(async () => {
    // Each test starts its own groups at the gateway.
    for (const r of recordings.splice(0)) await r.stop();
    await until("every shared group to end", () => t.hub.gateway!.sharedSubscriptions.stats().groups === 0);
  });
  afterAll(async () => {
    await db?.end();
    await t?.stop();
  });

  it("a replay shows nothing of an incident the viewer may no longer see, on every path", async () => {
    const start = await cursorNow();
    const narrowed = await report(ACME, { title: "Shared, then withdrawn", severity: "HIGH", tlp: "AMBER", sharedWith: [BETA] });
    await ok(ACME, UPDATE, { id: narrowed, input: { tlp: "RED", sharedWith: [] } });
    await ok(ACME, NOTE, { id: narrowed, text: "withdrawn-secret: written after BETA lost sight of it" });
    const last = await sentinel();
    expect((await ok(BETA, GET, { id: narrowed }))).toBeNull();

    const beta = await everyPath(BETA, start);
    const acme = await everyPath(ACME, start);
    await waitFor(beta, last);
    await waitFor(acme, last);
    for (const [name, rec] of Object.entries(beta)) {
      expect(rec.errors, name).toEqual([]);
      expect(kinds(rec, narrowed), name).toEqual([]);
      expect(rec.raw.join("\n"), name).not.toContain("withdrawn");
    }
    for (const [name, rec] of Object.entries(acme)) {
      expect(rec.errors, name).toEqual([]);
      expect(kinds(rec, narrowed), name).toEqual(["REPORTED", "UPDATED", "NOTE"]);
    }
  });

  it("live, an event is not delivered once the incident is withdrawn from the viewer", async () => {
    const beta = await live(BETA);
    const acme = await live(ACME);
    const narrowed = await report(ACME, { title: "Shared, noted and withdrawn at once", severity: "HIGH", tlp: "AMBER", sharedWith: [BETA] });
    await waitFor(beta, narrowed);
    // The note and the withdrawal commit together, so every subscription reads the note's event after
    // the withdrawal: as of its event BETA might see it, now it may not.
    const incidents = t.hub.subgraphs.find((s) => s.name === "incidents")!;
    const expiresAt = Math.floor(Date.now() / 1000) + 600;
    const viewer: Viewer = { sub: "acme-batch", org: ACME, orgKind: "PROVIDER", scopes: new Set(["incidents:read", "incidents:write"]), expiresAt, validUntilMs: expiresAt * 1000 };
    await incidents.orm.em.fork().transactional(async (em) => {
      const service = new IncidentService({ viewer, em, hub: t.hub.services!, requestId: randomUUID(), loaders: new Map(), projections: new Map() });
      expect((await service.addNote(narrowed, "withdrawn-live: the last word BETA must not read")).error).toBeNull();
      expect((await service.update(narrowed, { tlp: "RED", sharedWith: [] })).error).toBeNull();
    });
    const last = await sentinel();
    await waitFor(beta, last);
    await waitFor(acme, last);
    for (const [name, rec] of Object.entries(beta)) {
      expect(rec.errors, name).toEqual([]);
      expect(kinds(rec, narrowed), name).toEqual(["REPORTED"]);
      expect(rec.raw.join("\n"), name).not.toContain("withdrawn-live");
    }
    for (const [name, rec] of Object.entries(acme)) expect(kinds(rec, narrowed), name).toEqual(["REPORTED", "NOTE", "UPDATED"]);
  });

  it("a replayed event carries the incident and its timeline as they were after that event", async () => {
    const start = await cursorNow();
    const worked = await report(ACME, { title: "Worked in steps", severity: "MEDIUM", tlp: "GREEN" });
    await ok(ACME, UPDATE, { id: worked, input: { status: "TRIAGED", title: "Worked in steps (triaged)" } });
    await ok(ACME, NOTE, { id: worked, text: "a later note" });
    const last = await sentinel();
    const beta = await everyPath(BETA, start);
    await waitFor(beta, last);
    for (const [name, rec] of Object.entries(beta)) {
      expect(rec.errors, name).toEqual([]);
      const steps = of(rec, worked).map((e) => ({
        kind: e.kind,
        title: e.incident.title,
        status: e.incident.status,
        timeline: e.incident.timeline.map((x) => [x.kind, x.text]),
        triaged: e.incident.times.toTriage !== null,
      }));
      expect(steps, name).toEqual([
        { kind: "REPORTED", title: "Worked in steps", status: "NEW", timeline: [["REPORTED", null]], triaged: false },
        { kind: "UPDATED", title: "Worked in steps (triaged)", status: "TRIAGED", timeline: [["REPORTED", null], ["UPDATED", null], ["STATUS", null]], triaged: true },
        {
          kind: "NOTE",
          title: "Worked in steps (triaged)",
          status: "TRIAGED",
          timeline: [["REPORTED", null], ["UPDATED", null], ["STATUS", null], ["NOTE", "a later note"]],
          triaged: true,
        },
      ]);
    }
  });

  it("a viewer not referred learns of no agency note and no referral, replayed or live", async () => {
    const start = await cursorNow();
    const betaLive = await live(BETA);
    const otherLive = await live(OTHER_AGENCY);
    const agencyLive = await live(AGENCY);
    const open = await report(ACME, { title: "Open case for an agency", severity: "MEDIUM", tlp: "GREEN" });
    await ok(ACME, REFER, { id: open, agencies: [AGENCY] });
    await ok(AGENCY, NOTE, { id: open, text: "agency-only working note" });
    await ok(ACME, NOTE, { id: open, text: "the reporter's public note" });
    // A resend by sourceRef that changes a field and refers at once: an update for those not named.
    const ref = `IFA-${randomUUID().slice(0, 8)}`;
    const resent = await report(ACME, { title: "Resent case", severity: "LOW", tlp: "GREEN", sourceRef: ref });
    await report(ACME, { title: "Resent case, retitled", severity: "LOW", tlp: "GREEN", sourceRef: ref, referredTo: [AGENCY] });
    const last = await sentinel();

    const replayed = { beta: await everyPath(BETA, start), other: await everyPath(OTHER_AGENCY, start), agency: await everyPath(AGENCY, start) };
    const all: [string, Record<string, Recording>][] = [
      ["BETA replayed", replayed.beta],
      ["BETA live", betaLive],
      ["other agency replayed", replayed.other],
      ["other agency live", otherLive],
      ["agency replayed", replayed.agency],
      ["agency live", agencyLive],
    ];
    for (const [, p] of all) await waitFor(p, last);
    for (const [who, p] of all) {
      const named = who.startsWith("agency");
      for (const [name, rec] of Object.entries(p)) {
        const label = `${who}, ${name}`;
        expect(rec.errors, label).toEqual([]);
        expect(kinds(rec, open), label).toEqual(named ? ["REPORTED", "REFERRED", "NOTE", "NOTE"] : ["REPORTED", "NOTE"]);
        expect(kinds(rec, resent), label).toEqual(named ? ["REPORTED", "REFERRED"] : ["REPORTED", "UPDATED"]);
        if (!named) {
          expect(rec.raw.join("\n"), label).not.toContain("agency-only");
          expect(rec.raw.join("\n"), label).not.toContain(AGENCY);
        }
      }
    }
  });

  it("the gateway's shared upstream serves a late subscriber nothing the viewer may no longer see", async () => {
    const start = await cursorNow();
    // The first subscriber starts BETA's group; the group's ring keeps what it received.
    const first = recordWs(t.ws(tokens[BETA]!), start);
    recordings.push(first);
    const shared = await report(ACME, { title: "Seen by the group, then withdrawn", severity: "HIGH", tlp: "AMBER", sharedWith: [BETA] });
    await until("the group to receive it", () => of(first, shared).length > 0 || first.ended);
    expect(kinds(first, shared)).toEqual(["REPORTED"]);
    await ok(ACME, UPDATE, { id: shared, input: { tlp: "RED", sharedWith: [] } });
    const last = await sentinel();
    await until("the group to receive the sentinel", () => of(first, last).length > 0 || first.ended);

    // A second subscriber of the same feed, same org and scopes, from the same cursor.
    const late = recordWs(t.ws(tokens[BETA]!), start);
    recordings.push(late);
    await until("the late subscriber to receive the sentinel", () => of(late, last).length > 0 || late.ended);
    expect(late.errors).toEqual([]);
    expect(kinds(late, shared)).toEqual([]);
    expect(late.raw.join("\n")).not.toContain("Seen by the group");
    expect(t.hub.gateway!.sharedSubscriptions.stats().groups).toBeGreaterThan(0);
  });
});
