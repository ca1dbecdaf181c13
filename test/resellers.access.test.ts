import "reflect-metadata";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { orgId, startTestHub, type TestHub } from "./support/hub.js";
import { chainOf, downstreamOf, exposureOf, GRAPH, link, ok, parseDot, RECORD, registerAccounts, RISKIEST, THROUGH } from "./support/resellers.js";

/**
 * Who sees which part of the reseller forest, on every path (resellerChain, downstream, exposure,
 * resellerGraph, resellerChainsThrough, riskiestResellers, and `_entities` sent straight at the
 * subgraph), each negative beside its positive twin: the provider and agencies see the whole chain, a
 * reseller org sees from the account it operates down, anyone else gets what an account with no links
 * gets. Then who may write.
 */

const ENTITIES = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Account { id resellerChain { account { id } } exposure { total flagged }
  downstream { edges { node { id } } } resellerGraph(format: DOT) } } }`;
const EMPTY_EXPOSURE = { total: 0, flagged: 0, shareFlagged: 0, maxDepth: 0, byJurisdiction: [], byCategory: [] };

describe("who sees the reseller forest", () => {
  let t: TestHub;
  const P = orgId("rsa-provider"); // holds the accounts
  const Q = orgId("rsa-other-provider");
  const A = orgId("rsa-agency");
  const RS = orgId("rsa-reseller"); // operates `mid`
  const RS2 = orgId("rsa-reseller-idle"); // operates nothing
  const OP = orgId("rsa-operator");
  const N = orgId("rsa-noscope");
  const tok: Record<string, string> = {};
  let top: string, mid: string, low: string, leaf: string;
  /** Every org that must see nothing, whatever it asks. */
  let outsiders: string[];

  beforeAll(async () => {
    t = await startTestHub();
    tok[P] = await t.token(P, "PROVIDER", ["accounts:read", "accounts:write", "resellers:read", "resellers:write"]);
    tok[Q] = await t.token(Q, "PROVIDER", ["accounts:read", "accounts:write", "resellers:read", "resellers:write"]);
    tok[A] = await t.token(A, "AGENCY", ["resellers:read", "resellers:write"]);
    tok[RS] = await t.token(RS, "RESELLER", ["resellers:read", "resellers:write"]);
    tok[RS2] = await t.token(RS2, "RESELLER", ["resellers:read"]);
    tok[OP] = await t.token(OP, "OPERATOR", ["resellers:read"]);
    tok[N] = await t.token(N, "PROVIDER", ["accounts:read"]);
    for (const org of Object.keys(tok)) await ok(t, tok[org]!, `{ viewer { org } }`);
    outsiders = [Q, RS2, OP];
    [top, mid, low, leaf] = await registerAccounts(t, tok[P]!, [
      { kind: "RESELLER", jurisdiction: "US" },
      { kind: "RESELLER", jurisdiction: "DE" },
      { kind: "RESELLER", jurisdiction: "SG" },
      { jurisdiction: "RU" },
    ]) as [string, string, string, string];
    await link(t, tok[P]!, [[top, mid]]);
    await link(t, tok[P]!, [[mid, low]], RS);
    await link(t, tok[P]!, [[low, leaf]]);
  });
  afterAll(() => t?.stop());

  it("resellerChain: the whole chain to the provider and agencies, from the operated account down to its reseller org, nothing to others", async () => {
    for (const org of [P, A]) expect(await chainOf(t, tok[org]!, leaf), org).toEqual([low, mid, top]);
    expect(await chainOf(t, tok[RS]!, leaf)).toEqual([low, mid]);
    expect(await chainOf(t, tok[RS]!, low)).toEqual([mid]);
    expect(await chainOf(t, tok[RS]!, mid)).toEqual([]);
    for (const org of outsiders) expect(await chainOf(t, tok[org]!, leaf), org).toEqual([]);
    const refused = await t.gql(`query($id: ID!) { resellerAccount(id: $id) { resellerChain { depth } } }`, { id: leaf }, tok[N]);
    expect(refused.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
  });

  it("downstream, exposure and resellerGraph: below an own account, or below an operated one", async () => {
    for (const org of [P, A]) {
      expect(new Set(await downstreamOf(t, tok[org]!, top)), org).toEqual(new Set([mid, low, leaf]));
      expect((await exposureOf(t, tok[org]!, top)).total, org).toBe(3);
      expect(parseDot((await ok(t, tok[org]!, GRAPH, { id: top, f: "DOT" })).resellerAccount.resellerGraph).nodes.size, org).toBe(4);
    }
    expect(new Set(await downstreamOf(t, tok[RS]!, mid))).toEqual(new Set([low, leaf]));
    expect((await exposureOf(t, tok[RS]!, mid)).total).toBe(2);
    const rsGraph = parseDot((await ok(t, tok[RS]!, GRAPH, { id: low, f: "DOT" })).resellerAccount.resellerGraph);
    expect(new Set(rsGraph.nodes.keys())).toEqual(new Set([mid, low, leaf]));
    // Above its operated account the reseller org sees what an account with no links shows.
    const [lonely] = await registerAccounts(t, tok[P]!, [{}]);
    const nothing = { downstream: [] as string[], exposure: EMPTY_EXPOSURE, graph: (await ok(t, tok[P]!, GRAPH, { id: lonely, f: "DOT" })).resellerAccount.resellerGraph };
    const seenBy = async (org: string, id: string) => ({
      downstream: await downstreamOf(t, tok[org]!, id),
      exposure: await exposureOf(t, tok[org]!, id),
      graph: (await ok(t, tok[org]!, GRAPH, { id, f: "DOT" })).resellerAccount.resellerGraph,
    });
    expect(await seenBy(RS, top)).toEqual(nothing);
    for (const org of outsiders) {
      for (const id of [top, mid, low]) expect(await seenBy(org, id), `${org} ${id}`).toEqual(nothing);
    }
  });

  it("resellerChainsThrough and riskiestResellers list only chains and resellers the viewer may see", async () => {
    const through = async (org: string, j: string) =>
      (await ok(t, tok[org]!, THROUGH, { j, first: 100 })).resellerChainsThrough.edges.filter((e: any) => e.node.account.id === leaf).map((e: any) => e.node.hops.map((h: any) => h.account.id));
    for (const org of [P, A]) expect(await through(org, "RU"), org).toEqual([[low, mid, top]]);
    expect(await through(RS, "RU")).toEqual([[low, mid]]);
    expect(await through(RS, "DE")).toEqual([[low, mid]]);
    // The US account is above what the reseller org may see.
    expect(await through(RS, "US")).toEqual([]);
    for (const org of outsiders) expect(await through(org, "RU"), org).toEqual([]);

    const risky = async (org: string) =>
      (await ok(t, tok[org]!, RISKIEST, { first: 100, min: 1 })).riskiestResellers.map((r: any) => r.account.id).filter((id: string) => [top, mid, low].includes(id)).sort();
    for (const org of [P, A]) expect(await risky(org), org).toEqual([top, mid, low].sort());
    expect(await risky(RS)).toEqual([mid, low].sort());
    for (const org of outsiders) expect(await risky(org), org).toEqual([]);
  });

  it("_entities straight at the subgraph applies the same rule", async () => {
    const url = t.subgraphUrl("resellers");
    const ask = async (org: string) => (await ok(t, tok[org]!, ENTITIES, { r: [{ __typename: "Account", id: leaf }, { __typename: "Account", id: top }] }, url))._entities;
    const [leafSeen, topSeen] = await ask(P);
    expect(leafSeen.resellerChain.map((h: any) => h.account.id)).toEqual([low, mid, top]);
    expect(topSeen.exposure.total).toBe(3);
    expect(topSeen.downstream.edges).toHaveLength(3);
    expect(topSeen.resellerGraph).toContain(leaf);
    for (const org of outsiders) {
      const [l, tp] = await ask(org);
      expect(l.resellerChain, org).toEqual([]);
      expect(tp.exposure, org).toEqual({ total: 0, flagged: 0 });
      expect(tp.downstream.edges, org).toEqual([]);
      expect(tp.resellerGraph, org).not.toContain("account--");
    }
    const refused = await t.gql(ENTITIES, { r: [{ __typename: "Account", id: leaf }] }, tok[N], url);
    expect(refused.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
  });

  it("only a provider records links, between accounts of its own", async () => {
    const [extra] = await registerAccounts(t, tok[P]!, [{}]);
    const item = { parentAccountId: low, childAccountId: extra };
    const asked = async (org: string) => (await ok(t, tok[org]!, RECORD, { in: [item] })).recordResellerLinks.results[0].error;
    for (const org of [A, RS]) expect(await asked(org), org).toMatchObject({ code: "FORBIDDEN", field: null });
    expect(await asked(Q)).toEqual({ code: "NOT_FOUND", field: "parentAccountId", message: "parentAccountId: no account of yours with this id" });
    const noScope = await t.gql(RECORD, { in: [item] }, tok[RS2]);
    expect(noScope.errors?.[0]).toMatchObject({ message: "this operation needs the scope 'resellers:write'", extensions: { code: "FORBIDDEN" } });
    const end = await ok(t, tok[Q]!, `mutation($c: ID!) { endResellerLink(childAccountId: $c) { error { field code } } }`, { c: leaf });
    expect(end.endResellerLink.error).toEqual({ field: "childAccountId", code: "NOT_FOUND" });
    expect(await chainOf(t, tok[P]!, leaf)).toEqual([low, mid, top]);
    expect(await asked(P)).toBeNull();
  });
});
