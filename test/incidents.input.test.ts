import "reflect-metadata";
import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { projected, registerAccountByEvent } from "./support/accounts.js";
import { orgId, startTestHub, type GraphQLResponse, type TestHub } from "./support/hub.js";

/**
 * Bad input to the incident mutations through the gateway: each refusal names the field at fault and
 * why, and stores nothing (no incident, no timeline entry, no event). Refusals about incidents the
 * caller may not see are the same answer as for an id that names nothing.
 */

const RESULT = `incident { id status resolution severity title } error { field message code }`;
const REPORT = `mutation($input: IncidentInput!) { reportIncident(input: $input) { ${RESULT} } }`;
const UPDATE = `mutation($id: ID!, $input: IncidentUpdate!) { updateIncident(id: $id, input: $input) { ${RESULT} } }`;
const NOTE = `mutation($id: ID!, $text: String!) { addIncidentNote(id: $id, text: $text) { ${RESULT} } }`;
const REFER = `mutation($id: ID!, $agencies: [String!]!) { referIncident(id: $id, agencies: $agencies) { ${RESULT} } }`;
const PUBLISH = `mutation($input: [IndicatorInput!]!) { publishIndicators(input: $input) { failed results { indicator { id } error { message } } } }`;
const GET = `query($id: ID!) { incident(id: $id) { id status resolution timeline { kind } } }`;

const DAY = 24 * 3600 * 1000;
const FIELD_OF: Record<string, string> = { [REPORT]: "reportIncident", [UPDATE]: "updateIncident", [NOTE]: "addIncidentNote", [REFER]: "referIncident" };

describe("bad input to incident mutations", () => {
  let t: TestHub;
  let db: pg.Client;
  const P = orgId("in-reporter");
  const Q = orgId("in-other");
  const A = orgId("in-agency");
  const nonMember = orgId("in-nobody"); // never makes a request: not in the directory
  const tokens: Record<string, string> = {};
  const orgs = [P, Q, A];

  /** What the file's orgs have stored: incidents, timeline entries (theirs or on their incidents), incident events. */
  async function stored() {
    const { rows } = await db.query(
      `select (select count(*) from incidents.incident where owner = any($1))::int as incidents,
              (select count(*) from incidents.timeline_entry te join incidents.incident i on i.id = te.incident_id
                where i.owner = any($1) or te.author_org = any($1))::int as timeline,
              (select count(*) from hub.event where topic like 'incident.%' and (owner_org = any($1) or shared_with && $1))::int as events,
              (select coalesce(max(modified_at), 'epoch') from incidents.incident where owner = any($1)) as modified`,
      [orgs],
    );
    return rows[0];
  }

  /** A mutation refused with `error` naming `field`, and nothing stored by it. Returns the whole answer. */
  async function refused(
    org: string,
    query: string,
    variables: Record<string, unknown>,
    expected: { field: string; code?: string; message?: RegExp },
  ): Promise<GraphQLResponse> {
    const before = await stored();
    const res = await t.gql(query, variables, tokens[org]);
    expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
    const result = res.data[FIELD_OF[query]!];
    expect(result.incident, JSON.stringify(result)).toBeNull();
    expect(result.error, JSON.stringify(variables).slice(0, 300)).toMatchObject({ field: expected.field, code: expected.code ?? "BAD_USER_INPUT" });
    // The message starts with the field it names, and says why.
    expect(result.error.message.startsWith(`${expected.field}: `), result.error.message).toBe(true);
    if (expected.message) expect(result.error.message).toMatch(expected.message);
    expect(await stored()).toEqual(before);
    return res;
  }

  async function ok(org: string, query: string, variables: Record<string, unknown>) {
    const res = await t.gql(query, variables, tokens[org]);
    expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
    const result = res.data[FIELD_OF[query]!];
    expect(result.error, JSON.stringify(result.error)).toBeNull();
    return result.incident;
  }

  const valid = (extra: Record<string, unknown> = {}) => ({ title: "A valid report", severity: "LOW", tlp: "GREEN", ...extra });

  beforeAll(async () => {
    t = await startTestHub();
    tokens[P] = await t.token(P, "PROVIDER", ["incidents:read", "incidents:write", "indicators:read", "indicators:write"]);
    tokens[Q] = await t.token(Q, "PROVIDER", ["incidents:read", "incidents:write", "indicators:read", "indicators:write"]);
    tokens[A] = await t.token(A, "AGENCY", ["incidents:read", "incidents:write"]);
    for (const org of orgs) expect((await t.gql(`{ viewer { org } }`, {}, tokens[org])).data?.viewer?.org).toBe(org);
    db = new pg.Client({ connectionString: inject("databaseUrl") });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
    await t?.stop();
  });

  it("refuses an unknown severity at GraphQL coercion, naming input.severity", async () => {
    const before = await stored();
    const res = await t.gql(REPORT, { input: valid({ severity: "SEVERE" }) }, tokens[P]);
    expect(res.data?.reportIncident ?? null).toBeNull();
    expect(res.errors?.length, JSON.stringify(res)).toBeGreaterThan(0);
    expect(res.errors![0]!.message).toMatch(/input\.severity/);
    // Where and why, never the value (an input's values may be personal).
    expect(res.errors![0]!.message).toMatch(/does not exist in "Severity" enum/);
    expect(res.errors![0]!.message).not.toMatch(/SEVERE/);
    expect(res.errors![0]!.extensions?.code).toBe("BAD_USER_INPUT");
    expect(await stored()).toEqual(before);
  });

  it("refuses bad titles: empty, too long, more than one line, control characters", async () => {
    await refused(P, REPORT, { input: valid({ title: "" }) }, { field: "title", message: /empty/ });
    await refused(P, REPORT, { input: valid({ title: "   " }) }, { field: "title", message: /empty/ });
    await refused(P, REPORT, { input: valid({ title: "x".repeat(10_000) }) }, { field: "title", message: /longer than 300/ });
    await refused(P, REPORT, { input: valid({ title: "first line\nsecond line" }) }, { field: "title", message: /one line/ });
    await refused(P, REPORT, { input: valid({ title: "carriage\rreturn" }) }, { field: "title", message: /one line/ });
    await refused(P, REPORT, { input: valid({ title: "nul\u0000byte" }) }, { field: "title", message: /control characters/ });
    // The positive twin: the longest title allowed is stored.
    const incident = await ok(P, REPORT, { input: valid({ title: "x".repeat(300) }) });
    expect(incident.title).toHaveLength(300);
  });

  it("refuses referrals to a provider and to a non-member, and sharing with a non-member", async () => {
    await refused(P, REPORT, { input: valid({ tlp: "RED", referredTo: [Q] }) }, { field: "referredTo[0]", message: new RegExp(`'${Q}' is not an agency`) });
    await refused(P, REPORT, { input: valid({ tlp: "RED", referredTo: [A, nonMember] }) }, { field: "referredTo[1]", message: new RegExp(nonMember) });
    await refused(P, REPORT, { input: valid({ tlp: "AMBER", sharedWith: [A, nonMember] }) }, { field: "sharedWith[1]", message: new RegExp(`'${nonMember}' is not a member`) });
    await refused(P, REPORT, { input: valid({ tlp: "AMBER", sharedWith: ["Not An Org!"] }) }, { field: "sharedWith[0]", message: /not an org id/ });
    // The reporter itself, a provider, is no agency either: a referral it asked for must not vanish.
    await refused(P, REPORT, { input: valid({ tlp: "RED", referredTo: [A, P] }) }, { field: "referredTo[1]", message: new RegExp(`'${P}' is not an agency`) });
    const incident = await ok(P, REPORT, { input: valid({ tlp: "RED", referredTo: [A], sharedWith: [Q] }) });
    expect(incident.id).toMatch(/^incident--/);
    await refused(P, REFER, { id: incident.id, agencies: [P] }, { field: "agencies[0]", message: new RegExp(`'${P}' is not an agency`) });
  });

  it("refuses bad links, numbers and times", async () => {
    await refused(P, REPORT, { input: valid({ indicatorIds: ["indicator--nope"] }) }, { field: "indicatorIds[0]", message: /not an indicator id/ });
    await refused(P, REPORT, { input: valid({ indicatorIds: [`incident--${randomUUID()}`] }) }, { field: "indicatorIds[0]" });
    await refused(P, REPORT, { input: valid({ criticality: 101 }) }, { field: "criticality", message: /0 to 100/ });
    await refused(P, REPORT, { input: valid({ criticality: -1 }) }, { field: "criticality", message: /0 to 100/ });
    const now = Date.now();
    await refused(
      P,
      REPORT,
      { input: valid({ occurredAt: new Date(now - 2 * DAY).toISOString(), detectedAt: new Date(now - 3 * DAY).toISOString() }) },
      { field: "detectedAt", message: /before occurredAt/ },
    );
    await refused(P, REPORT, { input: valid({ occurredAt: new Date(now + 3 * DAY).toISOString() }) }, { field: "occurredAt", message: /future/ });
    const accounts = await Promise.all(Array.from({ length: 201 }, () => registerAccountByEvent(t, P)));
    await projected(db);
    await refused(P, REPORT, { input: valid({ accountIds: accounts }) }, { field: "accountIds", message: /at most 200/ });
    await refused(P, REPORT, { input: valid({ accountIds: [accounts[0], "acct-1"] }) }, { field: "accountIds[1]", message: /not an account id \(account--<uuid>\)/ });
    await refused(P, REPORT, { input: valid({ accountIds: [accounts[0], `indicator--${randomUUID()}`] }) }, { field: "accountIds[1]", message: /not an account id/ });
    // The positive twin: 200 accounts and ordered times are fine.
    await ok(P, REPORT, { input: valid({ accountIds: accounts.slice(0, 200), occurredAt: new Date(now - 3 * DAY).toISOString(), detectedAt: new Date(now - 2 * DAY).toISOString() }) });
  });

  it("answers a link to an indicator the reporter may not see as it answers one that does not exist", async () => {
    const published = async (org: string, value: string, tlp: string) => {
      const res = await t.gql(PUBLISH, { input: [{ type: "IPV4", value, tlp }] }, tokens[org]);
      expect(res.data.publishIndicators.failed, JSON.stringify(res)).toBe(0);
      return res.data.publishIndicators.results[0].indicator.id as string;
    };
    const mine = await published(P, "198.51.100.21", "GREEN");
    const theirs = await published(Q, "198.51.100.22", "RED");
    const hidden = await refused(P, REPORT, { input: valid({ indicatorIds: [mine, theirs] }) }, { field: "indicatorIds[1]", code: "NOT_FOUND" });
    const nothing = await refused(P, REPORT, { input: valid({ indicatorIds: [mine, `indicator--${randomUUID()}`] }) }, { field: "indicatorIds[1]", code: "NOT_FOUND" });
    expect(hidden).toEqual(nothing);
    // The positive twins: the owner of the RED indicator may link it, and P may link its own.
    await ok(Q, REPORT, { input: valid({ indicatorIds: [theirs] }) });
    await ok(P, REPORT, { input: valid({ indicatorIds: [mine] }) });
  });

  it("refuses status moves the workflow does not allow, and resolutions out of place", async () => {
    const { id } = await ok(P, REPORT, { input: valid({ title: "Workflow case" }) });
    const status = async () => (await t.gql(GET, { id }, tokens[P])).data.incident.status;

    await ok(P, UPDATE, { id, input: { status: "TRIAGED" } });
    await refused(P, UPDATE, { id, input: { status: "NEW" } }, { field: "status", message: /cannot move from TRIAGED to NEW/ });
    await refused(P, UPDATE, { id, input: { resolution: "TRUE_POSITIVE" } }, { field: "resolution", message: /only given when closing/ });
    await refused(P, UPDATE, { id, input: { status: "INVESTIGATING", resolution: "TRUE_POSITIVE" } }, { field: "resolution", message: /only given when closing/ });
    await ok(P, UPDATE, { id, input: { status: "CONTAINED" } });
    await refused(P, UPDATE, { id, input: { status: "TRIAGED" } }, { field: "status", message: /cannot move from CONTAINED to TRIAGED/ });
    await refused(P, UPDATE, { id, input: { status: "CLOSED" } }, { field: "resolution", message: /required to close/ });
    expect(await status()).toBe("CONTAINED");
    // A refused move in one request with a valid field change stores neither.
    await refused(P, UPDATE, { id, input: { title: "Renamed", status: "NEW" } }, { field: "status" });
    await ok(P, UPDATE, { id, input: { status: "CLOSED", resolution: "FALSE_POSITIVE" } });
    await refused(P, UPDATE, { id, input: { status: "TRIAGED" } }, { field: "status", message: /cannot move from CLOSED to TRIAGED/ });
    await refused(P, UPDATE, { id, input: { status: "CONTAINED" } }, { field: "status", message: /reopened to INVESTIGATING/ });
    const after = (await t.gql(GET, { id }, tokens[P])).data.incident;
    expect(after).toMatchObject({ status: "CLOSED", resolution: "FALSE_POSITIVE" });
    expect(after.timeline.map((e: any) => e.kind)).toEqual(["REPORTED", "STATUS", "STATUS", "STATUS"]);
  });

  it("refuses bad field values in an update", async () => {
    const { id } = await ok(P, REPORT, { input: valid({ title: "Update case" }) });
    await refused(P, UPDATE, { id, input: { title: null } }, { field: "title" });
    await refused(P, UPDATE, { id, input: { title: "two\nlines" } }, { field: "title" });
    await refused(P, UPDATE, { id, input: { criticality: 101 } }, { field: "criticality" });
    await refused(P, UPDATE, { id, input: { sharedWith: [nonMember] } }, { field: "sharedWith[0]" });
    await refused(P, UPDATE, { id, input: { occurredAt: new Date(Date.now() + 3 * DAY).toISOString() } }, { field: "occurredAt" });
    await refused(P, UPDATE, { id, input: { indicatorIds: ["indicator--nope"] } }, { field: "indicatorIds[0]" });
  });

  it("answers a change to an incident the caller may not see as one to an id that names nothing", async () => {
    const red = await ok(Q, REPORT, { input: valid({ title: "Q's secret", tlp: "RED" }) });
    const randomId = `incident--${randomUUID()}`;
    const pairs: [string, Record<string, unknown>, Record<string, unknown>][] = [
      [NOTE, { id: red.id, text: "hello" }, { id: randomId, text: "hello" }],
      [UPDATE, { id: red.id, input: { severity: "HIGH" } }, { id: randomId, input: { severity: "HIGH" } }],
      [REFER, { id: red.id, agencies: [A] }, { id: randomId, agencies: [A] }],
    ];
    for (const [query, hiddenVars, randomVars] of pairs) {
      const hidden = await refused(P, query, hiddenVars, { field: "id", code: "NOT_FOUND" });
      const nothing = await refused(P, query, randomVars, { field: "id", code: "NOT_FOUND" });
      expect(hidden).toEqual(nothing);
    }
    // A malformed id is no different.
    const malformed = await refused(P, NOTE, { id: "incident--nope", text: "hello" }, { field: "id", code: "NOT_FOUND" });
    expect(malformed.data).toEqual((await t.gql(NOTE, { id: randomId, text: "hello" }, tokens[P])).data);
  });

  it("refuses changes by orgs that see an incident but are not its reporter (or a referred agency, for notes)", async () => {
    const green = await ok(Q, REPORT, { input: valid({ title: "Q's open case", tlp: "GREEN" }) });
    await refused(P, NOTE, { id: green.id, text: "not mine" }, { field: "id", code: "FORBIDDEN" });
    await refused(A, NOTE, { id: green.id, text: "not referred" }, { field: "id", code: "FORBIDDEN" });
    await refused(P, UPDATE, { id: green.id, input: { severity: "CRITICAL" } }, { field: "id", code: "FORBIDDEN" });
    await refused(P, REFER, { id: green.id, agencies: [A] }, { field: "id", code: "FORBIDDEN" });
    // A referred agency may note, but not update.
    await ok(Q, REFER, { id: green.id, agencies: [A] });
    await ok(A, NOTE, { id: green.id, text: "referred: noted" });
    await refused(A, UPDATE, { id: green.id, input: { severity: "CRITICAL" } }, { field: "id", code: "FORBIDDEN" });
  });

  it("refuses an over-long note and a referral to nobody or to a non-agency", async () => {
    const { id } = await ok(P, REPORT, { input: valid({ title: "Notes case", tlp: "AMBER" }) });
    await refused(P, NOTE, { id, text: "n".repeat(10_001) }, { field: "text", message: /longer than 10000/ });
    await refused(P, NOTE, { id, text: "  " }, { field: "text", message: /empty/ });
    await refused(P, NOTE, { id, text: "bell\u0007" }, { field: "text", message: /control characters/ });
    await refused(P, REFER, { id, agencies: [] }, { field: "agencies", message: /at least one agency/ });
    await refused(P, REFER, { id, agencies: [A, Q] }, { field: "agencies[1]", message: new RegExp(`'${Q}' is not an agency`) });
    await refused(P, REFER, { id, agencies: [nonMember] }, { field: "agencies[0]" });
    // The positive twins: the longest note, and a referral to an agency.
    await ok(P, NOTE, { id, text: "n".repeat(10_000) });
    await ok(P, REFER, { id, agencies: [A] });
  });
});

describe("links that stop being visible to the reporter", () => {
  let t: TestHub;
  const P = orgId("link-reporter");
  const Q = orgId("link-publisher");
  const tokens: Record<string, string> = {};
  const UPDATE_LINKS = `mutation($id: ID!, $input: IncidentUpdate!) { updateIncident(id: $id, input: $input) { incident { id status severity indicators { id } } error { field message code } } }`;

  beforeAll(async () => {
    t = await startTestHub();
    for (const org of [P, Q]) {
      tokens[org] = await t.token(org, "PROVIDER", ["incidents:read", "incidents:write", "indicators:read", "indicators:write"]);
      expect((await t.gql(`{ viewer { org } }`, {}, tokens[org])).data?.viewer?.org).toBe(org);
    }
  });
  afterAll(() => t?.stop());

  it("do not block the reporter's later changes that leave the links alone; relinking them is refused", async () => {
    const publish = async (tlp: string) => {
      const res = await t.gql(PUBLISH, { input: [{ type: "DOMAIN", value: "relabelled.link-test.example", tlp }] }, tokens[Q]);
      expect(res.data.publishIndicators.failed, JSON.stringify(res)).toBe(0);
      return res.data.publishIndicators.results[0].indicator.id as string;
    };
    const indicator = await publish("GREEN");
    const reported = await t.gql(REPORT, { input: { title: "Linked to Q's indicator", severity: "LOW", tlp: "GREEN", indicatorIds: [indicator] } }, tokens[P]);
    expect(reported.data.reportIncident.error).toBeNull();
    const id = reported.data.reportIncident.incident.id;
    // Q republishes the same indicator as RED: P may no longer see it.
    expect(await publish("RED")).toBe(indicator);
    const hidden = async () => (await t.gql(`query($id: ID!) { incident(id: $id) { indicators { id } } }`, { id }, tokens[P])).data.incident.indicators.length === 0;
    for (let i = 0; !(await hidden()); i++) {
      if (i > 100) throw new Error("the indicator's new marking never reached the incidents subgraph");
      await new Promise((r) => setTimeout(r, 50));
    }

    // The reporter can still work its case.
    for (const input of [{ status: "TRIAGED" }, { severity: "HIGH" }, { status: "CLOSED", resolution: "TRUE_POSITIVE" }]) {
      const res = await t.gql(UPDATE_LINKS, { id, input }, tokens[P]);
      expect(res.errors).toBeUndefined();
      expect(res.data.updateIncident.error, JSON.stringify(input)).toBeNull();
      expect(res.data.updateIncident.incident.indicators).toEqual([]);
    }
    // Naming the hidden indicator again is refused, as for any indicator P may not see.
    const relink = await t.gql(UPDATE_LINKS, { id, input: { indicatorIds: [indicator] } }, tokens[P]);
    expect(relink.data.updateIncident.error).toMatchObject({ field: "indicatorIds[0]", code: "NOT_FOUND" });
    // Q, who may see it, still finds the link from its indicator's side only as far as it may see the incident.
    const fromIndicator = await t.gql(`query($id: ID!) { indicator(id: $id) { incidents { id status } } }`, { id: indicator }, tokens[Q]);
    expect(fromIndicator.data.indicator.incidents).toEqual([{ id, status: "CLOSED" }]);
  });
});
