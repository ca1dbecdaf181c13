import "reflect-metadata";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { orgId, startTestHub, testClock, type TestHub } from "./support/hub.js";
import { ok, registerAccounts } from "./support/resellers.js";
import { CUSTOMER_RECORD, openRecord } from "./support/verification.js";

/**
 * Third-party access (EO 13984 §1(a)(iii)) through the gateway: an agency asks for one account's
 * record, the provider that holds it decides, and an approval lets that agency read that record until
 * the grant ends; every attacker path (no approval, another agency, another provider, another account,
 * after expiry or revocation, `_entities` straight at the subgraph) sees nothing; every step is in the
 * provider's audit trail and the chain holds.
 */

const REQUEST_FIELDS = `id accountId provider requester requestedBy legalBasis status requestedAt decidedAt decidedBy decisionReason accessUntil revokedAt revokedBy revocationReason`;
const REQUEST = `mutation($a: ID!, $b: String!) { requestDisclosure(accountId: $a, legalBasis: $b) { request { ${REQUEST_FIELDS} } error { field message code } } }`;
const DECIDE = `mutation($id: ID!, $ok: Boolean!, $r: String!) { decideDisclosure(id: $id, approve: $ok, reason: $r) { request { ${REQUEST_FIELDS} } error { field message code } } }`;
const REVOKE = `mutation($id: ID!, $r: String!) { revokeDisclosure(id: $id, reason: $r) { request { ${REQUEST_FIELDS} } error { field message code } } }`;
const LIST = `query($f: DisclosureFilter, $first: Int, $after: String) {
  disclosureRequests(filter: $f, first: $first, after: $after) { edges { cursor node { id accountId requester status } } pageInfo { hasNextPage endCursor } } }`;
const ENTITIES = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Account { id verificationStatus } } }`;
const HISTORY = `query($a: ID!) { accessHistory(accountId: $a) { edges { node { ip action } } } }`;
const ACCESS = `mutation($in: [AccessEventInput!]!) { recordAccessEvents(input: $in) { accepted rejected { index field } } }`;
const CHAIN = `query { verifyAuditChain { ok checked firstBroken } }`;

const BASIS = "18 U.S.C. 2703(d) order, case 26-mj-0417";
const DAY = 86_400_000;

describe("disclosure of a customer record to an agency", () => {
  const clock = testClock();
  let t: TestHub;
  let db: pg.Client;
  const P = orgId("dis-provider");
  const Q = orgId("dis-other-provider");
  const A = orgId("dis-agency");
  const B = orgId("dis-other-agency");
  const tok: Record<string, string> = {};
  let a1: string, a2: string, a3: string, q1: string;
  let r1: any;

  const request = async (token: string, accountId: string, legalBasis = BASIS) => (await ok(t, token, REQUEST, { a: accountId, b: legalBasis })).requestDisclosure;
  const decide = async (token: string, id: string, approve: boolean, reason = "order verified by counsel") => (await ok(t, token, DECIDE, { id, ok: approve, r: reason })).decideDisclosure;
  const read = async (token: string, accountId: string) => (await ok(t, token, CUSTOMER_RECORD, { a: accountId })).customerRecord;
  const list = async (token: string, vars: Record<string, unknown> = {}) => (await ok(t, token, LIST, vars)).disclosureRequests;
  const stored = async (requester: string) => Number((await db.query("select count(*) from verification.disclosure_request where requester = $1", [requester])).rows[0].count);
  const actions = async (org: string) => (await db.query("select action, detail from verification.audit_trail where org = $1 order by seq", [org])).rows as { action: string; detail: any }[];

  beforeAll(async () => {
    t = await startTestHub({}, { clock: clock.now });
    db = new pg.Client({ connectionString: inject("databaseUrl") });
    await db.connect();
    const provider = ["accounts:read", "accounts:write", "verification:read", "verification:write"];
    tok[P] = await t.token(P, "PROVIDER", provider);
    tok[Q] = await t.token(Q, "PROVIDER", provider);
    tok[A] = await t.token(A, "AGENCY", ["verification:disclose"]);
    tok[B] = await t.token(B, "AGENCY", ["verification:disclose"]);
    [a1, a2, a3] = await registerAccounts(t, tok[P]!, [{ jurisdiction: "FR" }, { jurisdiction: "FR" }, { jurisdiction: "DE" }]);
    [q1] = await registerAccounts(t, tok[Q]!, [{ jurisdiction: "DE" }]);
    r1 = await openRecord(t, tok[P]!, a1!);
    await openRecord(t, tok[P]!, a2!);
    await openRecord(t, tok[Q]!, q1!);
    // a3 has no record.
  });
  afterAll(async () => {
    await db?.end();
    await t?.stop();
  });

  it("refuses a malformed request naming the argument, stores nothing, and answers only an AGENCY with verification:disclose", async () => {
    const cases: [string, string, string, string][] = [
      [a1!, "", "legalBasis", "BAD_USER_INPUT"],
      [a1!, "   \n ", "legalBasis", "BAD_USER_INPUT"],
      [a1!, "warrant", "legalBasis", "BAD_USER_INPUT"],
      [a1!, "x".repeat(1001), "legalBasis", "BAD_USER_INPUT"],
      [a1!, "court order\u0007 no. 12", "legalBasis", "BAD_USER_INPUT"],
      [a1!, "court order \u202e21 .on", "legalBasis", "BAD_USER_INPUT"],
      ["acct-7", BASIS, "accountId", "BAD_USER_INPUT"],
      ["account--00000000-0000-4000-8000-00000000dead", BASIS, "accountId", "NOT_FOUND"],
    ];
    for (const [accountId, basis, field, code] of cases) {
      const res = await request(tok[A]!, accountId, basis);
      expect(res.request, `${field} ${JSON.stringify(basis).slice(0, 40)}`).toBeNull();
      expect(res.error).toMatchObject({ field, code });
      expect(res.error.message.startsWith(`${field}: `)).toBe(true);
    }
    expect(await stored(A)).toBe(0);

    // A provider, an agency without the scope, an operator: refused outright.
    const asProvider = await t.gql(REQUEST, { a: q1, b: BASIS }, await t.token(P, "PROVIDER", ["verification:disclose", "verification:read"]));
    expect(asProvider.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    const noScope = await t.gql(REQUEST, { a: a1, b: BASIS }, await t.token(A, "AGENCY", ["verification:read"]));
    expect(noScope.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect(await stored(P)).toBe(0);
  });

  it("files a request for an account with or without a record alike, one undecided request per account at a time", async () => {
    const withRecord = await request(tok[A]!, a1!);
    expect(withRecord.error).toBeNull();
    expect(withRecord.request).toMatchObject({ accountId: a1, provider: P, requester: A, legalBasis: BASIS, status: "REQUESTED", decidedAt: null, accessUntil: null });
    expect(withRecord.request.id).toMatch(/^disclosure-request--[0-9a-f-]{36}$/);
    // The agency cannot tell from the answer whether a record exists.
    const withoutRecord = await request(tok[A]!, a3!);
    expect(withoutRecord.error).toBeNull();
    expect(Object.keys(withoutRecord.request).sort()).toEqual(Object.keys(withRecord.request).sort());
    expect(withoutRecord.request).toMatchObject({ accountId: a3, provider: P, status: "REQUESTED" });

    const again = await request(tok[A]!, a1!, `${BASIS}, second copy`);
    expect(again).toMatchObject({ request: null, error: { field: "accountId", code: "BAD_USER_INPUT" } });
    expect(await stored(A)).toBe(2);
    // Another agency asks for the same account on its own account.
    expect((await request(tok[B]!, a1!)).request.status).toBe("REQUESTED");
  });

  it("before approval the agency reads nothing: not the record, not the status through _entities, not the access history", async () => {
    expect(await read(tok[A]!, a1!)).toBeNull();
    const sub = t.subgraphUrl("verification");
    const entities = await ok(t, tok[A]!, ENTITIES, { r: [{ __typename: "Account", id: a1 }] }, sub);
    expect(entities._entities).toEqual([{ id: a1, verificationStatus: null }]);
    const history = await t.gql(HISTORY, { a: a1 }, tok[A]);
    expect(history.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
  });

  it("only the provider that holds the account decides, once, with a reason; an approval needs a record", async () => {
    const [mine] = (await list(tok[A]!, { f: { accountId: a1 } })).edges.map((e: any) => e.node);
    // Another provider, and an agency even with verification:write, find no such request.
    expect((await decide(tok[Q]!, mine.id, true)).error).toMatchObject({ field: "id", code: "NOT_FOUND" });
    expect((await decide(await t.token(A, "AGENCY", ["verification:write"]), mine.id, true)).error).toMatchObject({ field: "id", code: "NOT_FOUND" });
    const noScope = await t.gql(DECIDE, { id: mine.id, ok: true, r: "yes" }, tok[A]);
    expect(noScope.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect((await decide(tok[P]!, mine.id, true, "  ")).error).toMatchObject({ field: "reason", code: "BAD_USER_INPUT" });
    expect((await decide(tok[P]!, "disclosure-request--nope", true)).error).toMatchObject({ field: "id", code: "BAD_USER_INPUT" });

    const approved = await decide(tok[P]!, mine.id, true);
    expect(approved.error).toBeNull();
    expect(approved.request).toMatchObject({ status: "APPROVED", decisionReason: "order verified by counsel", decidedBy: expect.any(String) });
    expect(new Date(approved.request.accessUntil).getTime()).toBe(clock.now().getTime() + 30 * DAY);
    expect((await decide(tok[P]!, mine.id, false)).error).toMatchObject({ field: "id", code: "BAD_USER_INPUT" });

    const [noRecord] = (await list(tok[P]!, { f: { accountId: a3 } })).edges.map((e: any) => e.node);
    expect((await decide(tok[P]!, noRecord.id, true)).error).toMatchObject({ field: "approve" });
    expect((await decide(tok[P]!, noRecord.id, false, "no customer record is held for this account")).request.status).toBe("REFUSED");
  });

  it("the approved agency reads that one record, its status and its access history; nobody else reads anything more", async () => {
    const record = await read(tok[A]!, a1!);
    expect(record).toMatchObject({ id: r1.id, accountId: a1, customer: { names: r1.customer.names } });
    const sub = t.subgraphUrl("verification");
    const entities = await ok(t, tok[A]!, ENTITIES, { r: [{ __typename: "Account", id: a1 }, { __typename: "Account", id: a2 }, { __typename: "Account", id: q1 }] }, sub);
    expect(entities._entities).toEqual([
      { id: a1, verificationStatus: "PENDING" },
      { id: a2, verificationStatus: null },
      { id: q1, verificationStatus: null },
    ]);
    await ok(t, tok[P]!, ACCESS, { in: [{ accountId: a1, ip: "198.51.100.23", at: new Date(clock.now().getTime() - 3600_000).toISOString(), action: "ADMIN" }] });
    // The access log is part of the record §1(a)(ii)(D) defines: the disclosure covers it.
    expect((await ok(t, tok[A]!, HISTORY, { a: a1 })).accessHistory.edges.map((e: any) => e.node)).toEqual([{ ip: "198.51.100.23", action: "ADMIN" }]);

    expect(await read(tok[A]!, a2!)).toBeNull(); // another account of the same provider
    expect(await read(tok[A]!, q1!)).toBeNull(); // another provider's account
    expect(await read(tok[B]!, a1!)).toBeNull(); // another agency, its own request undecided
    expect(await read(tok[Q]!, a1!)).toBeNull(); // another provider
    expect((await t.gql(HISTORY, { a: a2 }, tok[A])).errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    // The agency changes nothing: the record's mutations need verification:write, and are the owner's.
    const change = await t.gql(`mutation($id: ID!) { placeLegalHold(recordId: $id, reason: "mine now") { error { field code } } }`, { id: r1.id }, tok[A]);
    expect(change.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");

    const reads = (await actions(P)).filter((a) => a.action === "RECORD_READ" && a.detail.via === "DISCLOSURE");
    expect(reads.length).toBeGreaterThanOrEqual(1);
  });

  it("an approval ends when DISCLOSURE_ACCESS_DAYS have passed, or when the provider revokes it", async () => {
    const second = await request(tok[A]!, a2!);
    await decide(tok[P]!, second.request.id, true);
    expect((await read(tok[A]!, a2!)).accountId).toBe(a2);
    expect((await ok(t, tok[P]!, REVOKE, { id: second.request.id, r: "  " })).revokeDisclosure.error).toMatchObject({ field: "reason" });
    expect((await ok(t, tok[Q]!, REVOKE, { id: second.request.id, r: "not mine" })).revokeDisclosure.error).toMatchObject({ field: "id", code: "NOT_FOUND" });
    const revoked = (await ok(t, tok[P]!, REVOKE, { id: second.request.id, r: "the order was vacated" })).revokeDisclosure;
    expect(revoked.request).toMatchObject({ status: "REVOKED", revocationReason: "the order was vacated" });
    expect(await read(tok[A]!, a2!)).toBeNull();
    expect((await ok(t, tok[P]!, REVOKE, { id: second.request.id, r: "again" })).revokeDisclosure.error).toMatchObject({ field: "id" });

    expect((await read(tok[A]!, a1!)).accountId).toBe(a1);
    clock.advance(29.9);
    expect((await read(tok[A]!, a1!)).accountId).toBe(a1);
    clock.advance(0.2);
    expect(await read(tok[A]!, a1!)).toBeNull();
    const sub = t.subgraphUrl("verification");
    expect((await ok(t, tok[A]!, ENTITIES, { r: [{ __typename: "Account", id: a1 }] }, sub))._entities).toEqual([{ id: a1, verificationStatus: null }]);
    expect((await t.gql(HISTORY, { a: a1 }, tok[A])).errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    const expired = (await list(tok[A]!, { f: { status: "EXPIRED" } })).edges.map((e: any) => e.node.accountId);
    expect(expired).toEqual([a1]);
    expect((await list(tok[A]!, { f: { status: "APPROVED" } })).edges).toEqual([]);
    // An expired approval is decided: it cannot be approved again, nor revoked.
    const [first] = (await list(tok[A]!, { f: { accountId: a1 } })).edges.map((e: any) => e.node);
    expect((await decide(tok[P]!, first.id, true)).error).toMatchObject({ field: "id" });
    // The agency asks anew.
    expect((await request(tok[A]!, a1!)).request.status).toBe("REQUESTED");
  });

  it("lists to each party only its own requests, newest first, in keyset pages", async () => {
    const agency = (await list(tok[A]!)).edges.map((e: any) => e.node);
    expect(agency.every((n: any) => n.requester === A)).toBe(true);
    expect(agency.map((n: any) => [n.accountId, n.status])).toEqual([
      [a1, "REQUESTED"],
      [a2, "REVOKED"],
      [a3, "REFUSED"],
      [a1, "EXPIRED"],
    ]);
    const provider = (await list(tok[P]!)).edges.map((e: any) => e.node);
    expect(provider.map((n: any) => n.requester).sort()).toEqual([A, A, A, A, B].sort());
    expect((await list(tok[Q]!)).edges).toEqual([]);
    expect((await list(tok[B]!)).edges.map((e: any) => [e.node.accountId, e.node.status])).toEqual([[a1, "REQUESTED"]]);
    expect((await list(tok[P]!, { f: { status: "REQUESTED" } })).edges.map((e: any) => e.node.requester).sort()).toEqual([A, B].sort());

    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: any = await list(tok[P]!, { first: 2, after });
      seen.push(...page.edges.map((e: any) => e.node.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual(provider.map((n: any) => n.id));

    expect((await t.gql(LIST, { after: "bm90LWEtY3Vyc29y" }, tok[P])).errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "after" });
    expect((await t.gql(LIST, { f: { accountId: "x" } }, tok[P])).errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "filter.accountId" });
    expect((await t.gql(LIST, { first: 101 }, tok[P])).errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "first" });
    expect((await t.gql(LIST, {}, await t.token(orgId("dis-op"), "OPERATOR", ["admin"]))).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
  });

  it("every request, decision, revocation and disclosed read is in the provider's audit trail, and the chain holds", async () => {
    const trail = await actions(P);
    const count = (action: string, decision?: string) => trail.filter((a) => a.action === action && (!decision || a.detail.decision === decision)).length;
    expect(count("DISCLOSURE_REQUESTED")).toBe(5);
    expect(count("DISCLOSURE_DECIDED", "APPROVED")).toBe(2);
    expect(count("DISCLOSURE_DECIDED", "REFUSED")).toBe(1);
    expect(count("DISCLOSURE_DECIDED", "REVOKED")).toBe(1);
    // Requests and decisions name the agency and the request; the legal basis (free text) stays out.
    for (const link of trail.filter((a) => a.action.startsWith("DISCLOSURE_"))) {
      expect([A, B]).toContain(link.detail.requester);
      expect(JSON.stringify(link.detail)).not.toContain("2703");
    }
    // The agency's refused attempts left nothing in the other provider's chain.
    expect((await actions(Q)).filter((a) => a.action.startsWith("DISCLOSURE_"))).toEqual([]);
    expect((await ok(t, tok[P]!, CHAIN)).verifyAuditChain).toMatchObject({ ok: true, firstBroken: null });
  });
});
