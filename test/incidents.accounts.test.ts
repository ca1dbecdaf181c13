import "reflect-metadata";
import { randomUUID } from "node:crypto";
import type { Client } from "graphql-ws";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { encodeCursor } from "../src/events/cursor.js";
import { flagByEvent, projected, registerAccountByEvent } from "./support/accounts.js";
import { orgId, startTestHub, type TestHub } from "./support/hub.js";
import { until } from "./support/wait.js";

/**
 * Incidents link accounts of the accounts subgraph: a report may name only accounts the reporter may
 * see (its own, or flagged by a flag in force it may see), with the same answer for a hidden account as
 * for none; `Incident.accounts` and `Account.incidents` show each viewer only what the accounts' rule
 * and the incidents' TLP rule let it see, on every path: by id, lists, `_entities` straight to the
 * subgraph, and the feed. Accounts and flags come from the account events, appended as the accounts
 * subgraph writes them. Every negative has its positive twin.
 */

const REPORT = `mutation($input: IncidentInput!) { reportIncident(input: $input) { incident { id accounts { id } } error { field message code } } }`;
const UPDATE = `mutation($id: ID!, $input: IncidentUpdate!) { updateIncident(id: $id, input: $input) { incident { id title accounts { id } } error { field message code } } }`;
const GET = `query($id: ID!) { incident(id: $id) { id accounts { id } } }`;
const LIST = `query($f: IncidentFilter) { incidents(filter: $f, first: 500) { edges { node { id accounts { id } } } } }`;
const ACCOUNT_INCIDENTS = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Account { id incidents { id title } } } }`;
const NESTED = `query($id: ID!) { incident(id: $id) { id accounts { id incidents { id } } } }`;
const FEED = `subscription($after: String) { incidentFeed(after: $after) { cursor kind incident { id title accounts { id } } } }`;

const ids = (list: { id: string }[]) => list.map((x) => x.id);

interface FeedEvent {
  cursor: string;
  kind: string;
  incident: { id: string; title: string; accounts: { id: string }[] };
}

describe("incidents linking accounts", () => {
  let t: TestHub;
  let db: pg.Client;
  const A = orgId("ia-provider-a");
  const B = orgId("ia-provider-b");
  const C = orgId("ia-agency");
  const D = orgId("ia-third");
  const N = orgId("ia-noscope");
  const tokens: Record<string, string> = {};
  const clients: Client[] = [];
  let startCursor: string;

  // A's own account, never flagged: A's alone to see.
  let ownA: string;
  // B's accounts: flagged GREEN (everyone), AMBER shared with C, not flagged, flag cleared, flag
  // expired, and flagged RED by A (A and B, the provider, see it).
  let green: string;
  let amberC: string;
  let hidden: string;
  let cleared: string;
  let expired: string;
  let redByA: string;
  let incident: string; // A's GREEN incident linking ownA, green and redByA

  const ok = async (org: string, query: string, variables: Record<string, unknown> = {}, url?: string) => {
    const res = await t.gql(query, variables, tokens[org], url);
    expect(res.errors, `${org}: ${JSON.stringify(res.errors)}`).toBeUndefined();
    return res.data;
  };
  const report = async (org: string, input: Record<string, unknown>) => {
    const data = await ok(org, REPORT, { input });
    expect(data.reportIncident.error, JSON.stringify(data)).toBeNull();
    return data.reportIncident.incident as { id: string; accounts: { id: string }[] };
  };
  /** What an org has stored: incidents, and incident events it wrote. */
  const storedBy = async (org: string) => {
    const { rows } = await db.query(
      `select (select count(*) from incidents.incident where owner = $1)::int as incidents,
              (select count(*) from hub.event where topic like 'incident.%' and owner_org = $1)::int as events`,
      [org],
    );
    return rows[0];
  };

  beforeAll(async () => {
    t = await startTestHub();
    const rw = ["incidents:read", "incidents:write"];
    tokens[A] = await t.token(A, "PROVIDER", rw);
    tokens[B] = await t.token(B, "PROVIDER", rw);
    tokens[C] = await t.token(C, "AGENCY", rw);
    tokens[D] = await t.token(D, "PROVIDER", rw);
    tokens[N] = await t.token(N, "PROVIDER", ["incidents:write"]);
    for (const org of [A, B, C, D, N]) expect((await ok(org, `{ viewer { org } }`)).viewer.org).toBe(org);
    db = new pg.Client({ connectionString: inject("databaseUrl") });
    await db.connect();
    startCursor = encodeCursor(Number((await db.query("select coalesce(max(seq), 0) as seq from hub.event")).rows[0].seq));

    ownA = await registerAccountByEvent(t, A);
    [green, amberC, hidden, cleared, expired, redByA] = await Promise.all(Array.from({ length: 6 }, () => registerAccountByEvent(t, B)));
    await flagByEvent(t, { account: green, provider: B, owner: B, tlp: "GREEN" });
    await flagByEvent(t, { account: amberC, provider: B, owner: B, tlp: "AMBER", sharedWith: [C] });
    const flag = await flagByEvent(t, { account: cleared, provider: B, owner: B, tlp: "GREEN" });
    await flagByEvent(t, { id: flag, account: cleared, provider: B, owner: B, tlp: "GREEN", status: "CLEARED" });
    await flagByEvent(t, { account: expired, provider: B, owner: B, tlp: "GREEN", expiresAt: new Date(Date.now() - 60_000) });
    await flagByEvent(t, { account: redByA, provider: B, owner: A, tlp: "RED" });
    await projected(db);
    incident = (await report(A, { title: "Abuse from three accounts", severity: "HIGH", tlp: "GREEN", accountIds: [ownA, green, redByA] })).id;
  });
  afterAll(async () => {
    for (const c of clients) await c.dispose();
    await db?.end();
    await t?.stop();
  });

  it("a report naming an account the reporter may not see is refused exactly as one naming no account; nothing is stored", async () => {
    const before = await storedBy(D);
    const answers = [];
    for (const account of [hidden, amberC, cleared, expired, redByA, ownA, `account--${randomUUID()}`]) {
      const data = await ok(D, REPORT, { input: { title: "Names an account", severity: "LOW", tlp: "GREEN", accountIds: [green, account] } });
      answers.push(data.reportIncident);
    }
    for (const answer of answers) {
      expect(answer).toEqual({ incident: null, error: { field: "accountIds[1]", message: "accountIds[1]: no account with this id", code: "NOT_FOUND" } });
    }
    expect(await storedBy(D)).toEqual(before);
    // A malformed id is bad input, naming it.
    const malformed = await ok(D, REPORT, { input: { title: "Names an account", severity: "LOW", tlp: "GREEN", accountIds: ["acct-1"] } });
    expect(malformed.reportIncident).toEqual({
      incident: null,
      error: { field: "accountIds[0]", message: "accountIds[0]: not an account id (account--<uuid>)", code: "BAD_USER_INPUT" },
    });
    expect(await storedBy(D)).toEqual(before);
    // The positive twins: each account, reported by an org that may see it.
    expect(ids((await report(D, { title: "Green", severity: "LOW", tlp: "GREEN", accountIds: [green] })).accounts)).toEqual([green]);
    expect(ids((await report(C, { title: "Amber", severity: "LOW", tlp: "RED", accountIds: [amberC, green] })).accounts)).toEqual([amberC, green]);
    for (const account of [hidden, cleared, expired, redByA, amberC]) {
      expect(ids((await report(B, { title: "The provider's own", severity: "LOW", tlp: "RED", accountIds: [account] })).accounts)).toEqual([account]);
    }
    expect(ids((await report(A, { title: "The flagger's", severity: "LOW", tlp: "RED", accountIds: [redByA, ownA] })).accounts)).toEqual([redByA, ownA]);
  });

  it("an account registered a moment ago may be linked at once", async () => {
    const fresh = await registerAccountByEvent(t, D);
    expect(ids((await report(D, { title: "Fresh account", severity: "LOW", tlp: "RED", accountIds: [fresh] })).accounts)).toEqual([fresh]);
  });

  it("an update naming a hidden account is refused; one that names no accounts keeps working a case whose link was hidden since", async () => {
    const mine = (await report(C, { title: "Case on an amber account", severity: "LOW", tlp: "RED", accountIds: [amberC] })).id;
    const refused = await ok(C, UPDATE, { id: mine, input: { accountIds: [amberC, hidden] } });
    expect(refused.updateIncident).toEqual({ incident: null, error: { field: "accountIds[1]", message: "accountIds[1]: no account with this id", code: "NOT_FOUND" } });
    expect((await ok(C, GET, { id: mine })).incident.accounts).toEqual([{ id: amberC }]);
    // B unshares the flag from C: C no longer sees the account, yet may still retitle its case.
    const local = await registerAccountByEvent(t, B);
    const flag = await flagByEvent(t, { account: local, provider: B, owner: B, tlp: "AMBER", sharedWith: [C] });
    await projected(db);
    const case2 = (await report(C, { title: "Case two", severity: "LOW", tlp: "RED", accountIds: [local] })).id;
    await flagByEvent(t, { id: flag, account: local, provider: B, owner: B, tlp: "AMBER", sharedWith: [] });
    await projected(db);
    const retitled = await ok(C, UPDATE, { id: case2, input: { title: "Case two, retitled" } });
    expect(retitled.updateIncident).toEqual({ incident: { id: case2, title: "Case two, retitled", accounts: [] }, error: null });
    const relinked = await ok(C, UPDATE, { id: case2, input: { accountIds: [local] } });
    expect(relinked.updateIncident.error).toMatchObject({ field: "accountIds[0]", code: "NOT_FOUND" });
  });

  it("Incident.accounts shows each viewer only the accounts it may see, by id and in lists", async () => {
    const expected: [string, string[]][] = [
      [A, [ownA, green, redByA]],
      [B, [green, redByA]],
      [C, [green]],
      [D, [green]],
    ];
    for (const [org, accounts] of expected) {
      expect(ids((await ok(org, GET, { id: incident })).incident.accounts), org).toEqual(accounts);
      const listed = (await ok(org, LIST, { f: { owner: A } })).incidents.edges.map((e: any) => e.node).find((n: any) => n.id === incident);
      expect(ids(listed.accounts), org).toEqual(accounts);
    }
  });

  it("Account.incidents through the gateway lists only visible incidents of visible accounts", async () => {
    const byA = (await ok(A, NESTED, { id: incident })).incident.accounts;
    expect(byA.map((a: any) => a.id)).toEqual([ownA, green, redByA]);
    for (const account of byA) expect(account.incidents.map((i: any) => i.id)).toContain(incident);
    // A's RED incident on redByA is not for C's eyes, even through an account C may see.
    const secret = (await report(A, { title: "A's secret on a green account", severity: "LOW", tlp: "RED", accountIds: [green] })).id;
    const byC = (await ok(C, NESTED, { id: incident })).incident.accounts;
    expect(byC.map((a: any) => a.id)).toEqual([green]);
    expect(byC[0].incidents.map((i: any) => i.id)).toContain(incident);
    expect(byC[0].incidents.map((i: any) => i.id)).not.toContain(secret);
    expect((await ok(A, NESTED, { id: incident })).incident.accounts[1].incidents.map((i: any) => i.id)).toContain(secret);
  });

  it("_entities straight to the incidents subgraph: a hidden account answers as one that does not exist", async () => {
    const url = t.subgraphUrl("incidents");
    const nowhere = `account--${randomUUID()}`;
    const answer = async (org: string, account: string) => (await t.gql(ACCOUNT_INCIDENTS, { r: [{ __typename: "Account", id: account }] }, tokens[org], url));
    const absent = await answer(C, nowhere);
    expect(absent).toEqual({ status: 200, data: { _entities: [{ id: nowhere, incidents: [] }] }, errors: undefined });
    for (const account of [ownA, redByA, hidden]) {
      const hiddenAnswer = await answer(C, account);
      expect(hiddenAnswer.data._entities[0].incidents).toEqual([]);
      expect(JSON.stringify(hiddenAnswer)).toBe(JSON.stringify(absent).replace(nowhere, account));
    }
    // The positive twins: A sees the incidents of its own account and of the one it flagged.
    for (const account of [ownA, redByA]) {
      const mine = await answer(A, account);
      expect(ids(mine.data._entities[0].incidents)).toContain(incident);
    }
    // Without incidents:read, nothing at all.
    const refused = await answer(N, ownA);
    expect(refused.errors?.[0]?.extensions?.code, JSON.stringify(refused)).toBe("FORBIDDEN");
    expect(JSON.stringify(refused)).not.toContain(incident);
  });

  it("refuses an Account representation without a usable key at its own index, naming it", async () => {
    const query = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Account { id incidents { id } } } }`;
    const good = { __typename: "Account", id: green };
    const bad = [{ __typename: "Account" }, { __typename: "Account", id: 5 }, { __typename: "Account", id: null }, { __typename: "Account", id: { id: "x" } }];
    const res = await t.gql(query, { r: [good, ...bad, good] }, tokens[D], t.subgraphUrl("incidents"));
    expect(res.data._entities[0]).toEqual({ id: green, incidents: expect.arrayContaining([{ id: incident }]) });
    expect(res.data._entities.slice(1)).toEqual([null, null, null, null, res.data._entities[0]]);
    const errors = [...res.errors!].sort((x: any, y: any) => x.path[1] - y.path[1]);
    expect(errors.map((e: any) => ({ path: e.path, code: e.extensions.code, field: e.extensions.field }))).toEqual(
      [1, 2, 3, 4].map((i) => ({ path: ["_entities", i], code: "BAD_USER_INPUT", field: `representations[${i}]` })),
    );
    for (const e of errors) expect(e.message).toMatch(/^representations\[\d\]\.id: /);
  });

  it("a flag cleared since hides the account from those who saw it through the flag, on every path", async () => {
    const account = await registerAccountByEvent(t, B);
    const flag = await flagByEvent(t, { account, provider: B, owner: B, tlp: "GREEN" });
    await projected(db);
    const id = (await report(D, { title: "Soon cleared", severity: "LOW", tlp: "GREEN", accountIds: [account] })).id;
    expect(ids((await ok(C, GET, { id })).incident.accounts)).toEqual([account]);
    await flagByEvent(t, { id: flag, account, provider: B, owner: B, tlp: "GREEN", status: "CLEARED" });
    await projected(db);
    for (const org of [C, D]) expect((await ok(org, GET, { id })).incident.accounts, org).toEqual([]);
    // The provider still sees its account; and a disputed flag is still in force.
    expect(ids((await ok(B, GET, { id })).incident.accounts)).toEqual([account]);
    await flagByEvent(t, { id: flag, account, provider: B, owner: B, tlp: "GREEN", status: "DISPUTED" });
    await projected(db);
    expect(ids((await ok(C, GET, { id })).incident.accounts)).toEqual([account]);
  });

  it("the feed shows each subscriber only the linked accounts it may see, replayed and live, through the gateway and straight to the subgraph", async () => {
    function feed(org: string, after: string | null, url?: string) {
      const client = t.ws(tokens[org]!, url);
      clients.push(client);
      const state = { events: [] as FeedEvent[], errors: [] as unknown[] };
      client.subscribe<{ incidentFeed: FeedEvent }>(
        { query: FEED, variables: { after } },
        { next: (v) => (v.errors ? state.errors.push(...v.errors) : state.events.push(v.data!.incidentFeed)), error: (e) => state.errors.push(e), complete: () => undefined },
      );
      const of = (id: string) => state.events.find((e) => e.incident.id === id);
      return { state, of, waitFor: (id: string) => until(`event of ${id} for ${org}`, () => of(id) !== undefined || state.errors.length > 0) };
    }
    const subs = [
      [A, feed(A, startCursor)],
      [C, feed(C, startCursor)],
      [D, feed(D, startCursor, t.subgraphUrl("incidents"))],
    ] as const;
    for (const [, sub] of subs) await sub.waitFor(incident);
    const expected: Record<string, string[]> = { [A]: [ownA, green, redByA], [C]: [green], [D]: [green] };
    for (const [org, sub] of subs) {
      expect(sub.state.errors, org).toEqual([]);
      expect(ids(sub.of(incident)!.incident.accounts), org).toEqual(expected[org]);
    }
    // Live: a new incident linking the same accounts.
    const live = (await report(A, { title: "Live one", severity: "LOW", tlp: "GREEN", accountIds: [redByA, green, ownA] })).id;
    for (const [, sub] of subs) await sub.waitFor(live);
    for (const [org, sub] of subs) {
      expect(sub.state.errors, org).toEqual([]);
      expect(ids(sub.of(live)!.incident.accounts).sort(), org).toEqual([...expected[org]!].sort());
    }
  });
});

describe("incidents linking accounts, end to end with the accounts subgraph's own mutations", () => {
  let t: TestHub;
  const P = orgId("iae-provider");
  const Q = orgId("iae-reporter");
  const R = orgId("iae-third");
  const tokens: Record<string, string> = {};
  const REGISTER = `mutation($in: [AccountInput!]!) { registerAccounts(input: $in) { results { error { field message } account { id } } } }`;
  const FLAG = `mutation($in: FlagInput!) { flagAccount(input: $in) { error { field message code } flag { id } } }`;
  const CLEAR = `mutation($id: ID!, $reason: String!) { clearFlag(id: $id, reason: $reason) { error { field message code } flag { id status } } }`;
  const ACCOUNT = `query($id: ID!) { account(id: $id) { id kind incidents { id title } } }`;

  const ok = async (org: string, query: string, variables: Record<string, unknown> = {}) => {
    const res = await t.gql(query, variables, tokens[org]);
    expect(res.errors, `${org}: ${JSON.stringify(res.errors)}`).toBeUndefined();
    return res.data;
  };

  beforeAll(async () => {
    t = await startTestHub();
    const scopes = ["accounts:read", "accounts:write", "incidents:read", "incidents:write"];
    for (const org of [P, Q, R]) {
      tokens[org] = await t.token(org, "PROVIDER", scopes);
      await ok(org, `{ viewer { org } }`);
    }
  });
  afterAll(() => t?.stop());

  it("a provider's account is linked once its flag is visible, shows its incidents to whoever sees it, and is hidden again when the flag is cleared", async () => {
    const input = ["abuser-1", "quiet-1"].map((externalRef) => ({
      externalRef,
      kind: "TRIAL",
      holderType: "INDIVIDUAL",
      holderJurisdiction: "RO",
      usPerson: false,
      identifiers: [{ type: "EMAIL", value: `${externalRef}@example.org` }],
    }));
    const registered = (await ok(P, REGISTER, { in: input })).registerAccounts.results;
    expect(registered.map((r: any) => r.error)).toEqual([null, null]);
    const [abuser, quiet] = registered.map((r: any) => r.account.id as string);

    // Before any flag, only P may link or see its accounts: Q's report is refused as for no account.
    const refusedAnswer = async (account: string) =>
      (await ok(Q, REPORT, { input: { title: "Names P's account", severity: "HIGH", tlp: "GREEN", accountIds: [account] } })).reportIncident;
    const nowhere = await refusedAnswer(`account--${randomUUID()}`);
    expect(nowhere).toEqual({ incident: null, error: { field: "accountIds[0]", message: "accountIds[0]: no account with this id", code: "NOT_FOUND" } });
    expect(await refusedAnswer(abuser)).toEqual(nowhere);

    // P flags it GREEN: Q may now link it at once (the report waits for the projection on a miss).
    const flagged = (await ok(P, FLAG, { in: { accountId: abuser, category: "FRAUD", confidence: 90, tlp: "GREEN" } })).flagAccount;
    expect(flagged.error).toBeNull();
    const reported = (await ok(Q, REPORT, { input: { title: "Card testing", severity: "HIGH", tlp: "GREEN", accountIds: [abuser] } })).reportIncident;
    expect(reported.error).toBeNull();
    expect(reported.incident.accounts).toEqual([{ id: abuser }]);
    const incident = reported.incident.id as string;
    expect(await refusedAnswer(quiet)).toEqual(nowhere);

    // The account, from the accounts subgraph, carries its incidents from this one, for each viewer.
    for (const org of [P, Q, R]) {
      expect((await ok(org, ACCOUNT, { id: abuser })).account, org).toEqual({ id: abuser, kind: "TRIAL", incidents: [{ id: incident, title: "Card testing" }] });
    }
    expect(ids((await ok(R, GET, { id: incident })).incident.accounts)).toEqual([abuser]);

    // Cleared: R and Q no longer see the account, through the incident or at all; P, its provider, does.
    const cleared = (await ok(P, CLEAR, { id: flagged.flag.id, reason: "Resolved with the customer" })).clearFlag;
    expect(cleared.error).toBeNull();
    for (const org of [Q, R]) {
      // The incidents subgraph learns of the clearing from the event log, a moment after it commits.
      await expect.poll(async () => (await ok(org, GET, { id: incident })).incident.accounts, { timeout: 15_000 }).toEqual([]);
      expect((await ok(org, ACCOUNT, { id: abuser })).account).toBeNull();
    }
    expect(ids((await ok(P, GET, { id: incident })).incident.accounts)).toEqual([abuser]);
    expect((await ok(P, ACCOUNT, { id: abuser })).account.incidents).toEqual([{ id: incident, title: "Card testing" }]);
  });
});
