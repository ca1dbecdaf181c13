import { randomUUID } from "node:crypto";
import parse from "dotparser";
import type pg from "pg";
import { expect } from "vitest";
import type { TestHub } from "./hub.js";
import { sleep } from "./wait.js";

export const REGISTER = `mutation($in: [AccountInput!]!) { registerAccounts(input: $in) { failed results { error { field message } account { id } } } }`;
export const RECORD = `mutation($in: [ResellerLinkInput!]!) { recordResellerLinks(input: $in) { recorded failed results { index changed error { field message code } link { id parent { id } child { id } since until recordedBy operatorOrg } } } }`;
export const END = `mutation($c: ID!, $at: DateTime) { endResellerLink(childAccountId: $c, at: $at) { error { field message code } link { id until child { id } } } }`;
export const FLAG = `mutation($in: FlagInput!) { flagAccount(input: $in) { error { field message code } flag { id } } }`;
export const CLEAR = `mutation($id: ID!, $r: String!) { clearFlag(id: $id, reason: $r) { error { field message code } flag { id status } } }`;
export const CHAIN = `query($id: ID!) { resellerAccount(id: $id) { id resellerChain { depth jurisdiction flagged account { id } } } }`;
export const EXPOSURE = `query($id: ID!) { resellerAccount(id: $id) { exposure { total flagged shareFlagged maxDepth byJurisdiction { key count } byCategory { key count } } } }`;
export const DOWNSTREAM = `query($id: ID!, $d: Int, $first: Int, $after: String) { resellerAccount(id: $id) { downstream(maxDepth: $d, first: $first, after: $after) { edges { cursor depth node { id } } pageInfo { hasNextPage endCursor } } } }`;
export const GRAPH = `query($id: ID!, $f: GraphFormat!, $d: Int) { resellerAccount(id: $id) { resellerGraph(format: $f, maxDepth: $d) } }`;
export const THROUGH = `query($j: String!, $first: Int, $after: String) { resellerChainsThrough(jurisdiction: $j, first: $first, after: $after) { edges { cursor node { account { id } jurisdiction flagged hops { depth account { id } jurisdiction } } } pageInfo { hasNextPage endCursor } } }`;
export const RISKIEST = `query($first: Int, $min: Int) { riskiestResellers(first: $first, minAccounts: $min) { account { id } jurisdiction total flagged shareFlagged } }`;

export interface AccountSpec {
  kind?: "STANDARD" | "RESELLER" | "TRIAL";
  jurisdiction?: string;
}

/** A GraphQL call that must answer without errors. */
export async function ok(t: TestHub, token: string, query: string, variables: Record<string, unknown> = {}, url?: string): Promise<any> {
  const res = await t.gql(query, variables, token, url);
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  return res.data;
}

/** Accounts registered through the accounts subgraph's `registerAccounts`; their ids, in order. */
export async function registerAccounts(t: TestHub, token: string, specs: AccountSpec[]): Promise<string[]> {
  const input = specs.map((s) => ({
    externalRef: `acct-${randomUUID()}`,
    kind: s.kind ?? "STANDARD",
    holderType: "ENTITY",
    holderJurisdiction: s.jurisdiction ?? "US",
    usPerson: (s.jurisdiction ?? "US") === "US",
  }));
  const data = await ok(t, token, REGISTER, { in: input });
  expect(data.registerAccounts.failed, JSON.stringify(data.registerAccounts.results.filter((r: any) => r.error))).toBe(0);
  return data.registerAccounts.results.map((r: any) => r.account.id as string);
}

/** Links that must all be recorded; the mutation's result. */
export async function link(t: TestHub, token: string, pairs: [string, string][], operatorOrg?: string): Promise<any> {
  const data = await ok(t, token, RECORD, { in: pairs.map(([parentAccountId, childAccountId]) => ({ parentAccountId, childAccountId, operatorOrg })) });
  expect(data.recordResellerLinks.results.map((r: any) => r.error)).toEqual(pairs.map(() => null));
  return data.recordResellerLinks;
}

export async function chainOf(t: TestHub, token: string, id: string, url?: string): Promise<string[]> {
  return (await ok(t, token, CHAIN, { id }, url)).resellerAccount.resellerChain.map((h: any) => h.account.id);
}

export async function exposureOf(t: TestHub, token: string, id: string): Promise<any> {
  return (await ok(t, token, EXPOSURE, { id })).resellerAccount.exposure;
}

/** Every account below, through every page. */
export async function downstreamOf(t: TestHub, token: string, id: string, first = 500, maxDepth?: number): Promise<string[]> {
  const out: string[] = [];
  let after: string | null = null;
  for (;;) {
    const page: any = (await ok(t, token, DOWNSTREAM, { id, first, after, d: maxDepth })).resellerAccount.downstream;
    out.push(...page.edges.map((e: any) => e.node.id));
    if (!page.pageInfo.hasNextPage) return out;
    after = page.pageInfo.endCursor;
  }
}

/**
 * The DOT text parsed by a full DOT grammar: one digraph, every edge between declared nodes. Returns
 * the declared nodes (id → attributes) and the edges.
 */
export function parseDot(text: string): { nodes: Map<string, Record<string, string>>; edges: [string, string][] } {
  const graphs = parse(text);
  expect(graphs).toHaveLength(1);
  expect(graphs[0]!.type).toBe("digraph");
  const nodes = new Map<string, Record<string, string>>();
  const edges: [string, string][] = [];
  for (const stmt of graphs[0]!.children) {
    if (stmt.type === "node_stmt") nodes.set(String(stmt.node_id.id), Object.fromEntries(stmt.attr_list.map((a) => [String(a.id), String(a.eq)])));
    if (stmt.type === "edge_stmt") {
      const [from, to] = stmt.edge_list.map((n) => String((n as { id: string }).id));
      edges.push([from!, to!]);
    }
  }
  for (const [from, to] of edges) {
    expect(nodes.has(from), `edge from an undeclared node ${from}`).toBe(true);
    expect(nodes.has(to), `edge to an undeclared node ${to}`).toBe(true);
  }
  return { nodes, edges };
}

/** The closure rows under `tops` equal what a recursive walk of the active links finds, pair for pair. */
export async function expectClosureConsistent(db: pg.Client, tops: string[]): Promise<void> {
  const sub = `sub(id) as (select unnest($1::uuid[]) union select l.child_id from sub join resellers.link l on l.parent_id = sub.id and l.until is null)`;
  const uuids = tops.map((r) => r.slice("account--".length));
  const walked = await db.query(
    `with recursive ${sub},
     down(ancestor, descendant, depth) as (
       select l.parent_id, l.child_id, 1 from resellers.link l where l.parent_id in (select id from sub) and l.until is null
       union all
       select d.ancestor, l.child_id, d.depth + 1 from down d join resellers.link l on l.parent_id = d.descendant and l.until is null)
     select ancestor::text, descendant::text, depth from down order by 1, 2`,
    [uuids],
  );
  const stored = await db.query(
    `with recursive ${sub}
     select x.ancestor::text, x.descendant::text, x.depth from resellers.ancestry x where x.ancestor in (select id from sub) order by 1, 2`,
    [uuids],
  );
  expect(stored.rows).toEqual(walked.rows);
}

/** Waits until the resellers subgraph's projection has applied every account event so far. */
export async function resellersProjected(db: pg.Client): Promise<void> {
  const { rows } = await db.query("select coalesce(max(seq), 0)::bigint as seq from hub.event where topic like 'account.%'");
  const target = Number(rows[0].seq);
  for (const deadline = Date.now() + 15_000; ; await sleep(20)) {
    const r = await db.query("select seq from resellers.projection_cursor where name = 'reseller-accounts'");
    if (Number(r.rows[0]?.seq ?? 0) >= target) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for the resellers projection to reach ${target}`);
  }
}
