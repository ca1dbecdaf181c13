import "reflect-metadata";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { orgId, startTestHub, type TestHub } from "./support/hub.js";

/**
 * The account registry through the gateway: bulk upsert by external reference with per-item results,
 * one `account.registered` event per account actually changed (none for an identical resend), the
 * bad inputs of the issue (each named, nothing stored), and who sees an account: its provider, and
 * nobody else until a flag they may see is raised on it, and then only the flag's view of it.
 */

const REGISTER = `mutation($in: [AccountInput!]!) { registerAccounts(input: $in) {
  registered unchanged failed
  results { index changed error { field message code } account { id externalRef kind holderType holderJurisdiction usPerson status openedAt closedAt identifiers { type keyId hash } } } } }`;
const GET = `query($id: ID!) { account(id: $id) { id provider externalRef kind holderType holderJurisdiction usPerson status identifiers { type hash } } }`;
const LIST = `query($f: AccountFilter, $after: String) { accounts(filter: $f, first: 2, after: $after) { totalCount edges { cursor node { id externalRef } } pageInfo { hasNextPage endCursor } } }`;
const FLAG = `mutation($in: FlagInput!) { flagAccount(input: $in) { error { field message code } flag { id status account { id } } } }`;

const account = (externalRef: string, extra: Record<string, unknown> = {}) => ({
  externalRef,
  kind: "STANDARD",
  holderType: "INDIVIDUAL",
  holderJurisdiction: "RO",
  usPerson: false,
  ...extra,
});

describe("account registry", () => {
  let t: TestHub;
  let db: pg.Client;
  const A = orgId("acr-provider");
  const B = orgId("acr-other");
  const tokens: Record<string, string> = {};

  const ok = async (org: string, query: string, variables: Record<string, unknown> = {}) => {
    const res = await t.gql(query, variables, tokens[org]);
    expect(res.errors, `${org}: ${JSON.stringify(res.errors)}`).toBeUndefined();
    return res.data;
  };
  const events = async (provider: string) =>
    (await db.query(`select topic, payload from hub.event where topic = 'account.registered' and owner_org = $1 order by seq`, [provider])).rows;
  const stored = async (provider: string) =>
    Number((await db.query(`select count(*)::int as n from accounts.account where provider = $1`, [provider])).rows[0].n);

  beforeAll(async () => {
    t = await startTestHub();
    db = new pg.Client({ connectionString: inject("databaseUrl") });
    await db.connect();
    const scopes = ["accounts:read", "accounts:write"];
    tokens[A] = await t.token(A, "PROVIDER", scopes);
    tokens[B] = await t.token(B, "PROVIDER", scopes);
    for (const org of [A, B]) await ok(org, `{ viewer { org } }`);
  });
  afterAll(async () => {
    await db?.end();
    await t?.stop();
  });

  it("registers accounts in bulk, per item, and upserts by external reference without an event for an identical resend", async () => {
    const input = [
      account("cust-1", { identifiers: [{ type: "EMAIL", value: " Mallory@Example.COM " }, { type: "PAYMENT_CARD", value: "4111 1111 1111 1111" }] }),
      account("cust-2", { kind: "TRIAL", holderType: "ENTITY", holderJurisdiction: "US", usPerson: true, status: "PENDING_VERIFICATION" }),
      account("cust-3", { holderJurisdiction: "XX" }),
    ];
    const first = (await ok(A, REGISTER, { in: input })).registerAccounts;
    expect(first).toMatchObject({ registered: 2, unchanged: 0, failed: 1 });
    expect(first.results.map((r: any) => r.index)).toEqual([0, 1, 2]);
    const [one, two, bad] = first.results;
    expect(one).toMatchObject({ changed: true, error: null, account: { externalRef: "cust-1", kind: "STANDARD", holderJurisdiction: "RO", status: "ACTIVE", closedAt: null } });
    expect(one.account.id).toMatch(/^account--[0-9a-f-]{36}$/);
    // Keyed hashes only: two identifiers, 32-byte HMACs in hex, under the current key.
    expect(one.account.identifiers).toHaveLength(2);
    for (const h of one.account.identifiers) expect(h.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(two.account).toMatchObject({ kind: "TRIAL", holderType: "ENTITY", usPerson: true, status: "PENDING_VERIFICATION" });
    expect(bad).toEqual({ index: 2, changed: false, account: null, error: { field: "holderJurisdiction", message: expect.stringMatching(/^holderJurisdiction: .*ISO 3166-1 alpha-2/), code: "BAD_USER_INPUT" } });
    expect(await events(A)).toHaveLength(2);
    const [event] = await events(A);
    // The event says what changed, never an identifier nor the external reference.
    expect(Object.keys(event.payload).sort()).toEqual(["holder_jurisdiction", "id", "kind", "provider", "status"]);

    // The same batch again: nothing written, no event, the stored accounts answered.
    const again = (await ok(A, REGISTER, { in: input.slice(0, 2) })).registerAccounts;
    expect(again).toMatchObject({ registered: 2, unchanged: 2, failed: 0 });
    expect(again.results.map((r: any) => [r.changed, r.account.id])).toEqual([
      [false, one.account.id],
      [false, two.account.id],
    ]);
    // The e-mail written differently is the same identifier: still unchanged.
    const same = (await ok(A, REGISTER, { in: [account("cust-1", { identifiers: [{ type: "PAYMENT_CARD", value: "4111-1111-1111-1111" }, { type: "EMAIL", value: "mallory@example.com" }] })] })).registerAccounts;
    expect(same.results[0]).toMatchObject({ changed: false, account: { id: one.account.id } });
    expect(await events(A)).toHaveLength(2);

    // A change is an update of the same account, with one event.
    const closed = (await ok(A, REGISTER, { in: [account("cust-1", { status: "CLOSED" })] })).registerAccounts;
    expect(closed.results[0]).toMatchObject({ changed: true, account: { id: one.account.id, status: "CLOSED" } });
    expect(closed.results[0].account.closedAt).not.toBeNull();
    // Identifiers not given are kept.
    expect(closed.results[0].account.identifiers).toHaveLength(2);
    expect(await events(A)).toHaveLength(3);
    expect(await stored(A)).toBe(2);
  });

  it("refuses bad items naming the item and the field, and stores nothing of them", async () => {
    const input = [
      account("bad-email", { identifiers: [{ type: "EMAIL", value: "no-at-sign.example.com" }] }),
      account("bad-phone", { identifiers: [{ type: "EMAIL", value: "ok@example.com" }, { type: "PHONE", value: "555-0143" }] }),
      account("bad-iso", { holderJurisdiction: "ZZ" }),
      account("bad-lower", { holderJurisdiction: "us" }),
      account(""),
      account(" padded "),
      account("bad-card", { identifiers: [{ type: "PAYMENT_CARD", value: "4111 1111 1111 1112" }] }),
      account("bad-closed", { closedAt: new Date().toISOString() }),
      account("bad-opened", { openedAt: new Date(Date.now() + 86_400_000).toISOString() }),
      account("x".repeat(201)),
      account("bad-surrogate\ud800"),
    ];
    const res = (await ok(B, REGISTER, { in: input })).registerAccounts;
    expect(res).toMatchObject({ registered: 0, failed: input.length });
    expect(res.results.map((r: any) => r.error.field)).toEqual([
      "identifiers[0].value",
      "identifiers[1].value",
      "holderJurisdiction",
      "holderJurisdiction",
      "externalRef",
      "externalRef",
      "identifiers[0].value",
      "closedAt",
      "openedAt",
      "externalRef",
      "externalRef",
    ]);
    for (const r of res.results) {
      expect(r.account).toBeNull();
      expect(r.error.message.startsWith(`${r.error.field}: `), r.error.message).toBe(true);
    }
    expect(res.results[0].error.message).toMatch(/e-mail/);
    expect(res.results[1].error.message).toMatch(/E\.164/);
    // No raw value is echoed back.
    expect(JSON.stringify(res)).not.toMatch(/no-at-sign|555-0143|4111 1111 1111 1112/);
    expect(await stored(B)).toBe(0);
    expect(await events(B)).toHaveLength(0);
  });

  it("refuses an unknown identifier type and more than 5,000 accounts in one call, whole", async () => {
    const unknown = await t.gql(REGISTER, { in: [account("u-1", { identifiers: [{ type: "IMEI", value: "490154203237518" }] })] }, tokens[B]);
    expect(unknown.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(unknown.errors?.[0]?.message).toMatch(/in\[0\]\.identifiers\[0\]\.type.*does not exist in "IdentifierType" enum/);
    expect(unknown.errors?.[0]?.message).not.toMatch(/IMEI/);

    const many = Array.from({ length: 5001 }, (_, i) => ({ externalRef: `m${i}`, kind: "TRIAL", holderType: "ENTITY", holderJurisdiction: "DE", usPerson: false }));
    const tooMany = await t.gql(REGISTER, { in: many }, tokens[B]);
    expect(tooMany.data?.registerAccounts ?? null, JSON.stringify(tooMany)).toBeNull();
    expect(tooMany.errors?.[0]).toMatchObject({ message: expect.stringMatching(/^input: at most 5000 (values|accounts per call) \(got 5001\)/), extensions: { code: "BAD_USER_INPUT", field: "input" } });
    expect(await stored(B)).toBe(0);
  });

  it("shows accounts to their provider only, in lists, counts and by id", async () => {
    const refs = ["vis-1", "vis-2", "vis-3"];
    const made = (await ok(B, REGISTER, { in: refs.map((r) => account(r)) })).registerAccounts;
    const ids = made.results.map((r: any) => r.account.id);

    // B pages through its own three; A sees none of them.
    const page1 = (await ok(B, LIST, { f: { mine: true } })).accounts;
    expect(page1.totalCount).toBe(3);
    expect(page1.edges.map((e: any) => e.node.externalRef)).toEqual(["vis-3", "vis-2"]);
    const page2 = (await ok(B, LIST, { f: { mine: true }, after: page1.pageInfo.endCursor })).accounts;
    expect(page2.edges.map((e: any) => e.node.externalRef)).toEqual(["vis-1"]);
    expect(page2.pageInfo.hasNextPage).toBe(false);
    expect((await ok(B, GET, { id: ids[0] })).account).toMatchObject({ id: ids[0], provider: B, externalRef: "vis-1", holderType: "INDIVIDUAL" });

    const theirs = (await ok(A, `{ accounts(first: 500) { totalCount edges { node { id } } } }`)).accounts;
    expect(theirs.edges.map((e: any) => e.node.id)).not.toContain(ids[0]);
    expect(theirs.totalCount).toBe(theirs.edges.length);
    expect((await ok(A, GET, { id: ids[0] })).account).toBeNull();
    // An absent account answers the same.
    expect((await ok(A, GET, { id: "account--00000000-0000-4000-8000-000000000000" })).account).toBeNull();
    const notAnId = await t.gql(GET, { id: "acct-1" }, tokens[A]);
    expect(notAnId.data.account).toBeNull();

    // B flags its own account GREEN: A now sees it, with the flag's view of it only.
    const flagged = (await ok(B, FLAG, { in: { accountId: ids[0], category: "FRAUD", confidence: 80, tlp: "GREEN" } })).flagAccount;
    expect(flagged.error).toBeNull();
    const seen = (await ok(A, GET, { id: ids[0] })).account;
    // The provider raised the flag, so it shares the reference with whoever sees the flag.
    expect(seen).toMatchObject({ id: ids[0], provider: B, externalRef: "vis-1", kind: "STANDARD", holderJurisdiction: "RO", holderType: null, usPerson: null, status: null });
    expect((await ok(A, LIST, { f: { flagged: true } })).accounts.edges.map((e: any) => e.node.id)).toContain(ids[0]);
    expect((await ok(A, GET, { id: ids[1] })).account).toBeNull();
  });

  it("needs the accounts scopes", async () => {
    const none = await t.token(orgId("acr-noscope"), "PROVIDER", ["indicators:read"]);
    const read = await t.gql(`{ accounts { totalCount } }`, {}, none);
    expect(read.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    const write = await t.gql(REGISTER, { in: [account("s-1")] }, await t.token(A, "PROVIDER", ["accounts:read"]));
    expect(write.errors?.[0]).toMatchObject({ message: "this operation needs the scope 'accounts:write'", extensions: { code: "FORBIDDEN" } });
  });
});
