import "reflect-metadata";
import type { Client } from "graphql-ws";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { encodeCursor } from "../src/events/cursor.js";
import { projected, registerAccountByEvent } from "./support/accounts.js";
import { orgId, startTestHub, type TestHub } from "./support/hub.js";
import { sleep, until } from "./support/wait.js";

/**
 * The paths an attacker would take to an incident it may not see: by id, in lists and counts, through
 * `_entities` straight to the subgraph, through an indicator's incidents and an incident's indicators,
 * without the read scope, and on the feed straight to the subgraph. Every negative has its positive
 * twin (the owner, or the org it is referred to, sees the same record by the same path), so a path that
 * returns nothing at all cannot pass. Then resends by sourceRef: idempotent, also when concurrent.
 */

const REPORT = `mutation($input: IncidentInput!) { reportIncident(input: $input) { incident { id } error { field message code } } }`;
const NOTE = `mutation($id: ID!, $text: String!) { addIncidentNote(id: $id, text: $text) { incident { id } error { field message code } } }`;
const REFER = `mutation($id: ID!, $agencies: [String!]!) { referIncident(id: $id, agencies: $agencies) { incident { id } error { field message code } } }`;
const PUBLISH = `mutation($input: [IndicatorInput!]!) { publishIndicators(input: $input) { failed results { indicator { id } error { message } } } }`;
const GET = `query($id: ID!) { incident(id: $id) { id owner tlp referredTo indicators { id } timeline { kind authorOrg text agencies } } }`;
const LIST = `query($f: IncidentFilter) { incidents(filter: $f, first: 500) { totalCount edges { node { id } } } }`;
const COUNT = `query($f: IncidentFilter) { incidents(filter: $f) { totalCount } }`;
const ENTITIES = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Incident { id title } } }`;
const INDICATOR_INCIDENTS = `query($id: ID!) { indicator(id: $id) { id incidents { id } } }`;
const FEED = `subscription($after: String) { incidentFeed(after: $after) { cursor kind incident { id title tlp } } }`;

interface FeedEvent {
  cursor: string;
  kind: string;
  incident: { id: string; title: string; tlp: string };
}

describe("incident access paths", () => {
  let t: TestHub;
  let db: pg.Client;
  const A = orgId("acc-owner");
  const B = orgId("acc-other");
  const C = orgId("acc-agency");
  const D = orgId("acc-third");
  const N = orgId("acc-noscope");
  const tokens: Record<string, string> = {};
  const clients: Client[] = [];
  let startCursor: string;
  let greenIndicator: string;
  let redIndicator: string;
  let red: string; // A's RED incident, linking the GREEN indicator
  let green: string; // A's GREEN incident, linking both indicators

  const ok = async (org: string, query: string, variables: Record<string, unknown> = {}, url?: string) => {
    const res = await t.gql(query, variables, tokens[org], url);
    expect(res.errors, `${org}: ${JSON.stringify(res.errors)}`).toBeUndefined();
    return res.data;
  };
  const report = async (org: string, input: Record<string, unknown>) => {
    const data = await ok(org, REPORT, { input });
    expect(data.reportIncident.error).toBeNull();
    return data.reportIncident.incident.id as string;
  };

  /** A subscription that records what it receives; to the gateway unless `url` says otherwise. */
  function feed(org: string, after: string | null, url?: string) {
    const client = t.ws(tokens[org]!, url);
    clients.push(client);
    const state = { events: [] as FeedEvent[], errors: [] as any[], ended: false };
    client.subscribe<{ incidentFeed: FeedEvent }>(
      { query: FEED, variables: { after } },
      {
        next: (v) => {
          if (v.errors) state.errors.push(...v.errors);
          if (v.data) state.events.push(v.data.incidentFeed);
        },
        error: (err) => {
          state.errors.push(err);
          state.ended = true;
        },
        complete: () => {
          state.ended = true;
        },
      },
    );
    const has = (id: string) => state.events.some((e) => e.incident.id === id);
    return { state, has, waitFor: (id: string) => until(`event of ${id} for ${org}`, () => has(id) || state.ended) };
  }

  beforeAll(async () => {
    t = await startTestHub();
    const rw = ["incidents:read", "incidents:write", "indicators:read", "indicators:write"];
    tokens[A] = await t.token(A, "PROVIDER", rw);
    tokens[B] = await t.token(B, "PROVIDER", rw);
    tokens[C] = await t.token(C, "AGENCY", rw);
    tokens[D] = await t.token(D, "PROVIDER", rw);
    tokens[N] = await t.token(N, "PROVIDER", ["indicators:read", "incidents:write"]);
    for (const org of [A, B, C, D, N]) expect((await ok(org, `{ viewer { org } }`)).viewer.org).toBe(org);
    db = new pg.Client({ connectionString: inject("databaseUrl") });
    await db.connect();
    startCursor = encodeCursor(Number((await db.query("select coalesce(max(seq), 0) as seq from hub.event")).rows[0].seq));

    const published = await ok(A, PUBLISH, {
      input: [
        { type: "IPV4", value: "192.0.2.41", tlp: "GREEN" },
        { type: "IPV4", value: "192.0.2.42", tlp: "RED" },
      ],
    });
    expect(published.publishIndicators.failed).toBe(0);
    [greenIndicator, redIndicator] = published.publishIndicators.results.map((r: any) => r.indicator.id);
    red = await report(A, { title: "A's secret case", severity: "HIGH", tlp: "RED", indicatorIds: [greenIndicator] });
    green = await report(A, { title: "A's open case", severity: "LOW", tlp: "GREEN", indicatorIds: [greenIndicator, redIndicator] });
  });
  afterAll(async () => {
    for (const c of clients) await c.dispose();
    await db?.end();
    await t?.stop();
  });

  it("incident(id) of another org's RED incident is null; the owner gets it", async () => {
    expect((await ok(B, GET, { id: red })).incident).toBeNull();
    expect((await ok(C, GET, { id: red })).incident).toBeNull();
    expect((await ok(A, GET, { id: red })).incident).toMatchObject({ id: red, owner: A, tlp: "RED" });
    expect((await ok(B, GET, { id: green })).incident).toMatchObject({ id: green, owner: A, tlp: "GREEN" });
  });

  it("lists and counts leave it out", async () => {
    for (const f of [{ owner: A }, {}, { minSeverity: "HIGH" }]) {
      const mine = await ok(A, LIST, { f });
      const theirs = await ok(B, LIST, { f });
      const ids = (d: any) => d.incidents.edges.map((e: any) => e.node.id);
      expect(ids(theirs)).not.toContain(red);
      expect(ids(mine)).toContain(red);
      for (const [org, d] of [[A, mine], [B, theirs]] as const) {
        expect(d.incidents.totalCount, JSON.stringify(f)).toBe(d.incidents.edges.length);
        expect((await ok(org, COUNT, { f })).incidents.totalCount).toBe(d.incidents.totalCount);
      }
      if (!f.minSeverity) expect(ids(theirs)).toContain(green);
    }
    expect((await ok(B, COUNT, { f: { owner: A } })).incidents.totalCount).toBe(1);
    expect((await ok(A, COUNT, { f: { owner: A } })).incidents.totalCount).toBe(2);
  });

  it("_entities straight to the incidents subgraph resolves it to null for another org", async () => {
    const url = t.subgraphUrl("incidents");
    const r = [
      { __typename: "Incident", id: red },
      { __typename: "Incident", id: green },
    ];
    expect((await ok(B, ENTITIES, { r }, url))._entities).toEqual([null, { id: green, title: "A's open case" }]);
    expect((await ok(A, ENTITIES, { r }, url))._entities).toEqual([
      { id: red, title: "A's secret case" },
      { id: green, title: "A's open case" },
    ]);
    // Without the read scope, nothing at all.
    const refused = await t.gql(ENTITIES, { r }, tokens[N], url);
    expect(refused.errors?.[0]?.extensions?.code, JSON.stringify(refused)).toBe("FORBIDDEN");
    expect(JSON.stringify(refused)).not.toContain("secret");
  });

  it("Indicator.incidents lists only the incidents the viewer may see", async () => {
    expect((await ok(B, INDICATOR_INCIDENTS, { id: greenIndicator })).indicator.incidents).toEqual([{ id: green }]);
    expect((await ok(A, INDICATOR_INCIDENTS, { id: greenIndicator })).indicator.incidents).toEqual([{ id: green }, { id: red }]);
  });

  it("Incident.indicators hides an indicator the viewer may not see", async () => {
    expect((await ok(B, GET, { id: green })).incident.indicators).toEqual([{ id: greenIndicator }]);
    expect((await ok(A, GET, { id: green })).incident.indicators).toEqual([{ id: greenIndicator }, { id: redIndicator }]);
  });

  it("a caller without incidents:read is refused with FORBIDDEN on every read path", async () => {
    for (const [query, variables] of [
      [GET, { id: green }],
      [LIST, {}],
      [COUNT, {}],
      [INDICATOR_INCIDENTS, { id: greenIndicator }],
    ] as const) {
      const res = await t.gql(query, variables, tokens[N]);
      expect(res.errors?.[0]?.extensions?.code, `${query}: ${JSON.stringify(res)}`).toBe("FORBIDDEN");
      expect(JSON.stringify(res.data ?? {})).not.toContain(green);
    }
    // The positive twin: the indicator itself is N's to read.
    expect((await ok(N, `query($id: ID!) { indicator(id: $id) { id } }`, { id: greenIndicator })).indicator).toEqual({ id: greenIndicator });
    const sub = feed(N, startCursor);
    await until("the refusal", () => sub.state.ended);
    expect(sub.state.events).toEqual([]);
    const codes = sub.state.errors.flat().map((e: any) => e?.extensions?.code);
    expect(codes, JSON.stringify(sub.state.errors)).toContain("FORBIDDEN");
  });

  it("the feed straight to the subgraph never delivers another org's RED incident, replayed or live", async () => {
    const url = t.subgraphUrl("incidents");
    const bReplay = feed(B, startCursor, url);
    const aReplay = feed(A, startCursor, url);
    await bReplay.waitFor(green);
    await aReplay.waitFor(green);
    expect(aReplay.has(red)).toBe(true);
    expect(bReplay.has(red)).toBe(false);

    // Live: B's subscription is known to be up once it receives a GREEN marker.
    const bLive = feed(B, null, url);
    for (let i = 0; ; i++) {
      const marker = await report(A, { title: `marker ${i}`, severity: "LOW", tlp: "GREEN" });
      try {
        await until("a live marker", () => bLive.has(marker) || bLive.state.ended, 1_000);
        break;
      } catch (err) {
        if (i > 20) throw err;
      }
    }
    const red2 = await report(A, { title: "A's second secret", severity: "CRITICAL", tlp: "RED" });
    const after = await report(A, { title: "after the secret", severity: "LOW", tlp: "GREEN" });
    await NOTE_BY(A, red, "still secret");
    const last = await report(A, { title: "last", severity: "LOW", tlp: "GREEN" });
    await bLive.waitFor(last);
    await aReplay.waitFor(last);
    for (const sub of [bReplay, bLive]) {
      expect(sub.state.errors).toEqual([]);
      expect(sub.has(red) || sub.has(red2)).toBe(false);
      expect(sub.state.events.every((e) => e.incident.tlp === "GREEN" || e.incident.tlp === "CLEAR")).toBe(true);
    }
    expect(bLive.has(after)).toBe(true);
    expect(aReplay.has(red2)).toBe(true);
    expect(aReplay.state.events.filter((e) => e.incident.id === red).map((e) => e.kind)).toEqual(["REPORTED", "NOTE"]);
  });

  async function NOTE_BY(org: string, id: string, text: string) {
    const d = await ok(org, NOTE, { id, text });
    expect(d.addIncidentNote.error).toBeNull();
  }

  it("once referred, the agency sees the incident and its REFERRED event, not what came before", async () => {
    const before = feed(C, startCursor);
    const referred = await ok(A, REFER, { id: red, agencies: [C] });
    expect(referred.referIncident.error).toBeNull();
    const got = (await ok(C, GET, { id: red })).incident;
    expect(got).toMatchObject({ id: red, owner: A, tlp: "RED", referredTo: [C] });
    // The GREEN indicator it links is the agency's to see; the REFERRED entry names the agency.
    expect(got.indicators).toEqual([{ id: greenIndicator }]);
    expect(got.timeline.filter((e: any) => e.kind === "REFERRED")).toEqual([{ kind: "REFERRED", authorOrg: A, text: null, agencies: [C] }]);
    await before.waitFor(red);
    const events = before.state.events.filter((e) => e.incident.id === red);
    expect(events.map((e) => e.kind)).toEqual(["REFERRED"]);
    // B still sees nothing of it.
    expect((await ok(B, GET, { id: red })).incident).toBeNull();
  });

  it("an agency's note on a GREEN incident is not shown to a third org", async () => {
    const id = await report(A, { title: "Open case with an agency", severity: "MEDIUM", tlp: "GREEN", referredTo: [C] });
    await NOTE_BY(C, id, "Agency working notes");
    await NOTE_BY(A, id, "Reporter's public note");
    const timeline = async (org: string) => (await ok(org, GET, { id })).incident.timeline as { kind: string; authorOrg: string; text: string | null }[];
    const notes = (entries: Awaited<ReturnType<typeof timeline>>) => entries.filter((e) => e.kind === "NOTE").map((e) => [e.authorOrg, e.text]);
    expect(notes(await timeline(A))).toEqual([[C, "Agency working notes"], [A, "Reporter's public note"]]);
    expect(notes(await timeline(C))).toEqual([[C, "Agency working notes"], [A, "Reporter's public note"]]);
    for (const org of [D, B]) {
      const entries = await timeline(org);
      expect(notes(entries)).toEqual([[A, "Reporter's public note"]]);
      // Nor whom it was referred to.
      expect(entries.map((e) => e.kind)).toEqual(["REPORTED", "NOTE"]);
      expect(JSON.stringify(entries)).not.toContain(C);
    }
  });
});

describe("resending a report by sourceRef", () => {
  let t: TestHub;
  let db: pg.Client;
  const A = orgId("resend-owner");
  const B = orgId("resend-other");
  const C = orgId("resend-agency");
  const tokens: Record<string, string> = {};
  const FULL = `mutation($input: IncidentInput!) { reportIncident(input: $input) {
    incident { id severity sourceRef referredTo timeline { kind } } error { field message code } } }`;

  const send = async (org: string, input: Record<string, unknown>) => {
    const res = await t.gql(FULL, { input }, tokens[org]);
    expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
    expect(res.data.reportIncident.error).toBeNull();
    return res.data.reportIncident.incident;
  };
  /** The topics of the events written for one incident, in order. */
  const eventsOf = async (id: string) =>
    (await db.query("select topic from hub.event where payload->>'id' = $1 order by seq", [id.replace(/^incident--/, "")])).rows.map((r) => r.topic);
  const rowsOf = async (org: string, sourceRef: string) =>
    Number((await db.query("select count(*) as n from incidents.incident where owner = $1 and source_ref = $2", [org, sourceRef])).rows[0].n);

  beforeAll(async () => {
    t = await startTestHub();
    tokens[A] = await t.token(A, "PROVIDER", ["incidents:read", "incidents:write"]);
    tokens[B] = await t.token(B, "PROVIDER", ["incidents:read", "incidents:write"]);
    tokens[C] = await t.token(C, "AGENCY", ["incidents:read"]);
    for (const org of [A, B, C]) expect((await t.gql(`{ viewer { org } }`, {}, tokens[org])).data.viewer.org).toBe(org);
    db = new pg.Client({ connectionString: inject("databaseUrl") });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
    await t?.stop();
  });

  it("an identical resend changes nothing and emits nothing; a changed one is an update", async () => {
    const now = Date.now();
    const input = {
      title: "  Credential stuffing against tenant consoles ",
      description: "Seen from three ASNs",
      severity: "MEDIUM",
      tlp: "AMBER",
      sourceRef: "TICKET-9",
      sharedWith: [B],
      referredTo: [C],
      accountIds: [await registerAccountByEvent(t, A), await registerAccountByEvent(t, A)],
      incidentTypes: ["credential-stuffing", "account-takeover"],
      detectionMethods: ["siem"],
      affectedProducts: ["IDENTITY", "COMPUTE"],
      criticality: 40,
      determination: "SUSPECTED",
      occurredAt: new Date(now - 3_600_000).toISOString(),
      detectedAt: new Date(now - 60_000).toISOString(),
    };
    await projected(db);
    const first = await send(A, input);
    const again = await send(A, input);
    expect(again.id).toBe(first.id);
    expect(again.timeline.map((e: any) => e.kind)).toEqual(["REPORTED", "REFERRED"]);
    expect(await eventsOf(first.id)).toEqual(["incident.reported"]);
    expect(await rowsOf(A, "TICKET-9")).toBe(1);

    // Changed: an update of the same incident, with its event.
    const changed = await send(A, { ...input, severity: "HIGH" });
    expect(changed).toMatchObject({ id: first.id, severity: "HIGH", referredTo: [C] });
    expect(await eventsOf(first.id)).toEqual(["incident.reported", "incident.updated"]);
    // And resent once more unchanged: still nothing new.
    await send(A, { ...input, severity: "HIGH" });
    expect(await eventsOf(first.id)).toEqual(["incident.reported", "incident.updated"]);

    // The same sourceRef from another org is another incident.
    const other = await send(B, { title: "B's own", severity: "LOW", tlp: "GREEN", sourceRef: "TICKET-9" });
    expect(other.id).not.toBe(first.id);
  });

  it("five concurrent reports of one new sourceRef make one incident and one event", async () => {
    const input = { title: "Burst of resends", severity: "LOW", tlp: "GREEN", sourceRef: `BURST-${Date.now()}` };
    const results = await Promise.all(Array.from({ length: 5 }, () => send(A, input)));
    const ids = new Set(results.map((r) => r.id));
    expect(ids.size).toBe(1);
    expect(await rowsOf(A, input.sourceRef)).toBe(1);
    expect(await eventsOf(results[0].id)).toEqual(["incident.reported"]);
    expect(results[0].timeline.map((e: any) => e.kind)).toEqual(["REPORTED"]);
  });
});
