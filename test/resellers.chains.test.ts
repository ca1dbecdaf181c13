import "reflect-metadata";
import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { orgId, startTestHub, type TestHub } from "./support/hub.js";
import {
  chainOf,
  CLEAR,
  downstreamOf,
  END,
  expectClosureConsistent,
  exposureOf,
  FLAG,
  GRAPH,
  link,
  ok,
  parseDot,
  RECORD,
  registerAccounts,
  RISKIEST,
  THROUGH,
} from "./support/resellers.js";

/**
 * Reseller links through the gateway, accounts registered and flagged through the accounts subgraph:
 * chains of every depth from 1 to 12 (recorded in one batch in scrambled order, and link by link),
 * the closure table checked against a recursive walk of the links after every change, cycles and a
 * second parent refused naming the accounts, a link ended in the past counting nowhere, exposure
 * following flags raised and cleared, keyset pages, and the DOT and Mermaid pictures.
 */

describe("reseller chains", () => {
  let t: TestHub;
  let db: pg.Client;
  const P = orgId("rs-provider");
  const R = orgId("rs-reseller-org");
  let token: string;
  let resellers: string[]; // r[0] at the top … r[11]
  let leaf: string;

  beforeAll(async () => {
    t = await startTestHub();
    token = await t.token(P, "PROVIDER", ["accounts:read", "accounts:write", "resellers:read", "resellers:write"]);
    const rToken = await t.token(R, "RESELLER", ["resellers:read"]);
    await ok(t, token, `{ viewer { org } }`);
    await ok(t, rToken, `{ viewer { org } }`);
    db = new pg.Client({ connectionString: inject("databaseUrl") });
    await db.connect();
    resellers = await registerAccounts(t, token, Array.from({ length: 12 }, (_, i) => ({ kind: "RESELLER" as const, jurisdiction: ["US", "DE", "SG", "AE"][i % 4] })));
    [leaf] = await registerAccounts(t, token, [{ jurisdiction: "RU" }]);
  });
  afterAll(async () => {
    await db?.end();
    await t?.stop();
  });

  it("records a chain of depth 12 in one batch, in any order, and answers every depth from 1 to 12", async () => {
    const pairs: [string, string][] = resellers.map((r, i) => [r, resellers[i + 1] ?? leaf]);
    // Scrambled: a link's parent often gets its own parent later in the same batch.
    const scrambled = [...pairs].sort((a, b) => a[1].localeCompare(b[1]));
    const recorded = await link(t, token, scrambled);
    expect(recorded).toMatchObject({ recorded: 12, failed: 0 });
    expect(recorded.results.every((r: any) => r.changed && r.link.recordedBy === P && r.link.until === null)).toBe(true);
    await expectClosureConsistent(db, [resellers[0]!]);
    expect(await chainOf(t, token, leaf)).toEqual([...resellers].reverse());
    for (let depth = 1; depth <= 11; depth++) {
      expect(await chainOf(t, token, resellers[depth]!), `depth ${depth}`).toEqual(resellers.slice(0, depth).reverse());
    }
    expect(await chainOf(t, token, resellers[0]!)).toEqual([]);
    const hops = (await ok(t, token, `query($id: ID!) { resellerAccount(id: $id) { resellerChain { depth jurisdiction flagged } } }`, { id: leaf })).resellerAccount.resellerChain;
    expect(hops.map((h: any) => h.depth)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(hops[0]).toEqual({ depth: 1, jurisdiction: "AE", flagged: false });
    // The same link again changes nothing.
    const again = await link(t, token, [pairs[3]!]);
    expect(again.results[0]).toMatchObject({ changed: false, error: null });
  });

  it("chains built link by link, joining subtrees, match the walk of the links", async () => {
    const [a, b, c, d] = await registerAccounts(t, token, [{ kind: "RESELLER" }, { kind: "RESELLER" }, { kind: "RESELLER" }, {}]);
    await link(t, token, [[c!, d!]]);
    await link(t, token, [[a!, b!]]);
    await link(t, token, [[b!, c!]]);
    expect(await chainOf(t, token, d!)).toEqual([c, b, a]);
    await expectClosureConsistent(db, [a!]);
  });

  it("refuses a cycle, naming both accounts, alone or within one batch; and a second active parent", async () => {
    const top = resellers[0]!;
    const bottom = resellers[11]!;
    const cycle = await ok(t, token, RECORD, { in: [{ parentAccountId: bottom, childAccountId: top }] });
    expect(cycle.recordResellerLinks.results[0].error).toEqual({
      field: "childAccountId",
      code: "BAD_USER_INPUT",
      message: `childAccountId: ${top} is already above ${bottom}; the link would make a cycle`,
    });
    const [x, y] = await registerAccounts(t, token, [{ kind: "RESELLER" }, { kind: "RESELLER" }]);
    const batch = await ok(t, token, RECORD, { in: [{ parentAccountId: x, childAccountId: y }, { parentAccountId: y, childAccountId: x }] });
    expect(batch.recordResellerLinks.results.map((r: any) => r.error?.message ?? null)).toEqual([null, `childAccountId: ${x} is already above ${y}; the link would make a cycle`]);
    const second = await ok(t, token, RECORD, { in: [{ parentAccountId: x, childAccountId: leaf }] });
    expect(second.recordResellerLinks.results[0].error).toEqual({
      field: "childAccountId",
      code: "BAD_USER_INPUT",
      message: `childAccountId: already provided through ${bottom}; end that link first (endResellerLink)`,
    });
    expect(await chainOf(t, token, leaf)).toEqual([...resellers].reverse());
    await expectClosureConsistent(db, [top, x!]);
  });

  it("names the item and field of every bad input, and stores nothing of it", async () => {
    const [std, other, s5, s6, s7, s8, s9] = await registerAccounts(t, token, [{}, {}, {}, {}, {}, {}, {}]);
    const Q = orgId("rs-other");
    const qToken = await t.token(Q, "PROVIDER", ["accounts:write", "resellers:write"]);
    const [theirs] = await registerAccounts(t, qToken, [{ kind: "RESELLER" }]);
    const before = Number((await db.query("select count(*) from resellers.link where recorded_by = $1", [P])).rows[0].count);
    const r = resellers[5]!;
    const items = [
      { parentAccountId: "acct-1", childAccountId: std },
      { parentAccountId: r, childAccountId: "account--nope" },
      { parentAccountId: r, childAccountId: r },
      { parentAccountId: r, childAccountId: std, since: new Date(Date.now() + 3_600_000).toISOString() },
      { parentAccountId: r, childAccountId: std, operatorOrg: "Not An Org" },
      { parentAccountId: r, childAccountId: s5, operatorOrg: orgId("nobody") },
      { parentAccountId: r, childAccountId: s6, operatorOrg: P },
      { parentAccountId: std, childAccountId: s7 },
      { parentAccountId: `account--${randomUUID()}`, childAccountId: s8 },
      { parentAccountId: theirs, childAccountId: s9 },
      { parentAccountId: r, childAccountId: other },
      { parentAccountId: resellers[6], childAccountId: other },
    ];
    const results = (await ok(t, token, RECORD, { in: items })).recordResellerLinks.results;
    expect(results.map((x: any) => [x.index, x.error?.field ?? null, x.error?.code ?? null])).toEqual([
      [0, "parentAccountId", "BAD_USER_INPUT"],
      [1, "childAccountId", "BAD_USER_INPUT"],
      [2, "childAccountId", "BAD_USER_INPUT"],
      [3, "since", "BAD_USER_INPUT"],
      [4, "operatorOrg", "BAD_USER_INPUT"],
      [5, "operatorOrg", "BAD_USER_INPUT"],
      [6, "operatorOrg", "BAD_USER_INPUT"],
      [7, "parentAccountId", "BAD_USER_INPUT"],
      [8, "parentAccountId", "NOT_FOUND"],
      [9, "parentAccountId", "NOT_FOUND"],
      [10, null, null],
      [11, "childAccountId", "BAD_USER_INPUT"],
    ]);
    expect(results[7].error.message).toBe(`parentAccountId: ${std} is a STANDARD account; a parent must be a RESELLER account`);
    expect(results[9].error.message).toBe("parentAccountId: no account of yours with this id");
    expect(results[11].error.message).toBe("childAccountId: also the child of item 10; an account has one active parent");
    expect(Number((await db.query("select count(*) from resellers.link where recorded_by = $1", [P])).rows[0].count)).toBe(before + 1);
    // The good item's link ends again, leaving the long chain as it was.
    expect((await ok(t, token, END, { c: other })).endResellerLink.error).toBeNull();
    const end = await ok(t, token, END, { c: other, at: new Date(Date.now() + 3_600_000).toISOString() });
    expect(end.endResellerLink).toEqual({ link: null, error: { field: "at", code: "BAD_USER_INPUT", message: "at: in the future; a link ends now or in the past" } });
    const none = await ok(t, token, END, { c: std });
    expect(none.endResellerLink.error).toMatchObject({ field: "childAccountId", code: "NOT_FOUND" });
    expect((await ok(t, token, END, { c: other })).endResellerLink.error).toMatchObject({ field: "childAccountId", code: "NOT_FOUND" });
    const tooMany = await t.gql(RECORD, { in: Array.from({ length: 5001 }, () => ({ parentAccountId: r, childAccountId: std })) }, token);
    expect(tooMany.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input" });
  });

  it("a link ended in the past counts nowhere: not in the chain, not in exposure; the child may be linked again", async () => {
    const [top, mid, child, grandchild] = await registerAccounts(t, token, [{ kind: "RESELLER" }, { kind: "RESELLER" }, { kind: "RESELLER", jurisdiction: "FR" }, { jurisdiction: "FR" }]);
    await link(t, token, [[top!, mid!], [mid!, child!], [child!, grandchild!]]);
    expect((await exposureOf(t, token, top!)).total).toBe(3);
    const at = new Date(Date.now() - 86_400_000).toISOString();
    const ended = await ok(t, token, END, { c: child, at });
    // The link began now; it cannot end before it began.
    expect(ended.endResellerLink.error).toMatchObject({ field: "at", code: "BAD_USER_INPUT" });
    const endedNow = await ok(t, token, END, { c: child });
    expect(endedNow.endResellerLink.error).toBeNull();
    expect(endedNow.endResellerLink.link.until).not.toBeNull();
    expect(await chainOf(t, token, grandchild!)).toEqual([child]);
    expect(await chainOf(t, token, child!)).toEqual([]);
    expect(await exposureOf(t, token, top!)).toMatchObject({ total: 1, maxDepth: 1 });
    expect(await exposureOf(t, token, mid!)).toMatchObject({ total: 0, flagged: 0, shareFlagged: 0, maxDepth: 0 });
    await expectClosureConsistent(db, [top!, child!]);
    // A link that began last week, ended yesterday.
    const [r2] = await registerAccounts(t, token, [{ kind: "RESELLER" }]);
    const old = await ok(t, token, RECORD, { in: [{ parentAccountId: r2, childAccountId: child, since: new Date(Date.now() - 7 * 86_400_000).toISOString() }] });
    expect(old.recordResellerLinks.results[0].error).toBeNull();
    expect(await chainOf(t, token, grandchild!)).toEqual([child, r2]);
    expect((await ok(t, token, END, { c: child, at })).endResellerLink.link.until).toBe(at);
    expect(await chainOf(t, token, grandchild!)).toEqual([child]);
    await expectClosureConsistent(db, [r2!, child!]);
  });

  it("exposure follows flags raised and cleared through the accounts subgraph", async () => {
    const [top, a, b, c] = await registerAccounts(t, token, [{ kind: "RESELLER" }, { jurisdiction: "NG" }, { jurisdiction: "NG" }, { jurisdiction: "BR" }]);
    await link(t, token, [[top!, a!], [top!, b!], [top!, c!]]);
    expect(await exposureOf(t, token, top!)).toEqual({
      total: 3,
      flagged: 0,
      shareFlagged: 0,
      maxDepth: 1,
      byJurisdiction: [{ key: "NG", count: 2 }, { key: "BR", count: 1 }],
      byCategory: [],
    });
    const flag = async (account: string, category: string) => (await ok(t, token, FLAG, { in: { accountId: account, category, confidence: 80, tlp: "RED" } })).flagAccount.flag.id;
    const fraud = await flag(a!, "FRAUD");
    await flag(a!, "SPAM");
    await flag(c!, "FRAUD");
    await expect.poll(() => exposureOf(t, token, top!), { timeout: 15_000 }).toMatchObject({
      flagged: 2,
      shareFlagged: 2 / 3,
      byCategory: [{ key: "FRAUD", count: 2 }, { key: "SPAM", count: 1 }],
    });
    const hops = (await ok(t, token, `query($id: ID!) { resellerAccount(id: $id) { resellerChain { flagged } } }`, { id: a })).resellerAccount.resellerChain;
    expect(hops).toEqual([{ flagged: false }]);
    expect((await ok(t, token, CLEAR, { id: fraud, r: "Resolved with the customer" })).clearFlag.error).toBeNull();
    await expect.poll(() => exposureOf(t, token, top!), { timeout: 15_000 }).toMatchObject({ flagged: 2, byCategory: [{ key: "FRAUD", count: 1 }, { key: "SPAM", count: 1 }] });
    const risky = (await ok(t, token, RISKIEST, { first: 100, min: 3 })).riskiestResellers;
    const mine = risky.find((r: any) => r.account.id === top);
    expect(mine).toMatchObject({ total: 3, flagged: 2, jurisdiction: "US" });
    // minAccounts keeps a small subtree out.
    expect((await ok(t, token, RISKIEST, { first: 100, min: 4 })).riskiestResellers.map((r: any) => r.account.id)).not.toContain(top);
  });

  it("pages the accounts below, to a depth, and finds the chains through a jurisdiction", async () => {
    const all = await downstreamOf(t, token, resellers[0]!, 5);
    expect(new Set(all)).toEqual(new Set([...resellers.slice(1), leaf]));
    expect(all).toHaveLength(12);
    expect(await downstreamOf(t, token, resellers[0]!, 500, 2)).toEqual([resellers[1], resellers[2]].sort());
    const bad = await t.gql(`query($id: ID!) { resellerAccount(id: $id) { downstream(first: 0) { edges { cursor } } } }`, { id: leaf }, token);
    expect(bad.errors?.[0]).toMatchObject({ message: "first: must be from 1 to 500", extensions: { code: "BAD_USER_INPUT", field: "first" } });
    const through = (await ok(t, token, THROUGH, { j: "RU", first: 100 })).resellerChainsThrough;
    const mine = through.edges.find((e: any) => e.node.account.id === leaf);
    expect(mine.node).toMatchObject({ jurisdiction: "RU", flagged: false });
    expect(mine.node.hops.map((h: any) => h.account.id)).toEqual([...resellers].reverse());
    const viaSg = (await ok(t, token, THROUGH, { j: "SG", first: 100 })).resellerChainsThrough.edges.map((e: any) => e.node.account.id);
    expect(viaSg).toContain(leaf);
    const badJ = await t.gql(THROUGH, { j: "XX" }, token);
    expect(badJ.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "jurisdiction" });
  });

  it("draws the chain and the subtree as DOT that parses, and as Mermaid naming every account", async () => {
    const [flaggedChild] = await registerAccounts(t, token, [{ jurisdiction: "KP" }]);
    await link(t, token, [[resellers[11]!, flaggedChild!]]);
    await ok(t, token, FLAG, { in: { accountId: flaggedChild, category: "SANCTIONS_EVASION", confidence: 90, tlp: "RED" } });
    const focus = resellers[10]!;
    const dotText = async () => (await ok(t, token, GRAPH, { id: focus, f: "DOT", d: 2 })).resellerAccount.resellerGraph as string;
    await expect.poll(async () => (await dotText()).includes("FLAGGED"), { timeout: 15_000 }).toBe(true);
    const { nodes, edges } = parseDot(await dotText());
    expect(new Set(nodes.keys())).toEqual(new Set([...resellers, leaf, flaggedChild]));
    expect(edges).toContainEqual([resellers[0], resellers[1]]);
    expect(edges).toContainEqual([resellers[11], flaggedChild]);
    expect(edges).toHaveLength(13);
    expect(nodes.get(flaggedChild!)).toMatchObject({ color: "red", style: "bold" });
    expect(nodes.get(flaggedChild!)!.label).toContain("KP");
    expect(nodes.get(focus)).toMatchObject({ peripheries: "2" });
    // Depth 1 leaves the grandchildren out.
    expect(parseDot((await ok(t, token, GRAPH, { id: focus, f: "DOT", d: 1 })).resellerAccount.resellerGraph).nodes.has(leaf)).toBe(false);

    const mermaid = (await ok(t, token, GRAPH, { id: focus, f: "MERMAID" })).resellerAccount.resellerGraph as string;
    expect(mermaid.startsWith("flowchart TD\n")).toBe(true);
    for (const id of [...resellers, leaf, flaggedChild!]) expect(mermaid).toContain(id);
    expect(mermaid).toMatch(/class n\d+(,n\d+)* flagged/);
    // An account with no links is an empty graph.
    const [lonely] = await registerAccounts(t, token, [{}]);
    expect(parseDot((await ok(t, token, GRAPH, { id: lonely, f: "DOT" })).resellerAccount.resellerGraph).nodes.size).toBe(0);
  });
});
