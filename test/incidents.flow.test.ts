import "reflect-metadata";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collect, orgId, startTestHub, type TestHub } from "./support/hub.js";

/**
 * Incidents through the gateway: reporting (and resending by sourceRef), the case workflow and its
 * timeline, referrals to agencies, links to indicators both ways, lists and their filters.
 */

const FIELDS = `id title severity status resolution tlp owner sharedWith referredTo sourceRef incidentTypes criticality
  determination affectedProducts accounts { id } indicators { id value } timeline { kind authorOrg fromStatus toStatus text agencies }
  times { toTriage toContain toClose }`;
const REPORT = `mutation($input: IncidentInput!) { reportIncident(input: $input) { incident { ${FIELDS} } error { field message code } } }`;
const UPDATE = `mutation($id: ID!, $input: IncidentUpdate!) { updateIncident(id: $id, input: $input) { incident { ${FIELDS} } error { field message code } } }`;
const NOTE = `mutation($id: ID!, $text: String!) { addIncidentNote(id: $id, text: $text) { incident { id timeline { kind authorOrg text } } error { field message code } } }`;
const REFER = `mutation($id: ID!, $agencies: [String!]!) { referIncident(id: $id, agencies: $agencies) { incident { id referredTo } error { field message code } } }`;
const GET = `query($id: ID!) { incident(id: $id) { ${FIELDS} } }`;
const PUBLISH = `mutation($input: [IndicatorInput!]!) { publishIndicators(input: $input) { results { indicator { id } error { message } } } }`;

let t: TestHub;
const provider = orgId("cloud-a");
const other = orgId("cloud-b");
const agency = orgId("fbi");
const tokens: Record<string, string> = {};

beforeAll(async () => {
  t = await startTestHub();
  tokens.provider = await t.token(provider, "PROVIDER", ["incidents:read", "incidents:write", "indicators:read", "indicators:write"]);
  tokens.other = await t.token(other, "PROVIDER", ["incidents:read", "incidents:write", "indicators:read"]);
  tokens.agency = await t.token(agency, "AGENCY", ["incidents:read", "incidents:write", "indicators:read"]);
  // Orgs join the directory the first time one of their tokens is seen.
  for (const token of Object.values(tokens)) await t.gql(`{ viewer { org } }`, {}, token);
}, 60_000);
afterAll(() => t?.stop());

describe("incidents", () => {
  it("reports, resends by sourceRef, works the case and refers it", async () => {
    const published = await t.gql(PUBLISH, { input: [{ type: "IPV4", value: "203.0.113.77", tlp: "AMBER" }] }, tokens.provider);
    const indicatorId = published.data.publishIndicators.results[0].indicator.id;
    const input = {
      title: "Crypto-mining on hijacked tenants",
      severity: "HIGH",
      tlp: "AMBER",
      sourceRef: "TICKET-1",
      indicatorIds: [indicatorId],
      incidentTypes: ["resource-hijacking"],
      affectedProducts: ["COMPUTE"],
      criticality: 70,
      determination: "SUCCESSFUL_ATTEMPT",
    };
    const reported = await t.gql(REPORT, { input }, tokens.provider);
    expect(reported.errors).toBeUndefined();
    const incident = reported.data.reportIncident.incident;
    expect(incident).toMatchObject({ status: "NEW", owner: provider, sourceRef: "TICKET-1", indicators: [{ id: indicatorId, value: "203.0.113.77" }] });
    expect(incident.timeline.map((e: any) => e.kind)).toEqual(["REPORTED"]);

    const again = await t.gql(REPORT, { input: { ...input, severity: "CRITICAL" } }, tokens.provider);
    expect(again.data.reportIncident.incident).toMatchObject({ id: incident.id, severity: "CRITICAL" });

    expect((await t.gql(GET, { id: incident.id }, tokens.agency)).data.incident).toBeNull();
    const referred = await t.gql(REFER, { id: incident.id, agencies: [agency] }, tokens.provider);
    expect(referred.data.referIncident.incident.referredTo).toEqual([agency]);
    const seen = await t.gql(GET, { id: incident.id }, tokens.agency);
    expect(seen.data.incident).toMatchObject({ id: incident.id, referredTo: [agency], indicators: [] });

    const noted = await t.gql(NOTE, { id: incident.id, text: "Subpoena served" }, tokens.agency);
    expect(noted.data.addIncidentNote.error).toBeNull();

    for (const status of ["TRIAGED", "CONTAINED"]) {
      const moved = await t.gql(UPDATE, { id: incident.id, input: { status } }, tokens.provider);
      expect(moved.data.updateIncident.error).toBeNull();
    }
    const back = await t.gql(UPDATE, { id: incident.id, input: { status: "INVESTIGATING" } }, tokens.provider);
    expect(back.data.updateIncident.error).toMatchObject({ field: "status" });
    const closed = await t.gql(UPDATE, { id: incident.id, input: { status: "CLOSED", resolution: "TRUE_POSITIVE" } }, tokens.provider);
    expect(closed.errors ?? closed.data.updateIncident.error).toBeNull();
    expect(closed.data.updateIncident.incident).toMatchObject({ status: "CLOSED", resolution: "TRUE_POSITIVE" });
    expect(closed.data.updateIncident.incident.times.toClose).toBeGreaterThanOrEqual(0);
    const reopened = await t.gql(UPDATE, { id: incident.id, input: { status: "INVESTIGATING" } }, tokens.provider);
    expect(reopened.data.updateIncident.incident).toMatchObject({ status: "INVESTIGATING", resolution: null });
    expect(reopened.data.updateIncident.incident.timeline.map((e: any) => e.kind)).toEqual(["REPORTED", "UPDATED", "REFERRED", "NOTE", "STATUS", "STATUS", "STATUS", "STATUS"]);

    const hidden = await t.gql(NOTE, { id: incident.id, text: "hello" }, tokens.other);
    expect(hidden.data.addIncidentNote.error).toMatchObject({ code: "NOT_FOUND", field: "id" });

    const viaIndicator = await t.gql(`query($id: ID!) { indicator(id: $id) { incidents { id } } }`, { id: indicatorId }, tokens.provider);
    expect(viaIndicator.data.indicator.incidents).toEqual([{ id: incident.id }]);
  });

  it("streams the feed to a referred agency", async () => {
    const feed = collect<any>(t.ws(tokens.agency), `subscription { incidentFeed(filter: { referredToMe: true }) { cursor kind incident { id title referredTo indicators { id } } } }`, {}, 2);
    await new Promise((r) => setTimeout(r, 500));
    const r = await t.gql(REPORT, { input: { title: "Feed test", severity: "LOW", tlp: "RED", referredTo: [agency] } }, tokens.provider);
    const id = r.data.reportIncident.incident.id;
    await t.gql(NOTE, { id, text: "more" }, tokens.provider);
    await feed.done;
    feed.stop();
    expect(feed.errors).toEqual([]);
    expect(feed.received.map((e) => e.incidentFeed.kind)).toEqual(["REPORTED", "NOTE"]);
  });
});
