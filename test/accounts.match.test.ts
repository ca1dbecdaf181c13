import "reflect-metadata";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { orgId, startTestHub, type TestHub } from "./support/hub.js";

/**
 * matchIdentifiers through the gateway, as providers and attackers call it: a second provider finds an
 * account another provider flagged by the same identifier written differently; only flags in force
 * that the caller may see are counted (TLP); bad items answered per item; the per-org daily budget
 * (also under concurrent calls); the audit trail and who may read it.
 */

const MATCH = `query($ids: [IdentifierInput!]!) { matchIdentifiers(identifiers: $ids) {
  index flaggedAccounts providers categories maxConfidence firstFlaggedAt lastFlaggedAt error { field message code } } }`;
const AUDIT = `query($org: String, $first: Int, $after: String) { matchAudit(org: $org, first: $first, after: $after) {
  edges { cursor node { org sub requestId identifiers hits refused at } } pageInfo { hasNextPage endCursor } } }`;

const REGISTER = `mutation($in: [AccountInput!]!) { registerAccounts(input: $in) { results { index account { id } error { field message } } } }`;
const FLAG = `mutation($in: FlagInput!) { flagAccount(input: $in) { flag { id createdAt } error { field message code } } }`;
const CLEAR = `mutation($id: ID!) { clearFlag(id: $id, reason: "resolved with the customer") { flag { id status } error { message } } }`;

const BUDGET = 20;

describe("matchIdentifiers", () => {
  let t: TestHub;
  let db: pg.Client;
  const tokens: Record<string, string> = {};
  const ADMIN = orgId("m-operator");

  const token = async (org: string, scopes = ["accounts:read"], sub?: string) => {
    tokens[org] ??= await t.token(org, "PROVIDER", scopes, sub ? { sub } : {});
    return tokens[org]!;
  };
  const emails = (n: number, tag: string) => Array.from({ length: n }, (_, i) => ({ type: "EMAIL", value: `${tag}-${i}@example.org` }));

  beforeAll(async () => {
    t = await startTestHub({ MATCH_DAILY_BUDGET: String(BUDGET) });
    db = new pg.Client({ connectionString: inject("databaseUrl") });
    await db.connect();
    tokens[ADMIN] = await t.token(ADMIN, "OPERATOR", ["admin"]);
  });
  afterAll(async () => {
    await db?.end();
    await t?.stop();
  });

  const ok = async (org: string, query: string, variables: Record<string, unknown>) => {
    const res = await t.gql(query, variables, await token(org, ["accounts:read", "accounts:write"]));
    expect(res.errors, `${org}: ${JSON.stringify(res.errors)}`).toBeUndefined();
    return res.data;
  };
  const register = async (org: string, externalRef: string, identifiers: { type: string; value: string }[]) => {
    const data = await ok(org, REGISTER, {
      in: [{ externalRef, kind: "STANDARD", holderType: "INDIVIDUAL", holderJurisdiction: "NL", usPerson: false, identifiers }],
    });
    expect(data.registerAccounts.results[0].error).toBeNull();
    return data.registerAccounts.results[0].account.id as string;
  };
  const flag = async (org: string, input: Record<string, unknown>) => {
    const data = await ok(org, FLAG, { in: input });
    expect(data.flagAccount.error).toBeNull();
    return data.flagAccount.flag as { id: string; createdAt: string };
  };
  const match = async (org: string, ids: { type: string; value: string }[]) => (await ok(org, MATCH, { ids })).matchIdentifiers as any[];

  it("finds a flagged account of another provider by the same e-mail and card written differently, and not by another e-mail", async () => {
    const A = orgId("m-flagger");
    const B = orgId("m-asker");
    const acct = await register(A, "mallory-1", [
      { type: "EMAIL", value: "Mallory.Actor@Example.COM" },
      { type: "PAYMENT_CARD", value: "4111111111111111" },
    ]);
    const flagged = await flag(A, { accountId: acct, category: "FRAUD", confidence: 80, tlp: "GREEN" });
    const out = await match(B, [
      { type: "EMAIL", value: "  mallory.actor@example.com " },
      { type: "PAYMENT_CARD", value: "4111-1111 1111-1111" },
      { type: "EMAIL", value: "mallory.actor2@example.com" },
      { type: "PHONE", value: "+44 20 7946 0958" },
    ]);
    expect(out[0]).toEqual({
      index: 0,
      flaggedAccounts: 1,
      providers: 1,
      categories: ["FRAUD"],
      maxConfidence: 80,
      firstFlaggedAt: flagged.createdAt,
      lastFlaggedAt: flagged.createdAt,
      error: null,
    });
    expect(out[1]).toMatchObject({ index: 1, flaggedAccounts: 1, providers: 1, categories: ["FRAUD"], maxConfidence: 80 });
    for (const miss of [out[2], out[3]]) {
      expect(miss).toMatchObject({ flaggedAccounts: 0, providers: 0, categories: [], maxConfidence: null, firstFlaggedAt: null, lastFlaggedAt: null, error: null });
    }
  });

  it("counts accounts and providers, every category, the highest confidence, the first and last flag", async () => {
    const [A, C, B] = [orgId("m-prov-a"), orgId("m-prov-c"), orgId("m-prov-b")];
    const email = { type: "EMAIL", value: "shared.actor@example.net" };
    const a1 = await register(A, "a-1", [email]);
    const a2 = await register(A, "a-2", [{ type: "EMAIL", value: "Shared.Actor@EXAMPLE.net" }]);
    const c1 = await register(C, "c-1", [email, { type: "DOMAIN", value: "actor.example" }]);
    const first = await flag(A, { accountId: a1, category: "PHISHING", confidence: 40, tlp: "GREEN" });
    await flag(A, { accountId: a1, category: "SPAM", confidence: 60, tlp: "CLEAR" });
    await flag(A, { accountId: a2, category: "PHISHING", confidence: 30, tlp: "GREEN" });
    const last = await flag(C, { accountId: c1, category: "DDOS", confidence: 90, tlp: "GREEN" });
    const [out] = await match(B, [email]);
    expect(out).toEqual({
      index: 0,
      flaggedAccounts: 3,
      providers: 2,
      categories: ["DDOS", "PHISHING", "SPAM"],
      maxConfidence: 90,
      firstFlaggedAt: first.createdAt,
      lastFlaggedAt: last.createdAt,
      error: null,
    });
  });

  it("counts only flags in force that the caller may see (TLP), as its owner, the provider and the orgs it is shared with see them", async () => {
    const [A, B, S] = [orgId("m-tlp-owner"), orgId("m-tlp-other"), orgId("m-tlp-shared")];
    for (const org of [B, S]) await ok(org, `{ viewer { org } }`, {});
    const wallet = { type: "CRYPTO_WALLET", value: "0x52908400098527886E0F7030069857D2E4169EE7" };
    const phone = { type: "PHONE", value: "+1 (202) 555-0147" };
    const red = await register(A, "tlp-red", [wallet]);
    const amber = await register(A, "tlp-amber", [phone]);
    await flag(A, { accountId: red, category: "COMMAND_AND_CONTROL", confidence: 70, tlp: "RED" });
    await flag(A, { accountId: amber, category: "CRYPTOJACKING", confidence: 55, tlp: "AMBER", sharedWith: [S] });
    const ids = [wallet, { ...phone, value: "+12025550147" }];
    const counts = async (org: string) => (await match(org, ids)).map((m) => [m.flaggedAccounts, m.categories.length, m.maxConfidence]);
    expect(await counts(A)).toEqual([[1, 1, 70], [1, 1, 55]]);
    expect(await counts(S)).toEqual([[0, 0, null], [1, 1, 55]]);
    expect(await counts(B)).toEqual([[0, 0, null], [0, 0, null]]);

    // A cleared flag counts for nobody, its owner included.
    const green = await register(A, "tlp-cleared", [{ type: "DOMAIN", value: "cleared-actor.example" }]);
    const cleared = await flag(A, { accountId: green, category: "OTHER", confidence: 10, tlp: "GREEN" });
    expect((await match(B, [{ type: "DOMAIN", value: "Cleared-Actor.Example." }]))[0].flaggedAccounts).toBe(1);
    expect((await ok(A, CLEAR, { id: cleared.id })).clearFlag.flag.status).toBe("CLEARED");
    expect((await match(B, [{ type: "DOMAIN", value: "cleared-actor.example" }]))[0].flaggedAccounts).toBe(0);
    expect((await match(A, [{ type: "DOMAIN", value: "cleared-actor.example" }]))[0].flaggedAccounts).toBe(0);
  });

  it("answers each bad item with its error at its index, and the good ones beside it", async () => {
    const org = orgId("m-bad");
    const res = await t.gql(
      MATCH,
      {
        ids: [
          { type: "EMAIL", value: "nobody.example.org" },
          { type: "EMAIL", value: "someone@example.org" },
          { type: "PHONE", value: "0301 234567" },
          { type: "PAYMENT_CARD", value: "4111 1111 1111 1112" },
          { type: "NATIONAL_ID", value: "QQ:123456789" },
        ],
      },
      await token(org),
    );
    expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
    const out = res.data.matchIdentifiers;
    expect(out.map((m: any) => m.index)).toEqual([0, 1, 2, 3, 4]);
    expect(out[0].error).toMatchObject({ field: "identifiers[0].value", code: "BAD_USER_INPUT" });
    expect(out[0].error.message).toMatch(/^identifiers\[0\]\.value: not an e-mail address/);
    expect(out[1]).toMatchObject({ flaggedAccounts: 0, providers: 0, categories: [], maxConfidence: null, error: null });
    expect(out[2].error).toMatchObject({ field: "identifiers[2].value" });
    expect(out[2].error.message).toMatch(/E\.164/);
    expect(out[3].error.message).toMatch(/^identifiers\[3\]\.value: not a payment card number/);
    expect(out[4].error.message).toMatch(/^identifiers\[4\]\.value: .*ISO 3166-1/);
    // The refusals never repeat the value.
    expect(JSON.stringify(out)).not.toMatch(/nobody|0301 234567|4111|123456789/);
  });

  it("refuses an unknown identifier type by its item, as GraphQL coerces the variables", async () => {
    const res = await t.gql(MATCH, { ids: [{ type: "EMAIL", value: "a@example.org" }, { type: "FAX", value: "+12025550143" }] }, await token(orgId("m-type")));
    expect(res.data).toBeFalsy();
    expect(res.errors?.[0]?.message).toMatch(/ids\[1\]\.type/);
    expect(res.errors?.[0]?.message).toMatch(/IdentifierType/);
  });

  it("refuses more than 1,000 identifiers in one call, naming the argument; nothing is spent or recorded", async () => {
    const org = orgId("m-many");
    const res = await t.gql(MATCH, { ids: emails(1001, "many") }, await token(org));
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "identifiers" });
    expect(res.errors?.[0]?.message).toMatch(/at most 1000/);
    const { rows } = await db.query("select count(*)::int as n from accounts.match_audit where org = $1", [org]);
    expect(rows[0].n).toBe(0);
  });

  it("needs accounts:read to match and admin to read the trail", async () => {
    const org = orgId("m-scope");
    const none = await t.gql(MATCH, { ids: emails(1, "scope") }, await token(org, ["indicators:read"]));
    expect(none.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect(none.errors?.[0]?.message).toMatch(/accounts:read/);
    const audit = await t.gql(AUDIT, {}, await token(orgId("m-scope2"), ["accounts:read", "accounts:write"]));
    expect(audit.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect(audit.errors?.[0]?.message).toMatch(/admin/);
  });

  it("spends the org's daily budget, refuses the call that would pass it (MATCH_BUDGET_EXCEEDED) and spends nothing for it", async () => {
    const org = orgId("m-budget");
    const tk = await token(org);
    const first = await t.gql(MATCH, { ids: emails(12, "budget") }, tk);
    expect(first.errors).toBeUndefined();
    const over = await t.gql(MATCH, { ids: emails(9, "budget") }, tk);
    expect(over.data).toBeFalsy();
    expect(over.errors?.[0]?.extensions).toMatchObject({ code: "MATCH_BUDGET_EXCEEDED", budget: BUDGET, used: 12 });
    expect(over.errors?.[0]?.message).toMatch(/daily matching budget of 20 identifiers \(12 matched today, 8 left\)/);
    // The refused call spent nothing: the 8 left are still there, then nothing is.
    expect((await t.gql(MATCH, { ids: emails(8, "budget") }, tk)).errors).toBeUndefined();
    const spent = await t.gql(MATCH, { ids: emails(1, "budget") }, tk);
    expect(spent.errors?.[0]?.extensions?.code).toBe("MATCH_BUDGET_EXCEEDED");
    // Another org's budget is its own.
    expect((await t.gql(MATCH, { ids: emails(12, "budget") }, await token(orgId("m-budget-b")))).errors).toBeUndefined();
  });

  it("lets concurrent calls of one org spend no more than its budget", async () => {
    const org = orgId("m-race");
    const tk = await token(org);
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => t.gql(MATCH, { ids: emails(3, `race${i}`) }, tk)));
    const answered = answers.filter((a) => !a.errors);
    const refused = answers.filter((a) => a.errors?.[0]?.extensions?.code === "MATCH_BUDGET_EXCEEDED");
    expect(answered.length).toBe(Math.floor(BUDGET / 3));
    expect(refused.length).toBe(10 - answered.length);
    const { rows } = await db.query("select coalesce(sum(identifiers), 0)::int as spent from accounts.match_audit where org = $1 and not refused", [org]);
    expect(rows[0].spent).toBe(3 * answered.length);
  });

  it("records every call (org, token subject, request id, identifiers, hits, refused) for operators, never the values", async () => {
    const org = orgId("m-audit");
    const tk = await token(org, ["accounts:read"], "analyst-7");
    const flagger = orgId("m-audit-flagger");
    const planted = "secret-audit-0@example.org";
    await flag(flagger, { accountId: await register(flagger, "audit-1", [{ type: "EMAIL", value: planted }]), category: "SPAM", confidence: 20, tlp: "CLEAR" });
    const call = async (n: number, requestId: string) => {
      const res = await fetch(t.gatewayUrl, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${tk}`, "x-request-id": requestId },
        body: JSON.stringify({ query: MATCH, variables: { ids: emails(n, "secret-audit") } }),
      });
      return (await res.json()) as any;
    };
    expect((await call(15, "req-audit-1")).errors).toBeUndefined();
    expect((await call(10, "req-audit-2")).errors?.[0]?.extensions?.code).toBe("MATCH_BUDGET_EXCEEDED");

    const res = await t.gql(AUDIT, { org, first: 1 }, tokens[ADMIN]);
    expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
    const page1 = res.data.matchAudit;
    expect(page1.edges.map((e: any) => e.node)).toEqual([
      { org, sub: "analyst-7", requestId: "req-audit-2", identifiers: 10, hits: 0, refused: true, at: expect.any(String) },
    ]);
    expect(page1.pageInfo.hasNextPage).toBe(true);
    const page2 = (await t.gql(AUDIT, { org, first: 1, after: page1.pageInfo.endCursor }, tokens[ADMIN])).data.matchAudit;
    expect(page2.edges.map((e: any) => e.node)).toMatchObject([{ org, sub: "analyst-7", requestId: "req-audit-1", identifiers: 15, hits: 1, refused: false }]);
    expect(page2.pageInfo.hasNextPage).toBe(false);

    // Nothing of the values in the trail, nor anywhere in the accounts schema.
    const { rows } = await db.query(`select t.* from accounts.match_audit t where org = $1`, [org]);
    expect(rows).toHaveLength(2);
    expect(JSON.stringify(rows)).not.toMatch(/secret-audit/);
  });
});
