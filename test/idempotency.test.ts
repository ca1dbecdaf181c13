import "reflect-metadata";
import { randomBytes, randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { EVENT_APPEND_LOCK } from "../src/events/outbox.js";
import { recordFeed } from "./support/feed.js";
import { orgId, startTestHub, type TestHub } from "./support/hub.js";
import { until } from "./support/wait.js";

/**
 * Writes that can be retried, through the real gateway: a mutation sent again with the same
 * Idempotency-Key and body answers as the first did and writes nothing; a used key with another body,
 * or one still in use, is refused; keys are per org; past the window a key is new. And a write that
 * changes nothing (the same indicator published again) emits no event.
 */

const PUBLISH = `mutation Publish($input: [IndicatorInput!]!) {
  publishIndicators(input: $input) { published failed results { index error { field message } indicator { id value tlp confidence modifiedAt } } }
}`;
const REPORT = `mutation Report($input: IncidentInput!) { reportIncident(input: $input) { incident { id title } error { field message code } } }`;
const NOTE = `mutation Note($id: ID!, $text: String!) { addIncidentNote(id: $id, text: $text) { incident { id timeline { kind text } } error { field message } } }`;
const REGISTER = `mutation Register($input: OrganizationInput!) { registerOrganization(input: $input) { organization { id name } error { field message } } }`;
const FEED = `subscription($after: String) { indicatorPublished(after: $after) { cursor indicator { id value owner } } }`;

interface Answer {
  status: number;
  text: string;
  body: any;
}

/** POST to the gateway with extra headers (the support helper sends none). */
async function post(url: string, token: string, payload: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}`, ...headers },
    body: JSON.stringify(payload),
  });
  const text = await res.text();
  return { status: res.status, text, body: JSON.parse(text) };
}

const run = randomBytes(3).toString("hex");
const key = () => `test-${randomUUID()}`;
const batch = (tag: string, n: number) =>
  Array.from({ length: n }, (_, i) => ({ type: "DOMAIN", value: `${tag}-${i}-${run}.idem.example`, tlp: "GREEN", confidence: 60 }));

describe("Idempotency-Key on mutations, through the gateway", () => {
  let t: TestHub;
  let db: pg.Client;
  const P = orgId("idem-p");
  const Q = orgId("idem-q");
  const OP = orgId("idem-op");
  const tokens: Record<string, string> = {};

  const events = async (org: string, topic: string) =>
    Number((await db.query("select count(*) from hub.event where owner_org = $1 and topic = $2", [org, topic])).rows[0].count);

  beforeAll(async () => {
    t = await startTestHub();
    for (const org of [P, Q]) {
      tokens[org] = await t.token(org, "PROVIDER", ["indicators:read", "indicators:write", "incidents:read", "incidents:write"]);
    }
    tokens[OP] = await t.token(OP, "OPERATOR", ["admin"]);
    db = new pg.Client({ connectionString: inject("databaseUrl") });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
    await t?.stop();
  });

  it("answers a retried 500-item batch as the first time, with no second event for anyone", async () => {
    const cursor = (await t.gql(`{ eventLogCursor }`, {}, tokens[P])).data.eventLogCursor;
    const client = t.ws(tokens[P]!);
    const feed = recordFeed(client, FEED, { after: cursor });
    try {
      const items = batch("retry", 500);
      const k = key();
      const first = await post(t.gatewayUrl, tokens[P]!, { query: PUBLISH, variables: { input: items } }, { "idempotency-key": k });
      expect(first.status, first.text.slice(0, 300)).toBe(200);
      expect(first.body.data.publishIndicators).toMatchObject({ published: 500, failed: 0 });
      expect(await events(P, "indicator.published")).toBe(500);

      // The answer was lost on the way: the client sends the same request again.
      const again = await post(t.gatewayUrl, tokens[P]!, { query: PUBLISH, variables: { input: items } }, { "idempotency-key": k });
      expect(again.status).toBe(200);
      expect(again.body).toEqual(first.body);
      expect(await events(P, "indicator.published")).toBe(500);

      // A marker published after the retry: once it arrives, everything before it has too.
      const marker = `marker-${run}.idem.example`;
      await post(t.gatewayUrl, tokens[P]!, { query: PUBLISH, variables: { input: [{ type: "DOMAIN", value: marker, tlp: "GREEN" }] } });
      await until("the marker on the feed", () => feed.has(marker), 30_000);
      const values = feed.values().filter((v) => v.endsWith(`-${run}.idem.example`) && v.startsWith("retry-"));
      expect(values).toHaveLength(500);
      expect(new Set(values).size).toBe(500);
    } finally {
      feed.stop();
      await client.dispose();
    }
  });

  it("makes one incident of a retried report without sourceRef, and one note of a retried note", async () => {
    const k = key();
    const input = { title: `Retried report ${run}`, severity: "LOW", tlp: "GREEN" };
    const first = await post(t.gatewayUrl, tokens[P]!, { query: REPORT, variables: { input } }, { "idempotency-key": k });
    const again = await post(t.gatewayUrl, tokens[P]!, { query: REPORT, variables: { input } }, { "idempotency-key": k });
    expect(again.body).toEqual(first.body);
    const id = first.body.data.reportIncident.incident.id;
    expect(Number((await db.query("select count(*) from incidents.incident where owner = $1 and title = $2", [P, input.title])).rows[0].count)).toBe(1);

    const nk = key();
    const note = { id, text: "Seen again from the same ASN" };
    const n1 = await post(t.gatewayUrl, tokens[P]!, { query: NOTE, variables: note }, { "idempotency-key": nk });
    const n2 = await post(t.gatewayUrl, tokens[P]!, { query: NOTE, variables: note }, { "idempotency-key": nk });
    expect(n2.body).toEqual(n1.body);
    expect(n1.body.data.addIncidentNote.incident.timeline.filter((e: any) => e.kind === "NOTE")).toHaveLength(1);
    const notes = await db.query("select count(*) from incidents.timeline_entry where incident_id = $1 and kind = 'NOTE'", [id.replace("incident--", "")]);
    expect(Number(notes.rows[0].count)).toBe(1);
    expect(await events(P, "incident.note")).toBe(1);
  });

  it("revokes, updates and refers once when each is retried with its key", async () => {
    const [item] = batch("revoke", 1);
    const published = await post(t.gatewayUrl, tokens[P]!, { query: PUBLISH, variables: { input: [item] } });
    const indicatorId = published.body.data.publishIndicators.results[0].indicator.id;
    const REVOKE = `mutation Revoke($id: ID!) { revokeIndicator(id: $id) { id revoked modifiedAt } }`;
    const rk = key();
    const r1 = await post(t.gatewayUrl, tokens[P]!, { query: REVOKE, variables: { id: indicatorId } }, { "idempotency-key": rk });
    const r2 = await post(t.gatewayUrl, tokens[P]!, { query: REVOKE, variables: { id: indicatorId } }, { "idempotency-key": rk });
    expect(r1.body.data.revokeIndicator.revoked).toBe(true);
    expect(r2.body).toEqual(r1.body);
    const revoked = await db.query("select count(*) from hub.event where topic = 'indicator.revoked' and payload->>'id' = $1", [indicatorId.replace("indicator--", "")]);
    expect(Number(revoked.rows[0].count)).toBe(1);

    const agency = orgId("idem-agency");
    expect((await t.gql(`{ viewer { org } }`, {}, await t.token(agency, "AGENCY", ["incidents:read"]))).errors).toBeUndefined();
    const created = await post(t.gatewayUrl, tokens[P]!, { query: REPORT, variables: { input: { title: `Case ${run}`, severity: "LOW", tlp: "AMBER" } } });
    const id = created.body.data.reportIncident.incident.id;
    const before = await events(P, "incident.updated");
    const UPDATE = `mutation Update($id: ID!, $input: IncidentUpdate!) { updateIncident(id: $id, input: $input) { incident { id status } error { message } } }`;
    const uk = key();
    const u1 = await post(t.gatewayUrl, tokens[P]!, { query: UPDATE, variables: { id, input: { status: "TRIAGED" } } }, { "idempotency-key": uk });
    const u2 = await post(t.gatewayUrl, tokens[P]!, { query: UPDATE, variables: { id, input: { status: "TRIAGED" } } }, { "idempotency-key": uk });
    expect(u1.body.data.updateIncident.incident.status).toBe("TRIAGED");
    expect(u2.body).toEqual(u1.body);
    expect(await events(P, "incident.updated")).toBe(before + 1);
    const REFER = `mutation Refer($id: ID!, $a: [String!]!) { referIncident(id: $id, agencies: $a) { incident { referredTo } error { message } } }`;
    const fk = key();
    const f1 = await post(t.gatewayUrl, tokens[P]!, { query: REFER, variables: { id, a: [agency] } }, { "idempotency-key": fk });
    const f2 = await post(t.gatewayUrl, tokens[P]!, { query: REFER, variables: { id, a: [agency] } }, { "idempotency-key": fk });
    expect(f1.body.data.referIncident.incident.referredTo).toEqual([agency]);
    expect(f2.body).toEqual(f1.body);
    expect(await events(P, "incident.referred")).toBe(1);
  });

  it("records one registration of a retried registerOrganization (directory)", async () => {
    const k = key();
    const target = orgId("idem-reg");
    const variables = { input: { id: target, name: "Registered once", kind: "AGENCY" } };
    const first = await post(t.gatewayUrl, tokens[OP]!, { query: REGISTER, variables }, { "idempotency-key": k });
    const again = await post(t.gatewayUrl, tokens[OP]!, { query: REGISTER, variables }, { "idempotency-key": k });
    expect(first.body.data.registerOrganization.organization).toEqual({ id: target, name: "Registered once" });
    expect(again.body).toEqual(first.body);
    expect(Number((await db.query("select count(*) from hub.audit where target = $1", [target])).rows[0].count)).toBe(1);
  });

  it("refuses a used key with another body (IDEMPOTENCY_KEY_REUSED, 422) and stores nothing of it", async () => {
    const k = key();
    const [a] = batch("reuse-a", 1);
    const [b] = batch("reuse-b", 1);
    const first = await post(t.gatewayUrl, tokens[P]!, { query: PUBLISH, variables: { input: [a] } }, { "idempotency-key": k });
    expect(first.body.data.publishIndicators.published).toBe(1);
    const before = await events(P, "indicator.published");

    const other = await post(t.gatewayUrl, tokens[P]!, { query: PUBLISH, variables: { input: [b] } }, { "idempotency-key": k });
    expect(other.body.data?.publishIndicators ?? null, other.text).toBeNull();
    expect(other.body.errors?.[0]?.extensions?.code, other.text).toBe("IDEMPOTENCY_KEY_REUSED");
    expect(other.body.errors[0].message).toMatch(/Idempotency-Key/);
    expect(other.status).toBe(422);
    const stored = await db.query("select count(*) from indicators.indicator where owner = $1 and value = $2", [P, b!.value]);
    expect(Number(stored.rows[0].count)).toBe(0);
    expect(await events(P, "indicator.published")).toBe(before);
  });

  it("keeps each org's keys apart: two orgs using one key both write", async () => {
    const k = key();
    const [p] = batch("org-p", 1);
    const [q] = batch("org-q", 1);
    const fromP = await post(t.gatewayUrl, tokens[P]!, { query: PUBLISH, variables: { input: [p] } }, { "idempotency-key": k });
    const fromQ = await post(t.gatewayUrl, tokens[Q]!, { query: PUBLISH, variables: { input: [q] } }, { "idempotency-key": k });
    expect(fromP.body.data.publishIndicators.results[0].indicator.value).toBe(p!.value);
    expect(fromQ.body.data.publishIndicators.results[0].indicator.value).toBe(q!.value);
    // Even the same body: each org's write is its own.
    const sameBody = await post(t.gatewayUrl, tokens[Q]!, { query: PUBLISH, variables: { input: [p] } }, { "idempotency-key": k });
    expect(sameBody.body.errors?.[0]?.extensions?.code).toBe("IDEMPOTENCY_KEY_REUSED");
    const stored = await db.query("select owner, value from indicators.indicator where value = any($1) order by owner", [[p!.value, q!.value]]);
    expect(stored.rows).toEqual([
      { owner: P, value: p!.value },
      { owner: Q, value: q!.value },
    ].sort((x, y) => x.owner.localeCompare(y.owner)));
  });

  it("treats a key past the window as new, and prunes records past the window", async () => {
    const k = key();
    const input = { title: `Window report ${run}`, severity: "LOW", tlp: "GREEN" };
    const first = await post(t.gatewayUrl, tokens[P]!, { query: REPORT, variables: { input } }, { "idempotency-key": k });
    const within = await post(t.gatewayUrl, tokens[P]!, { query: REPORT, variables: { input } }, { "idempotency-key": k });
    expect(within.body).toEqual(first.body);

    // The record ages past the window (24 hours by default).
    const aged = await db.query("update hub.idempotency set created_at = created_at - interval '25 hours' where org = $1 and key = $2", [P, k]);
    expect(aged.rowCount).toBeGreaterThan(0);
    const later = await post(t.gatewayUrl, tokens[P]!, { query: REPORT, variables: { input } }, { "idempotency-key": k });
    expect(later.body.data.reportIncident.incident.id).not.toBe(first.body.data.reportIncident.incident.id);
    // And a changed body under the renewed key is refused again, as for any key in its window.
    const changed = await post(t.gatewayUrl, tokens[P]!, { query: REPORT, variables: { input: { ...input, severity: "HIGH" } } }, { "idempotency-key": k });
    expect(changed.body.errors?.[0]?.extensions?.code).toBe("IDEMPOTENCY_KEY_REUSED");

    const stale = key();
    await post(t.gatewayUrl, tokens[P]!, { query: REPORT, variables: { input: { ...input, title: `Stale ${run}` } } }, { "idempotency-key": stale });
    await db.query("update hub.idempotency set created_at = created_at - interval '25 hours' where org = $1 and key = $2", [P, stale]);
    const pruned = await t.hub.prune();
    expect(pruned.idempotencyRecords).toBeGreaterThan(0);
    expect(Number((await db.query("select count(*) from hub.idempotency where org = $1 and key = $2", [P, stale])).rows[0].count)).toBe(0);
    expect(Number((await db.query("select count(*) from hub.idempotency where org = $1 and key = $2", [P, k])).rows[0].count)).toBe(1);
  });

  it("refuses a second request with a key still in use (IDEMPOTENCY_KEY_IN_PROGRESS, 409); the first completes", async () => {
    const k = key();
    const items = batch("busy", 3);
    const payload = { query: PUBLISH, variables: { input: items } };
    // Hold the event log's append lock: the first request stops at its append, mid-transaction.
    const holder = new pg.Client({ connectionString: inject("databaseUrl") });
    await holder.connect();
    try {
      await holder.query("select pg_advisory_lock($1)", [EVENT_APPEND_LOCK]);
      const firstPending = post(t.gatewayUrl, tokens[P]!, payload, { "idempotency-key": k });
      const waiting = async () =>
        Number((await db.query("select count(*) from pg_locks where locktype = 'advisory' and not granted and objid = $1", [EVENT_APPEND_LOCK])).rows[0].count);
      for (let i = 0; (await waiting()) === 0; i++) {
        if (i > 1500) throw new Error("the first request never reached the event log's lock");
        await new Promise((r) => setTimeout(r, 20));
      }
      const second = await post(t.gatewayUrl, tokens[P]!, payload, { "idempotency-key": k });
      expect(second.body.errors?.[0]?.extensions?.code, second.text).toBe("IDEMPOTENCY_KEY_IN_PROGRESS");
      expect(second.status).toBe(409);
      await holder.query("select pg_advisory_unlock($1)", [EVENT_APPEND_LOCK]);
      const first = await firstPending;
      expect(first.body.data.publishIndicators.published).toBe(3);
      const third = await post(t.gatewayUrl, tokens[P]!, payload, { "idempotency-key": k });
      expect(third.body).toEqual(first.body);
    } finally {
      await holder.end();
    }
  });

  it("refuses a malformed or over-long key before anything runs", async () => {
    const [item] = batch("badkey", 1);
    for (const bad of ["", "has space", "x".repeat(256), "\"unterminated", "é-not-ascii"]) {
      const res = await post(t.gatewayUrl, tokens[P]!, { query: PUBLISH, variables: { input: [item] } }, { "idempotency-key": bad });
      expect(res.body.errors?.[0]?.extensions?.code, `${JSON.stringify(bad)}: ${res.text.slice(0, 300)}`).toBe("BAD_REQUEST");
      expect(res.body.errors[0].message).toMatch(/^Idempotency-Key: /);
      expect(res.status).toBe(400);
    }
    const stored = await db.query("select count(*) from indicators.indicator where owner = $1 and value = $2", [P, item!.value]);
    expect(Number(stored.rows[0].count)).toBe(0);
    // The draft's form, a structured-field string in quotes, names the same key as the bare form.
    const k = key();
    const quoted = await post(t.gatewayUrl, tokens[P]!, { query: PUBLISH, variables: { input: [item] } }, { "idempotency-key": `"${k}"` });
    const bare = await post(t.gatewayUrl, tokens[P]!, { query: PUBLISH, variables: { input: [item] } }, { "idempotency-key": k });
    expect(bare.body).toEqual(quoted.body);
  });

  it("ignores the header on queries", async () => {
    const k = key();
    const q1 = await post(t.gatewayUrl, tokens[P]!, { query: `{ viewer { org } }` }, { "idempotency-key": k });
    const q2 = await post(t.gatewayUrl, tokens[P]!, { query: `{ eventLogCursor }` }, { "idempotency-key": k });
    expect(q1.body.data.viewer.org).toBe(P);
    expect(q2.body.data.eventLogCursor).toBeTypeOf("string");
    expect(Number((await db.query("select count(*) from hub.idempotency where key = $1", [k])).rows[0].count)).toBe(0);
  });
});

describe("writes that change nothing emit nothing", () => {
  let t: TestHub;
  let db: pg.Client;
  const P = orgId("noop-p");
  let token: string;

  const events = async (value: string) =>
    Number((await db.query("select count(*) from hub.event where owner_org = $1 and topic = 'indicator.published' and payload->>'value' = $2", [P, value])).rows[0].count);

  beforeAll(async () => {
    t = await startTestHub();
    token = await t.token(P, "PROVIDER", ["indicators:read", "indicators:write"]);
    db = new pg.Client({ connectionString: inject("databaseUrl") });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
    await t?.stop();
  });

  it("publishes an indicator identical to the stored one as a no-op: no event, the stored indicator, changed: false", async () => {
    const value = `same-${run}.noop.example`;
    const item = { type: "DOMAIN", value, tlp: "AMBER", confidence: 70, labels: ["c2", "phishing"], description: "Landing page", validUntil: new Date(Date.now() + 86_400_000).toISOString() };
    const first = await t.gql(PUBLISH, { input: [item] }, token);
    expect(first.errors).toBeUndefined();
    expect(await events(value)).toBe(1);

    // Sent again as it was (validFrom omitted both times): nothing changes, nothing is emitted.
    const again = await t.gql(PUBLISH, { input: [item, { ...item, value: value.toUpperCase() }] }, token);
    expect(again.errors).toBeUndefined();
    expect(await events(value)).toBe(1);
    expect(again.data.publishIndicators.results[0].indicator).toEqual(first.data.publishIndicators.results[0].indicator);

    const flagged = await t.gql(
      `mutation($input: [IndicatorInput!]!) { publishIndicators(input: $input) { published unchanged failed results { changed indicator { id modifiedAt } } } }`,
      { input: [item] },
      token,
    );
    expect(flagged.errors).toBeUndefined();
    expect(flagged.data.publishIndicators).toMatchObject({ published: 1, unchanged: 1, failed: 0 });
    expect(flagged.data.publishIndicators.results[0]).toEqual({ changed: false, indicator: { id: first.data.publishIndicators.results[0].indicator.id, modifiedAt: first.data.publishIndicators.results[0].indicator.modifiedAt } });
    expect(await events(value)).toBe(1);

    // Any field changed is a change, with its event.
    const changed = await t.gql(
      `mutation($input: [IndicatorInput!]!) { publishIndicators(input: $input) { published unchanged results { changed indicator { confidence } } } }`,
      { input: [{ ...item, confidence: 90 }] },
      token,
    );
    expect(changed.data.publishIndicators).toMatchObject({ published: 1, unchanged: 0, results: [{ changed: true, indicator: { confidence: 90 } }] });
    expect(await events(value)).toBe(2);
    for (const variant of [{ labels: ["c2"] }, { description: "Landing page, v2" }, { sharedWith: [] as string[], tlp: "GREEN" }, { validUntil: null }]) {
      const before = await events(value);
      const res = await t.gql(`mutation($input: [IndicatorInput!]!) { publishIndicators(input: $input) { results { changed error { message } } } }`, { input: [{ ...item, confidence: 90, ...variant }] }, token);
      expect(res.data.publishIndicators.results[0], JSON.stringify(variant)).toEqual({ changed: true, error: null });
      expect(await events(value), JSON.stringify(variant)).toBe(before + 1);
    }

    // A revoked indicator published again is active again: a change.
    const id = first.data.publishIndicators.results[0].indicator.id;
    await t.gql(`mutation($id: ID!) { revokeIndicator(id: $id) { id } }`, { id }, token);
    const before = await events(value);
    const back = await t.gql(`mutation($input: [IndicatorInput!]!) { publishIndicators(input: $input) { results { changed } } }`, { input: [{ ...item, confidence: 90, validUntil: null }] }, token);
    expect(back.data.publishIndicators.results[0].changed).toBe(true);
    expect(await events(value)).toBe(before + 1);
  });

  it("emits nothing when an indicator already revoked is revoked again", async () => {
    const value = `revoke-twice-${run}.noop.example`;
    const published = await t.gql(PUBLISH, { input: [{ type: "DOMAIN", value, tlp: "GREEN" }] }, token);
    const id = published.data.publishIndicators.results[0].indicator.id;
    const REVOKE = `mutation($id: ID!) { revokeIndicator(id: $id) { id revoked modifiedAt } }`;
    const first = await t.gql(REVOKE, { id }, token);
    const again = await t.gql(REVOKE, { id }, token);
    expect(again.data.revokeIndicator).toEqual(first.data.revokeIndicator);
    const revoked = await db.query("select count(*) from hub.event where topic = 'indicator.revoked' and payload->>'value' = $1", [value]);
    expect(Number(revoked.rows[0].count)).toBe(1);
  });

  it("emits nothing for an incident resent unchanged by sourceRef, an update that changes nothing, or a referral already made", async () => {
    const agency = orgId("noop-agency");
    const agencyToken = await t.token(agency, "AGENCY", ["incidents:read"]);
    expect((await t.gql(`{ viewer { org } }`, {}, agencyToken)).errors).toBeUndefined();
    const reporter = await t.token(P, "PROVIDER", ["incidents:read", "incidents:write"]);
    const incidentEvents = async () => Number((await db.query("select count(*) from hub.event where owner_org = $1 and topic like 'incident.%'", [P])).rows[0].count);
    const input = { title: "Resent", severity: "HIGH", tlp: "AMBER", sourceRef: `T-${run}`, referredTo: [agency], incidentTypes: ["phishing"], occurredAt: new Date(Date.now() - 3_600_000).toISOString() };
    const report = (variables: Record<string, unknown>) => t.gql(REPORT, variables, reporter);
    const first = await report({ input });
    const id = first.data.reportIncident.incident.id;
    const after = await incidentEvents();
    expect((await report({ input })).data.reportIncident.incident.id).toBe(id);
    const update = await t.gql(`mutation($id: ID!, $input: IncidentUpdate!) { updateIncident(id: $id, input: $input) { error { message } } }`, { id, input: { title: "Resent", severity: "HIGH", incidentTypes: ["phishing"] } }, reporter);
    expect(update.data.updateIncident.error).toBeNull();
    const refer = await t.gql(`mutation($id: ID!, $a: [String!]!) { referIncident(id: $id, agencies: $a) { error { message } } }`, { id, a: [agency] }, reporter);
    expect(refer.data.referIncident.error).toBeNull();
    expect(await incidentEvents()).toBe(after);
  });
});
