import "reflect-metadata";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { orgId, startTestHub, type TestHub } from "./support/hub.js";

/**
 * Strings are checked, never silently changed, through the gateway: text that is not well-formed
 * Unicode (a lone surrogate) is a refusal naming the item and the field, never a failed request;
 * descriptions and labels are stored as given or refused, never cut, lower-cased or dropped.
 */

const LONE = "x\ud800"; // JSON.stringify sends it as the escape \ud800, which JSON.parse turns back into a lone surrogate
const EMOJI = "\u{1F6A8}"; // one character, two UTF-16 code units

const PUBLISH = `mutation($input: [IndicatorInput!]!) {
  publishIndicators(input: $input) { published failed results { index error { field message code } indicator { id value labels description } } }
}`;
const IMPORT = `mutation($b: JSONObject!, $tlp: TLP!) {
  importStixBundle(bundle: $b, tlp: $tlp) { successCount failureCount successes { id } failures { id property message } }
}`;
const RESULT = `incident { id title description } error { field message code }`;
const REPORT = `mutation($input: IncidentInput!) { reportIncident(input: $input) { ${RESULT} } }`;
const UPDATE = `mutation($id: ID!, $input: IncidentUpdate!) { updateIncident(id: $id, input: $input) { ${RESULT} } }`;
const NOTE = `mutation($id: ID!, $text: String!) { addIncidentNote(id: $id, text: $text) { ${RESULT} } }`;
const REFER = `mutation($id: ID!, $agencies: [String!]!) { referIncident(id: $id, agencies: $agencies) { ${RESULT} } }`;
const REGISTER = `mutation($input: OrganizationInput!) { registerOrganization(input: $input) { organization { id name } error { field message code } } }`;

const LEAKS = [/\bat \//, /\.ts:\d/, /\.js:\d/, /select /i, /insert into/i, /node_modules/, /stacktrace/i, /\/work\//, /surrogate must follow/i];

const run = randomBytes(3).toString("hex");
const domain = (tag: string) => `${tag}-${run}.text.example`;

describe("strings are checked, never silently changed", () => {
  let t: TestHub;
  let db: pg.Client;
  const P = orgId("text-p");
  const A = orgId("text-agency");
  const OP = orgId("text-op");
  const tokens: Record<string, string> = {};

  /** POST through the gateway; no answer may carry internals or be a 500. */
  async function send(token: string, query: string, variables: Record<string, unknown>) {
    const res = await fetch(t.gatewayUrl, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    const text = await res.text();
    for (const leak of LEAKS) expect(text, `leaks ${leak}: ${text.slice(0, 400)}`).not.toMatch(leak);
    expect(text, text.slice(0, 400)).not.toMatch(/INTERNAL_SERVER_ERROR/);
    return { status: res.status, text, body: JSON.parse(text) };
  }

  const storedIndicators = async () => Number((await db.query("select count(*) from indicators.indicator where owner = $1", [P])).rows[0].count);
  const storedIncidentRows = async () =>
    (
      await db.query(
        `select (select count(*) from incidents.incident where owner = $1)::int as incidents,
                (select count(*) from incidents.timeline_entry te join incidents.incident i on i.id = te.incident_id where i.owner = $1)::int as timeline,
                (select count(*) from hub.event where owner_org = $1)::int as events,
                (select max(modified_at) from incidents.incident where owner = $1) as modified`,
        [P],
      )
    ).rows[0];

  beforeAll(async () => {
    t = await startTestHub();
    tokens[P] = await t.token(P, "PROVIDER", ["indicators:read", "indicators:write", "incidents:read", "incidents:write"]);
    tokens[A] = await t.token(A, "AGENCY", ["incidents:read", "incidents:write"]);
    tokens[OP] = await t.token(OP, "OPERATOR", ["admin"]);
    for (const org of [P, A]) expect((await send(tokens[org]!, `{ viewer { org } }`, {})).body.data.viewer.org).toBe(org);
    db = new pg.Client({ connectionString: inject("databaseUrl") });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
    await t?.stop();
  });

  it("refuses a lone surrogate in any string of a publishIndicators item, for that item only", async () => {
    const before = await storedIndicators();
    const input = [
      /* 0 */ { type: "DOMAIN", value: domain("good"), tlp: "GREEN" },
      /* 1 */ { type: "DOMAIN", value: domain("desc"), tlp: "GREEN", description: `Phishing kit ${LONE}` },
      /* 2 */ { type: "URL", value: `https://${domain("url")}/${LONE}`, tlp: "GREEN" },
      /* 3 */ { type: "DOMAIN", value: domain("label"), tlp: "GREEN", labels: ["c2", LONE] },
      /* 4 */ { type: "DOMAIN", value: domain("shared"), tlp: "AMBER", sharedWith: [LONE] },
    ];
    const res = await send(tokens[P]!, PUBLISH, { input });
    expect(res.status).toBe(200);
    expect(res.body.errors, res.text.slice(0, 400)).toBeUndefined();
    const out = res.body.data.publishIndicators;
    expect(out).toMatchObject({ published: 1, failed: 4 });
    const fields = out.results.map((r: any) => r.error?.field ?? null);
    expect(fields).toEqual([null, "description", "value", "labels[1]", "sharedWith[0]"]);
    for (const r of out.results.slice(1)) {
      expect(r.error.message).toMatch(/not well-formed/);
      expect(r.error.code).toBe("BAD_USER_INPUT");
      expect(r.indicator).toBeNull();
    }
    expect(await storedIndicators()).toBe(before + 1);
  });

  it("refuses upper-case, over-long and surplus labels instead of lower-casing, cutting or dropping them", async () => {
    const before = await storedIndicators();
    const input = [
      /* 0 */ { type: "DOMAIN", value: domain("upper"), tlp: "GREEN", labels: ["C2"] },
      /* 1 */ { type: "DOMAIN", value: domain("long"), tlp: "GREEN", labels: ["x".repeat(65)] },
      /* 2 */ { type: "DOMAIN", value: domain("spaced"), tlp: "GREEN", labels: [" c2 "] },
      /* 3 */ { type: "DOMAIN", value: domain("kept"), tlp: "GREEN", labels: ["c2", "phishing"], description: `${"d".repeat(3999)}${EMOJI}` },
      /* 4 */ { type: "DOMAIN", value: domain("toolong"), tlp: "GREEN", description: `${"d".repeat(4000)}${EMOJI}` },
    ];
    const res = await send(tokens[P]!, PUBLISH, { input });
    const out = res.body.data.publishIndicators;
    expect(out.results.map((r: any) => r.error?.field ?? null)).toEqual(["labels[0]", "labels[0]", "labels[0]", null, "description"]);
    expect(out.results[3].indicator).toMatchObject({ labels: ["c2", "phishing"], description: `${"d".repeat(3999)}${EMOJI}` });
    expect(out.results[4].error.message).toMatch(/4000 characters/);
    expect(await storedIndicators()).toBe(before + 1);
  });

  it("imports a long description ending in an emoji whole, labels as written, and refuses what is not well-formed or not of its type", async () => {
    const before = await storedIndicators();
    const object = (i: number, extra: Record<string, unknown>) => ({
      type: "indicator",
      spec_version: "2.1",
      id: `indicator--00000000-0000-4000-8000-00000000000${i}`,
      created: "2024-01-01T00:00:00.000Z",
      modified: "2024-01-01T00:00:00.000Z",
      pattern_type: "stix",
      pattern: `[domain-name:value = '${domain(`stix${i}`)}']`,
      valid_from: "2024-01-01T00:00:00Z",
      ...extra,
    });
    const bundle = {
      type: "bundle",
      id: "bundle--00000000-0000-4000-8000-000000000000",
      objects: [
        /* 0 */ object(0, { description: `${"s".repeat(3999)}${EMOJI}`, indicator_types: ["malicious-activity"] }),
        /* 1 */ object(1, { description: `${"s".repeat(8000)}${EMOJI}`, labels: ["Command and Control"] }),
        /* 2 */ object(2, { description: `C2 ${LONE}` }),
        /* 3 */ object(3, { confidence: "high" }),
        /* 4 */ object(4, { valid_until: "next tuesday" }),
        /* 5 */ object(5, { pattern: `[domain-name:value = '${LONE}.example']` }),
        /* 6 */ object(6, { labels: ["c2", 7] }),
      ],
    };
    const res = await send(tokens[P]!, IMPORT, { b: bundle, tlp: "GREEN" });
    expect(res.body.errors, res.text.slice(0, 400)).toBeUndefined();
    const out = res.body.data.importStixBundle;
    expect(out.successes.map((s: any) => s.id)).toEqual([bundle.objects[0]!.id, bundle.objects[1]!.id]);
    const kept = await send(tokens[P]!, `query($id: ID!) { indicator(id: $id) { description labels } }`, { id: bundle.objects[1]!.id });
    expect(kept.body.data.indicator).toEqual({ description: `${"s".repeat(8000)}${EMOJI}`, labels: ["Command and Control"] });
    expect(out.failures.map((f: any) => [f.id, f.property])).toEqual([
      [bundle.objects[2]!.id, "description"],
      [bundle.objects[3]!.id, "confidence"],
      [bundle.objects[4]!.id, "valid_until"],
      [bundle.objects[5]!.id, "pattern"],
      [bundle.objects[6]!.id, "labels[1]"],
    ]);
    expect(out).toMatchObject({ successCount: 2, failureCount: 5 });
    expect(await storedIndicators()).toBe(before + 2);
  });

  it("refuses a lone surrogate in every string of the incident mutations as an error value naming the field, storing nothing", async () => {
    const created = await send(tokens[P]!, REPORT, { input: { title: `Text checks ${run}`, severity: "LOW", tlp: "GREEN" } });
    const id = created.body.data.reportIncident.incident.id;
    const cases: [string, Record<string, unknown>, string, string][] = [
      [REPORT, { input: { title: `Bad ${LONE}`, severity: "LOW", tlp: "GREEN" } }, "reportIncident", "title"],
      [REPORT, { input: { title: "Fine", description: LONE, severity: "LOW", tlp: "GREEN" } }, "reportIncident", "description"],
      [REPORT, { input: { title: "Fine", sourceRef: `T-${LONE}`, severity: "LOW", tlp: "GREEN" } }, "reportIncident", "sourceRef"],
      [REPORT, { input: { title: "Fine", incidentTypes: ["phishing", LONE], severity: "LOW", tlp: "GREEN" } }, "reportIncident", "incidentTypes[1]"],
      [REPORT, { input: { title: "Fine", accountIds: [LONE], severity: "LOW", tlp: "GREEN" } }, "reportIncident", "accountIds[0]"],
      [REPORT, { input: { title: "Fine", indicatorIds: [`indicator--${LONE}`], severity: "LOW", tlp: "GREEN" } }, "reportIncident", "indicatorIds[0]"],
      [UPDATE, { id, input: { description: `Now ${LONE}` } }, "updateIncident", "description"],
      [UPDATE, { id, input: { detectionMethods: [LONE] } }, "updateIncident", "detectionMethods[0]"],
      [NOTE, { id, text: `Note ${LONE}` }, "addIncidentNote", "text"],
      [REFER, { id, agencies: [LONE] }, "referIncident", "agencies[0]"],
      [UPDATE, { id: `incident--${LONE}`, input: { title: "x" } }, "updateIncident", "id"],
    ];
    for (const [query, variables, field, at] of cases) {
      const before = await storedIncidentRows();
      const res = await send(tokens[P]!, query, variables);
      expect(res.body.errors, `${field} ${at}: ${res.text.slice(0, 400)}`).toBeUndefined();
      const result = res.body.data[field];
      expect(result.incident, `${field} ${at}`).toBeNull();
      expect(result.error, `${field} ${at}`).toMatchObject({ field: at, code: "BAD_USER_INPUT" });
      expect(result.error.message, `${field} ${at}`).toMatch(/not well-formed/);
      expect(await storedIncidentRows(), `${field} ${at}`).toEqual(before);
    }
  });

  it("refuses upper-case incident terms instead of lower-casing them", async () => {
    const res = await send(tokens[P]!, REPORT, { input: { title: "Terms", incidentTypes: ["Phishing"], severity: "LOW", tlp: "GREEN" } });
    expect(res.body.data.reportIncident.error).toMatchObject({ field: "incidentTypes[0]", code: "BAD_USER_INPUT" });
  });

  it("refuses a lone surrogate in registerOrganization as an error value, storing nothing", async () => {
    const id = orgId("text-reg");
    const res = await send(tokens[OP]!, REGISTER, { input: { id, name: `Agency ${LONE}`, kind: "AGENCY" } });
    expect(res.body.errors, res.text.slice(0, 400)).toBeUndefined();
    expect(res.body.data.registerOrganization).toMatchObject({ organization: null, error: { field: "name", code: "BAD_USER_INPUT" } });
    expect(res.body.data.registerOrganization.error.message).toMatch(/not well-formed/);
    expect(Number((await db.query("select count(*) from hub.organization where id = $1", [id])).rows[0].count)).toBe(0);
    // A name of 200 characters counts characters, not UTF-16 code units.
    const wide = await send(tokens[OP]!, REGISTER, { input: { id, name: EMOJI.repeat(200), kind: "AGENCY" } });
    expect(wide.body.data.registerOrganization.error).toBeNull();
    expect(wide.body.data.registerOrganization.organization.name).toBe(EMOJI.repeat(200));
  });

  it("answers a lone surrogate in a query or revocation argument with BAD_USER_INPUT naming it", async () => {
    const cases: [string, Record<string, unknown>, string][] = [
      [`query($v: [String!]!) { lookupIndicators(values: $v) { id } }`, { v: ["198.51.100.1", `https://a.example/${LONE}`] }, "values[1]"],
      [`query($f: IndicatorFilter) { indicators(filter: $f) { edges { node { id } } } }`, { f: { label: LONE } }, "filter.label"],
      [`query($f: IndicatorFilter) { indicatorsStix(filter: $f) { count } }`, { f: { owner: LONE } }, "filter.owner"],
      [`query($a: String) { indicators(after: $a) { edges { node { id } } } }`, { a: LONE }, "after"],
      [`query($id: ID!) { indicator(id: $id) { id } }`, { id: `indicator--${LONE}` }, "id"],
      [`query($f: IncidentFilter) { incidents(filter: $f) { edges { node { id } } } }`, { f: { types: [LONE] } }, "filter.types[0]"],
      [`query($id: ID!) { incident(id: $id) { id } }`, { id: LONE }, "id"],
      [`query($id: ID!) { organization(id: $id) { id } }`, { id: LONE }, "id"],
      [`mutation($id: ID!) { revokeIndicator(id: $id) { id } }`, { id: `indicator--${LONE}` }, "id"],
    ];
    for (const [query, variables, field] of cases) {
      const res = await send(tokens[P]!, query, variables);
      expect(res.body.errors?.[0]?.extensions, `${query}: ${res.text.slice(0, 400)}`).toMatchObject({ code: "BAD_USER_INPUT", field });
      expect(res.body.errors[0].message, query).toMatch(new RegExp(`^${field.replace(/[[\].]/g, "\\$&")}: not well-formed`));
    }
  });

  it("refuses a body that is not UTF-8, at the gateway and at a subgraph, instead of replacing what it cannot decode", async () => {
    const value = domain("bytes");
    const json = JSON.stringify({ query: PUBLISH, variables: { input: [{ type: "DOMAIN", value, tlp: "GREEN", description: "MARK" }] } });
    // The description's bytes: an encoded surrogate (CESU-8), which no UTF-8 decoder accepts.
    const body = Buffer.concat(json.split("MARK").flatMap((part, i) => (i ? [Buffer.from([0xed, 0xa0, 0x80]), Buffer.from(part)] : [Buffer.from(part)])));
    // Through the gateway, and straight at the subgraph as a caller inside the network would.
    for (const url of [t.gatewayUrl, t.subgraphUrl("indicators")]) {
      const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${tokens[P]}` }, body });
      const text = await res.text();
      expect(res.status, `${url}: ${text.slice(0, 300)}`).toBe(400);
      expect(JSON.parse(text).errors[0]).toMatchObject({ extensions: { code: "BAD_REQUEST" } });
      expect(JSON.parse(text).errors[0].message).toMatch(/UTF-8/);
    }
    expect(Number((await db.query("select count(*) from indicators.indicator where value = $1", [value])).rows[0].count)).toBe(0);
  });
});
