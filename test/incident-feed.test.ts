import "reflect-metadata";
import { randomUUID } from "node:crypto";
import type { Client } from "graphql-ws";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { OrgKind, Viewer } from "../src/auth/viewer.js";
import { decodeCursor, encodeCursor } from "../src/events/cursor.js";
import { IncidentService } from "../subgraphs/incidents/incident.service.js";
import { orgId, startTestHub, type TestHub } from "./support/hub.js";
import { sleep, until } from "./support/wait.js";

/**
 * The incident feed loses nothing. Provider orgs report and work incidents concurrently through the
 * gateway, and further writers call the incidents service inside outer transactions of random length,
 * so that commits land out of the order the transactions began in. Meanwhile agency (and provider)
 * subscribers, some with filters, are disconnected at random and resume from their last cursor; one
 * subscribes on tokens that expire mid-stream and resumes on a new one; reporters withdraw some
 * incidents (RED, shared with no one) from everyone but the agencies they are referred to. At the end
 * each subscriber must have received exactly the events the log holds that it may see as of the event
 * and now, whose timeline entries it may read, and that pass its filter: none missing, none of an AMBER
 * or RED incident that was not shared or referred to it, no agency note or referral it may not read,
 * nothing of a withdrawn incident in a connection opened after the withdrawal, none twice.
 */

const FEED = `subscription($after: String, $filter: IncidentFeedFilter) {
  incidentFeed(after: $after, filter: $filter) { cursor kind incident { id owner tlp severity status referredTo } }
}`;
const REPORT = `mutation($input: IncidentInput!) { reportIncident(input: $input) { incident { id status } error { field message code } } }`;
const UPDATE = `mutation($id: ID!, $input: IncidentUpdate!) { updateIncident(id: $id, input: $input) { incident { id status } error { field message code } } }`;
const NOTE = `mutation($id: ID!, $text: String!) { addIncidentNote(id: $id, text: $text) { incident { id } error { field message code } } }`;
const REFER = `mutation($id: ID!, $agencies: [String!]!) { referIncident(id: $id, agencies: $agencies) { incident { id referredTo } error { field message code } } }`;

const TOPIC_KIND: Record<string, string> = {
  "incident.reported": "REPORTED",
  "incident.updated": "UPDATED",
  "incident.note": "NOTE",
  "incident.referred": "REFERRED",
  "incident.closed": "CLOSED",
};
const INCIDENT_TOPICS = Object.keys(TOPIC_KIND);
/** The test's own statement of the rules, not the hub's code: severity order and TLP. */
const RANK: Record<string, number> = { LOW: 0, MEDIUM: 1, HIGH: 2, CRITICAL: 3 };
const SEVERITIES = ["LOW", "MEDIUM", "HIGH", "CRITICAL"] as const;
const TLPS = ["CLEAR", "GREEN", "AMBER", "RED"] as const;
const NEXT_STATUS: Record<string, string> = { NEW: "TRIAGED", TRIAGED: "INVESTIGATING", INVESTIGATING: "CONTAINED", CONTAINED: "CLOSED", CLOSED: "INVESTIGATING" };

/** How long the producers run: long enough for a 2 s token to expire mid-stream more than once. */
const PRODUCE_MS = 7_000;

const randomMs = (min: number, max: number) => min + Math.floor(Math.random() * (max - min + 1));
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)]!;
const subset = <T>(xs: readonly T[], p: number): T[] => xs.filter(() => Math.random() < p);

interface EntryMark {
  kind: string;
  author_org: string;
  agencies: string[];
}
interface IncidentPayload {
  id: string;
  entries: EntryMark[];
  incident_types: string[];
  owner: string;
  tlp: string;
  severity: string;
  status: string;
  shared_with: string[];
  referred_to: string[];
}
interface LogRow {
  seq: number;
  topic: string;
  owner_org: string;
  tlp: string;
  shared_with: string[];
  payload: IncidentPayload;
}
interface FeedEvent {
  cursor: string;
  kind: string;
  incident: { id: string; owner: string; tlp: string; severity: string; status: string; referredTo: string[] };
}
interface FeedFilter {
  minSeverity?: string;
  referredToMe?: boolean;
  types?: string[];
  statuses?: string[];
}

/** Whether `org` may see the incident as it stood after an event: the TLP rule, from the incident itself. */
function visibleTo(org: string, p: IncidentPayload): boolean {
  return p.tlp === "CLEAR" || p.tlp === "GREEN" || p.owner === org || p.shared_with.includes(org) || p.referred_to.includes(org);
}
/**
 * The kind under which `org` learns of an event, or null when it may read none of the timeline
 * entries the event's change wrote: the reporter's entries are read by all who see the incident, an
 * agency's notes by the reporter, the referred agencies and their author, a referral by the reporter
 * and the agencies it named.
 */
function kindFor(org: string, topic: string, p: IncidentPayload): string | null {
  const readable = (e: EntryMark) =>
    org === p.owner || (e.kind === "REFERRED" ? e.agencies.includes(org) : e.author_org === p.owner || e.author_org === org || p.referred_to.includes(org));
  const shown = p.entries.filter(readable);
  if (!shown.length) return null;
  const kind = TOPIC_KIND[topic]!;
  return kind === "REFERRED" && !shown.some((e) => e.kind === "REFERRED") ? "UPDATED" : kind;
}
function passes(filter: FeedFilter, org: string, p: IncidentPayload): boolean {
  if (filter.minSeverity && RANK[p.severity]! < RANK[filter.minSeverity]!) return false;
  if (filter.referredToMe && !p.referred_to.includes(org)) return false;
  if (filter.types && !p.incident_types.some((type) => filter.types!.includes(type))) return false;
  if (filter.statuses && !filter.statuses.includes(p.status)) return false;
  return true;
}

/** One connection of a subscriber: what it received, how it ended. */
interface Session {
  after: string;
  /** The highest sequence the hub had fanned out when this session opened. */
  positionAtOpen: number;
  events: FeedEvent[];
  errors: any[];
  close?: { code: number; reason: string };
  ended: boolean;
  /** Set before the test disposes the client: anything after that is not counted. */
  leaving: boolean;
  /** On a token that expires within seconds. */
  shortLived: boolean;
  client: Client;
}

/** GraphQL errors, whether they came as an `error` message (an array) or inside `next`; not close events. */
function graphqlErrors(errors: any[]): { message: string; extensions?: Record<string, unknown> }[] {
  return errors.flat().filter((e) => typeof e?.message === "string" && typeof e?.code !== "number");
}

describe("incidentFeed through the gateway", () => {
  let t: TestHub;
  const providers = [orgId("feed-cloud-a"), orgId("feed-cloud-b"), orgId("feed-cloud-c")];
  const agencies = [orgId("feed-fbi"), orgId("feed-cisa"), orgId("feed-nsa")];
  const tokens: Record<string, string> = {};
  const clients: Client[] = [];
  let db: pg.Client;

  const READ_WRITE = ["incidents:read", "incidents:write"];
  const kindOf = (org: string): OrgKind => (agencies.includes(org) ? "AGENCY" : "PROVIDER");

  async function maxSeq(): Promise<number> {
    return Number((await db.query("select coalesce(max(seq), 0) as seq from hub.event")).rows[0].seq);
  }

  function open(token: string, after: string, filter: FeedFilter, shortLived = false): Session {
    const client = t.ws(token);
    clients.push(client);
    const s: Session = { after, positionAtOpen: t.hub.services!.events.position, events: [], errors: [], ended: false, leaving: false, shortLived, client };
    client.on("closed", (event) => {
      const e = event as { code: number; reason: string };
      s.close ??= { code: e.code, reason: e.reason };
    });
    client.subscribe<{ incidentFeed: FeedEvent }>(
      { query: FEED, variables: { after, filter } },
      {
        next: (value) => {
          if (s.leaving) return;
          if (value.errors) s.errors.push(...value.errors);
          if (value.data) s.events.push(value.data.incidentFeed);
        },
        error: (err) => {
          if (s.leaving) return;
          s.errors.push(err);
          s.ended = true;
        },
        complete: () => {
          if (!s.leaving) s.ended = true;
        },
      },
    );
    return s;
  }

  beforeAll(async () => {
    // A short clock skew, so that a 2 s token stops being accepted about 3 s after it was made.
    t = await startTestHub({ AUTH_CLOCK_SKEW_SECONDS: "1" });
    for (const org of [...providers, ...agencies]) {
      tokens[org] = await t.token(org, kindOf(org), READ_WRITE);
      // Orgs join the directory the first time a token of theirs makes a request.
      const who = await t.gql(`{ viewer { org } }`, {}, tokens[org]);
      expect(who.data?.viewer?.org).toBe(org);
    }
    db = new pg.Client({ connectionString: inject("databaseUrl") });
    await db.connect();
  });
  afterAll(async () => {
    for (const c of clients) await c.dispose();
    await db?.end();
    await t?.stop();
  });

  it("delivers to every subscriber exactly the events it may see, through random disconnects, out-of-order commits and token expiry", async () => {
    const startSeq = await maxSeq();
    const startCursor = encodeCursor(startSeq);
    let producing = true;
    let emitted = 0; // successful changes, each of which must have written exactly one event

    // ---- Producers through the gateway: each worker owns its incidents, so its model of them holds.
    interface Case {
      id: string;
      owner: string;
      status: string;
      severity: string;
      referred: Set<string>;
      /** RED and shared with no one: from then on only the reporter and referred agencies see it. */
      withdrawn: boolean;
    }
    const referredCases: Case[] = [];
    const gatewayOps: Record<string, number> = { report: 0, status: 0, note: 0, refer: 0, severity: 0, withdraw: 0, agencyNote: 0 };

    async function mutate(token: string, query: string, variables: Record<string, unknown>, field: string) {
      const res = await t.gql(query, variables, token);
      expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
      const result = res.data[field];
      expect(result.error, JSON.stringify(result.error)).toBeNull();
      return result.incident;
    }

    function randomReport(owner: string) {
      const others = [...agencies, ...providers.filter((p) => p !== owner)];
      return {
        title: `Feed case ${randomUUID().slice(0, 8)}`,
        severity: pick(SEVERITIES),
        tlp: pick(TLPS),
        sharedWith: subset(others, 0.2),
        referredTo: Math.random() < 0.3 ? subset(agencies, 0.4) : [],
        incidentTypes: [pick(["ransomware", "resource-hijacking", "phishing"])],
      };
    }

    async function providerWorker(owner: string): Promise<void> {
      const token = tokens[owner]!;
      const cases: Case[] = [];
      while (producing) {
        if (cases.length < 2 || Math.random() < 0.25) {
          const input = randomReport(owner);
          const incident = await mutate(token, REPORT, { input }, "reportIncident");
          const c: Case = {
            id: incident.id,
            owner,
            status: "NEW",
            severity: input.severity,
            referred: new Set(input.referredTo),
            // Already RED and shared with no one: there is nothing to withdraw.
            withdrawn: input.tlp === "RED" && !input.sharedWith.length,
          };
          cases.push(c);
          if (c.referred.size) referredCases.push(c);
          gatewayOps.report!++;
        } else {
          const c = pick(cases);
          const action = pick(["status", "status", "note", "refer", "severity", "withdraw"]);
          const unreferred = agencies.filter((a) => !c.referred.has(a));
          if (action === "status") {
            const to = NEXT_STATUS[c.status]!;
            await mutate(token, UPDATE, { id: c.id, input: { status: to, ...(to === "CLOSED" ? { resolution: "TRUE_POSITIVE" } : {}) } }, "updateIncident");
            c.status = to;
            gatewayOps.status!++;
          } else if (action === "withdraw" && !c.withdrawn) {
            await mutate(token, UPDATE, { id: c.id, input: { tlp: "RED", sharedWith: [] } }, "updateIncident");
            c.withdrawn = true;
            gatewayOps.withdraw!++;
          } else if (action === "refer" && unreferred.length && !c.withdrawn) {
            // Not after a withdrawal: an org that lost sight of an incident never regains it here, so
            // what it should have received does not hang on when it happened to read.
            const agency = pick(unreferred);
            await mutate(token, REFER, { id: c.id, agencies: [agency] }, "referIncident");
            if (!c.referred.size) referredCases.push(c);
            c.referred.add(agency);
            gatewayOps.refer!++;
          } else if (action === "severity") {
            const severity = pick(SEVERITIES.filter((s) => s !== c.severity));
            await mutate(token, UPDATE, { id: c.id, input: { severity } }, "updateIncident");
            c.severity = severity;
            gatewayOps.severity!++;
          } else {
            await mutate(token, NOTE, { id: c.id, text: `Progress ${randomUUID().slice(0, 8)}` }, "addIncidentNote");
            gatewayOps.note!++;
          }
        }
        emitted++;
        await sleep(randomMs(0, 60));
      }
    }

    /** Agencies add notes to incidents referred to them, concurrently with the reporters' changes. */
    async function agencyWorker(agency: string): Promise<void> {
      while (producing) {
        const mine = referredCases.filter((c) => c.referred.has(agency));
        if (mine.length) {
          await mutate(tokens[agency]!, NOTE, { id: pick(mine).id, text: `Agency note ${randomUUID().slice(0, 8)}` }, "addIncidentNote");
          emitted++;
          gatewayOps.agencyNote!++;
        }
        await sleep(randomMs(50, 200));
      }
    }

    // ---- Producers in the hub's own process: the real service inside an outer transaction that
    // begins, waits a random while, reports, and waits a little more before it commits.
    const incidentsSubgraph = t.hub.subgraphs.find((s) => s.name === "incidents")!;
    let began = 0;
    let committed = 0;
    const order: { began: number; committed: number }[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    async function transactionalWorker(owner: string): Promise<void> {
      const expiresAt = Math.floor(Date.now() / 1000) + 3600;
      const viewer: Viewer = { sub: `${owner}-batch`, org: owner, orgKind: "PROVIDER", scopes: new Set(READ_WRITE), expiresAt, validUntilMs: expiresAt * 1000 };
      const pending: Promise<void>[] = [];
      while (producing) {
        // Several transactions of this writer open at once, each of its own length.
        pending.push(
          (async () => {
            inFlight++;
            maxInFlight = Math.max(maxInFlight, inFlight);
            try {
              const position = await incidentsSubgraph.orm.em.fork().transactional(async (em) => {
                await em.getConnection().execute("select 1", [], "all", em.getTransactionContext());
                const mine = ++began;
                await sleep(randomMs(0, 300));
                const service = new IncidentService({ viewer, em, hub: t.hub.services!, requestId: randomUUID(), loaders: new Map(), projections: new Map() });
                const result = await service.report(randomReport(owner));
                expect(result.error).toBeNull();
                await sleep(randomMs(0, 10)); // the event is appended, not yet committed
                return mine;
              });
              order.push({ began: position, committed: ++committed });
              emitted++;
            } finally {
              inFlight--;
            }
          })(),
        );
        await sleep(randomMs(30, 120));
      }
      await Promise.all(pending);
    }

    // ---- Subscribers.
    interface Subscriber {
      name: string;
      org: string;
      filter: FeedFilter;
      /** Tokens that expire within seconds; otherwise disconnected by the test at random. */
      expiring: boolean;
      sessions: Session[];
      expiries: number;
    }
    const [A1, A2, A3] = agencies as [string, string, string];
    const subscribers: Subscriber[] = [
      { name: "A1 all", org: A1, filter: {}, expiring: false, sessions: [], expiries: 0 },
      { name: "A1 all (second)", org: A1, filter: {}, expiring: false, sessions: [], expiries: 0 },
      { name: "A1 referred", org: A1, filter: { referredToMe: true }, expiring: false, sessions: [], expiries: 0 },
      { name: "A2 all", org: A2, filter: {}, expiring: false, sessions: [], expiries: 0 },
      { name: "A2 high+", org: A2, filter: { minSeverity: "HIGH" }, expiring: false, sessions: [], expiries: 0 },
      { name: "A2 referred medium+", org: A2, filter: { referredToMe: true, minSeverity: "MEDIUM" }, expiring: false, sessions: [], expiries: 0 },
      { name: "A3 expiring", org: A3, filter: {}, expiring: true, sessions: [], expiries: 0 },
      { name: "A3 referred", org: A3, filter: { referredToMe: true }, expiring: false, sessions: [], expiries: 0 },
      { name: "A3 phishing", org: A3, filter: { types: ["phishing"] }, expiring: false, sessions: [], expiries: 0 },
      { name: "A1 triaged, contained or closed", org: A1, filter: { statuses: ["TRIAGED", "CONTAINED", "CLOSED"] }, expiring: false, sessions: [], expiries: 0 },
      { name: "provider B all", org: providers[1]!, filter: {}, expiring: false, sessions: [], expiries: 0 },
    ];
    const received = (s: Subscriber) => s.sessions.flatMap((x) => x.events);
    const lastCursor = (s: Subscriber) => {
      const all = received(s);
      return all.length ? all[all.length - 1]!.cursor : startCursor;
    };
    let subscribing = true;

    async function subscriberLoop(s: Subscriber): Promise<void> {
      while (subscribing) {
        const short = s.expiring && producing;
        const token = short ? await t.token(s.org, kindOf(s.org), READ_WRITE, { ttlSeconds: 2 }) : tokens[s.org]!;
        const session = open(token, lastCursor(s), s.filter, short);
        s.sessions.push(session);
        const leaveAt = Date.now() + randomMs(300, 1_500);
        await until(
          `${s.name}: its session to end`,
          () => !subscribing || session.ended || (!s.expiring && producing && Date.now() > leaveAt),
          60_000,
        );
        if (session.ended && short) s.expiries++;
        if (!subscribing) break;
        session.leaving = true;
        await session.client.dispose();
        await sleep(randomMs(0, 200));
      }
    }

    const subscriberRuns = subscribers.map(subscriberLoop);
    // Producers start once every subscriber has its first connection under way.
    await sleep(300);
    const deadline = Date.now() + PRODUCE_MS;
    // On a loaded machine fewer operations fit in the window: production goes on until every kind
    // of operation has run at least once (up to three windows), so the test checks what it means to.
    const stopProducing = (async () => {
      await sleep(deadline - Date.now());
      while (!Object.values(gatewayOps).every((n) => n > 0) && Date.now() < deadline + 2 * PRODUCE_MS) await sleep(100);
      producing = false;
    })();
    await Promise.all([
      stopProducing,
      ...providers.map(providerWorker),
      ...agencies.map(agencyWorker),
      ...providers.map(transactionalWorker),
    ]);

    // ---- What the log holds, and what each subscriber should therefore have.
    const endSeq = await maxSeq();
    const { rows } = await db.query<LogRow>(
      `select seq::int as seq, topic, owner_org, tlp, shared_with, payload from hub.event
        where seq > $1 and seq <= $2 and topic = any($3::text[]) order by seq`,
      [startSeq, endSeq, INCIDENT_TOPICS],
    );
    const bySeq = new Map(rows.map((r) => [r.seq, r]));
    // No change without its event, no event without its change.
    expect(rows).toHaveLength(emitted);
    // Each event's marking is its incident's: owner, TLP, and the audience (shared with and referred to).
    for (const r of rows) {
      expect(r.owner_org).toBe(r.payload.owner);
      expect(r.tlp).toBe(r.payload.tlp);
      expect([...r.shared_with].sort()).toEqual([...new Set([...r.payload.shared_with, ...r.payload.referred_to])].sort());
    }
    // Where each org lost sight of an incident (a withdrawal): after it, it never regains it.
    const lostAt = new Map<string, number>(); // `${org}|${incident}` → seq of the withdrawal
    const sawLast = new Map<string, boolean>();
    for (const r of rows) {
      for (const org of [...providers, ...agencies]) {
        const key = `${org}|${r.payload.id}`;
        const sees = visibleTo(org, r.payload);
        if (sawLast.get(key) && !sees) lostAt.set(key, r.seq);
        else expect(sees && lostAt.has(key), `${org} regained incident ${r.payload.id}`).toBe(false);
        sawLast.set(key, sees);
      }
    }
    /** The events `s` may receive: visible as of the event, with an entry it may read, through its filter. */
    const allowedFor = (s: Subscriber) => rows.filter((r) => visibleTo(s.org, r.payload) && kindFor(s.org, r.topic, r.payload) !== null && passes(s.filter, s.org, r.payload));
    /** Of those, the ones it must have received: of incidents it still sees now. */
    const expectedFor = (s: Subscriber) => allowedFor(s).filter((r) => !lostAt.has(`${s.org}|${r.payload.id}`)).map((r) => r.seq);

    // The final settle: every subscriber catches up on its last connection.
    // (On a timeout the comparison below shows what is missing.)
    const catchUp = Date.now() + 20_000;
    for (const s of subscribers) {
      const want = new Set(expectedFor(s));
      const caughtUp = () => new Set(received(s).map((e) => decodeCursor(e.cursor)).filter((q) => want.has(q))).size >= want.size;
      await until(`${s.name} to catch up`, caughtUp, Math.max(0, catchUp - Date.now())).catch(() => undefined);
    }
    await sleep(500); // anything extra would arrive now
    subscribing = false;
    await Promise.all(subscriberRuns);
    for (const s of subscribers) {
      const last = s.sessions[s.sessions.length - 1]!;
      last.leaving = true;
      await last.client.dispose();
    }

    // ---- The test did what it says.
    expect(Object.values(gatewayOps).every((n) => n > 0), JSON.stringify(gatewayOps)).toBe(true);
    expect(order.length).toBeGreaterThan(10);
    expect(maxInFlight).toBeGreaterThan(2);
    // Transactions committed in another order than they began in.
    expect(order.some((o) => o.began !== o.committed)).toBe(true);
    const all = rows.map((r) => r.seq);
    // Some subscriber may have seen events of an incident that was withdrawn from it later.
    expect(subscribers.some((s) => allowedFor(s).length > expectedFor(s).length), "a withdrawal hid events from a subscriber").toBe(true);
    for (const org of agencies) {
      const seen = rows.filter((r) => visibleTo(org, r.payload)).length;
      expect(seen, `${org} may see some events`).toBeGreaterThan(0);
      expect(seen, `some events are hidden from ${org}`).toBeLessThan(all.length);
    }
    let replayedAfterReconnect = 0;

    // ---- Each subscriber: exactly its expected events.
    for (const s of subscribers) {
      const expected = expectedFor(s);
      const allowed = new Set(allowedFor(s).map((r) => r.seq));
      const got = received(s);
      const gotSeqs = got.map((e) => decodeCursor(e.cursor));

      // The hub ended no connection but at its token's expiry, and reported nothing else.
      s.sessions.forEach((session, i) => {
        const last = i === s.sessions.length - 1;
        if (!session.shortLived || (last && !session.ended)) {
          expect(session.errors, `${s.name} session ${i}`).toEqual([]);
          expect(session.ended, `${s.name} session ${i} ended by the hub`).toBe(false);
          return;
        }
        // Ended at its token's expiry with a reason a client can act on: the socket closed with
        // 4403 "Forbidden: token expired", or the stream's UNAUTHENTICATED "token expired".
        expect(session.ended, `${s.name} session ${i} ended`).toBe(true);
        const errors = graphqlErrors(session.errors);
        for (const e of errors) {
          expect(e.extensions?.code, JSON.stringify(e)).toBe("UNAUTHENTICATED");
          expect(e.message).toMatch(/token expired/);
        }
        const closedAtExpiry = session.close?.code === 4403 && session.close.reason === "Forbidden: token expired";
        expect(closedAtExpiry || errors.length > 0, JSON.stringify({ close: session.close, errors: session.errors })).toBe(true);
      });

      // Cursors strictly increase on each connection, and a resumed connection starts after the last
      // cursor received: nothing twice.
      for (const session of s.sessions) {
        const seqs = session.events.map((e) => decodeCursor(e.cursor));
        for (let i = 1; i < seqs.length; i++) expect(seqs[i], `${s.name}: cursors increase`).toBeGreaterThan(seqs[i - 1]!);
        if (seqs.length) expect(seqs[0]).toBeGreaterThan(decodeCursor(session.after));
        // Events committed while it was away, delivered by the replay.
        const resumeSeq = decodeCursor(session.after);
        if (session.after !== startCursor && expected.some((q) => q > resumeSeq && q <= session.positionAtOpen)) replayedAfterReconnect++;
        // Visible now, too: nothing of an incident withdrawn from the org before this connection opened.
        for (const e of session.events) {
          const withdrawal = lostAt.get(`${s.org}|${e.incident.id.replace(/^incident--/, "")}`);
          if (withdrawal !== undefined) expect(withdrawal, `${s.name} received ${e.cursor} of an incident withdrawn from it before it connected`).toBeGreaterThan(session.positionAtOpen);
        }
      }
      // A duplicate, should there be one, is the same event under the same cursor.
      const cursorOf = new Map<string, string>();
      for (const e of got) {
        const key = `${e.incident.id}|${e.kind}|${e.incident.status}|${e.incident.severity}|${e.cursor}`;
        const seq = decodeCursor(e.cursor);
        const row = bySeq.get(seq);
        expect(row, `${s.name} received an event that is not in the log: ${JSON.stringify(e)}`).toBeDefined();
        // The event is the logged one.
        expect(e.incident.id).toBe(`incident--${row!.payload.id}`);
        expect(e.kind).toBe(kindFor(s.org, row!.topic, row!.payload));
        expect([e.incident.owner, e.incident.tlp, e.incident.severity, e.incident.status]).toEqual([
          row!.payload.owner,
          row!.payload.tlp,
          row!.payload.severity,
          row!.payload.status,
        ]);
        // Nothing of another org's AMBER or RED incident that was not shared with or referred to it,
        // no note or referral it may not read.
        expect(visibleTo(s.org, row!.payload), `${s.name} received a hidden event ${seq}`).toBe(true);
        expect(allowed.has(seq), `${s.name} received event ${seq}, whose entries it may not read`).toBe(true);
        if (cursorOf.has(key)) expect(cursorOf.get(key)).toBe(e.cursor);
        cursorOf.set(key, e.cursor);
      }
      expect(new Set(gotSeqs).size, `${s.name}: nothing twice`).toBe(gotSeqs.length);
      // No gap and nothing extra: every event of an incident it still sees; of one withdrawn from it
      // since, whatever reached it while it still saw it (checked above).
      const gotSet = new Set(gotSeqs);
      expect(expected.filter((q) => !gotSet.has(q)), `${s.name}: missing`).toEqual([]);
      expect(gotSeqs.filter((q) => !allowed.has(q)), `${s.name}: extra`).toEqual([]);
      expect(expected.length, `${s.name} expects something`).toBeGreaterThan(0);
      expect(s.sessions.length, `${s.name} reconnected`).toBeGreaterThan(1);
    }
    const expiring = subscribers.find((s) => s.expiring)!;
    expect(expiring.expiries, "the short-lived tokens expired mid-stream").toBeGreaterThan(0);
    expect(replayedAfterReconnect, "some reconnect replayed events missed while away").toBeGreaterThan(0);
  });

  it("refuses a cursor older than the retention window with CURSOR_EXPIRED, not silence", async () => {
    const [P] = providers as [string];
    const [A] = agencies as [string];
    const before = await maxSeq();
    for (const title of ["Pruned one", "Kept one"]) {
      const res = await t.gql(REPORT, { input: { title, severity: "LOW", tlp: "GREEN" } }, tokens[P]);
      expect(res.data.reportIncident.error).toBeNull();
    }
    const oldCursor = encodeCursor(before);
    const mark = await maxSeq();
    const { rows } = await db.query<{ pruned_through: string }>("select pruned_through from hub.event_retention");
    const original = rows[0]!.pruned_through;
    const expectExpired = async (session: Session, what: string) => {
      await until(`the refusal ${what}`, () => session.ended);
      expect(session.events, what).toEqual([]);
      const errors = graphqlErrors(session.errors);
      expect(errors[0]?.extensions?.code, `${what}: ${JSON.stringify(session.errors)}`).toBe("CURSOR_EXPIRED");
      expect(errors[0]!.message).toMatch(/retention window/);
    };
    try {
      // As if the log had been pruned up to its newest event: `before` is now too old to resume from.
      await db.query("update hub.event_retention set pruned_through = $1", [mark]);

      // Alone on its feed.
      await expectExpired(open(tokens[A]!, oldCursor, { minSeverity: "LOW" }), "alone");

      // Beside a subscriber of the same feed that is fine (it resumes from the mark): the old cursor
      // is refused all the same, and the other subscriber goes on.
      const fine = open(tokens[A]!, encodeCursor(mark), { referredToMe: false });
      await sleep(300);
      await expectExpired(open(tokens[A]!, oldCursor, { referredToMe: false }), "beside a live subscriber");
      const later = await t.gql(REPORT, { input: { title: "After the mark", severity: "LOW", tlp: "GREEN" } }, tokens[P]);
      const id = later.data.reportIncident.incident.id;
      await until("the event after the mark", () => fine.events.length > 0 || fine.ended);
      expect(fine.errors).toEqual([]);
      expect(fine.events.map((e) => e.incident.id)).toEqual([id]);
      fine.leaving = true;
      await fine.client.dispose();
    } finally {
      await db.query("update hub.event_retention set pruned_through = $1", [original]);
    }
  });

  it("refuses a malformed cursor with BAD_USER_INPUT naming `after`", async () => {
    const [A] = agencies as [string];
    // A filter naming a malformed incident type is refused too, naming it.
    const badType = open(tokens[A]!, encodeCursor(await maxSeq()), { types: ["Not A Type!"] });
    await until("the refusal of the type", () => badType.ended);
    expect(graphqlErrors(badType.errors)[0]?.extensions?.code, JSON.stringify(badType.errors)).toBe("BAD_USER_INPUT");
    expect(graphqlErrors(badType.errors)[0]!.message).toMatch(/^filter\.types\[0\]: /);
    for (const after of ["not-a-cursor", Buffer.from("wf1:-4").toString("base64url"), Buffer.from("in:12").toString("base64url"), "x".repeat(100)]) {
      const bad = open(tokens[A]!, after, {});
      await until(`the refusal of ${after.slice(0, 20)}`, () => bad.ended);
      expect(bad.events).toEqual([]);
      const errors = graphqlErrors(bad.errors);
      expect(errors[0]?.extensions?.code, JSON.stringify(bad.errors)).toBe("BAD_USER_INPUT");
      expect(errors[0]!.message).toMatch(/^after: /);
    }
  });
});
