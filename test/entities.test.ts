import "reflect-metadata";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { orgId, startTestHub, type TestHub } from "./support/hub.js";

/**
 * `_entities` sent straight at each subgraph, as an attacker would: a representation naming an entity
 * the caller may not see answers exactly as one naming nothing (for the types a subgraph contributes
 * fields to as well as those it owns), and a malformed representation is refused at its own index,
 * naming it, while the others in the same call resolve.
 */

const PUBLISH = `mutation($input: [IndicatorInput!]!) { publishIndicators(input: $input) { failed results { indicator { id } } } }`;
const REPORT = `mutation($input: IncidentInput!) { reportIncident(input: $input) { incident { id } error { field message code } } }`;
const INDICATOR_INCIDENTS = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Indicator { incidents { id title } } } }`;

describe("_entities straight at the subgraphs", () => {
  let t: TestHub;
  const A = orgId("ent-owner");
  const B = orgId("ent-other");
  const tokens: Record<string, string> = {};
  let greenIndicator: string;
  let redIndicator: string;
  let incident: string;

  /** The whole answer, as the caller receives it. */
  async function raw(org: string, subgraph: string, query: string, r: unknown[]) {
    const res = await fetch(t.subgraphUrl(subgraph), {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${tokens[org]}` },
      body: JSON.stringify({ query, variables: { r } }),
    });
    return { status: res.status, body: await res.json() };
  }

  beforeAll(async () => {
    t = await startTestHub();
    const scopes = ["indicators:read", "indicators:write", "incidents:read", "incidents:write"];
    tokens[A] = await t.token(A, "PROVIDER", scopes);
    tokens[B] = await t.token(B, "PROVIDER", scopes);
    for (const org of [A, B]) expect((await t.gql(`{ viewer { org } }`, {}, tokens[org])).data.viewer.org).toBe(org);
    const published = await t.gql(
      PUBLISH,
      {
        input: [
          { type: "IPV4", value: "192.0.2.61", tlp: "GREEN" },
          { type: "IPV4", value: "192.0.2.62", tlp: "RED" },
        ],
      },
      tokens[A],
    );
    expect(published.data.publishIndicators.failed).toBe(0);
    [greenIndicator, redIndicator] = published.data.publishIndicators.results.map((r: any) => r.indicator.id);
    // A GREEN incident that links A's RED indicator too: B sees the incident, not that indicator.
    const reported = await t.gql(
      REPORT,
      { input: { title: "Linked to a RED indicator", severity: "LOW", tlp: "GREEN", indicatorIds: [greenIndicator, redIndicator] } },
      tokens[A],
    );
    expect(reported.data.reportIncident.error).toBeNull();
    incident = reported.data.reportIncident.incident.id;
  });
  afterAll(() => t?.stop());

  it("Indicator.incidents of an indicator the caller may not see answers as for one that does not exist", async () => {
    const nowhere = `indicator--${randomUUID()}`;
    const hidden = await raw(B, "incidents", INDICATOR_INCIDENTS, [{ __typename: "Indicator", id: redIndicator }]);
    const absent = await raw(B, "incidents", INDICATOR_INCIDENTS, [{ __typename: "Indicator", id: nowhere }]);
    expect(hidden).toEqual(absent);
    expect(absent).toEqual({ status: 200, body: { data: { _entities: [{ incidents: [] }] } } });
    // Side by side in one call, too.
    const both = await raw(B, "incidents", INDICATOR_INCIDENTS, [
      { __typename: "Indicator", id: redIndicator },
      { __typename: "Indicator", id: nowhere },
    ]);
    expect(both.body.data._entities[0]).toEqual(both.body.data._entities[1]);
    // The positive twins: the owner sees the link, and B sees it through the indicator it may see.
    const title = "Linked to a RED indicator";
    expect((await raw(A, "incidents", INDICATOR_INCIDENTS, [{ __typename: "Indicator", id: redIndicator }])).body).toEqual({
      data: { _entities: [{ incidents: [{ id: incident, title }] }] },
    });
    expect((await raw(B, "incidents", INDICATOR_INCIDENTS, [{ __typename: "Indicator", id: greenIndicator }])).body).toEqual({
      data: { _entities: [{ incidents: [{ id: incident, title }] }] },
    });
  });

  it("refuses a representation without a usable key at its own index, naming it, for every entity of every subgraph", async () => {
    const cases: [subgraph: string, typename: string, selection: string, good: Record<string, unknown>, resolved: unknown][] = [
      ["indicators", "Indicator", "id value", { id: greenIndicator }, { id: greenIndicator, value: "192.0.2.61" }],
      ["incidents", "Incident", "id title", { id: incident }, { id: incident, title: "Linked to a RED indicator" }],
      ["incidents", "Indicator", "id incidents { id }", { id: greenIndicator }, { id: greenIndicator, incidents: [{ id: incident }] }],
      ["directory", "Organization", "id kind", { id: A }, { id: A, kind: "PROVIDER" }],
    ];
    for (const [subgraph, typename, selection, good, resolved] of cases) {
      const query = `query($r: [_Any!]!) { _entities(representations: $r) { ... on ${typename} { ${selection} } } }`;
      const bad = [{ __typename: typename }, { __typename: typename, id: 5 }, { __typename: typename, id: null }, { __typename: typename, id: { id: "x" } }];
      const res = await raw(A, subgraph, query, [{ __typename: typename, ...good }, ...bad, { __typename: typename, ...good }]);
      const label = `${subgraph} ${typename}: ${JSON.stringify(res.body)}`;
      expect(res.status, label).toBe(200);
      expect(res.body.data._entities, label).toEqual([resolved, null, null, null, null, resolved]);
      const errors = [...res.body.errors].sort((x: any, y: any) => x.path[1] - y.path[1]);
      expect(
        errors.map((e: any) => ({ path: e.path, code: e.extensions.code, field: e.extensions.field })),
        label,
      ).toEqual([1, 2, 3, 4].map((i) => ({ path: ["_entities", i], code: "BAD_USER_INPUT", field: `representations[${i}]` })));
      for (const e of errors) expect(e.message, label).toMatch(/^representations\[\d\]\.id: /);
    }
  });
});
