import "reflect-metadata";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { orgId, startTestHub, testClock, type TestHub } from "./support/hub.js";
import { ok, registerAccounts } from "./support/resellers.js";
import { CUSTOMER_RECORD, openRecord, SET_STATUS } from "./support/verification.js";

/**
 * Retention through the gateway, with the hub's clock moved by hand: a closed record is kept until the
 * later of closure and last access plus CIP_RETENTION_DAYS (730), then purged with its checks, index
 * entries, status history and access events; a legal hold keeps it; another provider's records are
 * never touched; the hourly timer purges for every provider; every hold and purge is audited.
 */

const HOLD = `mutation($id: ID!, $r: String!) { placeLegalHold(recordId: $id, reason: $r) { record { id legalHold retainUntil } error { field message code } } }`;
const RELEASE = `mutation($id: ID!) { releaseLegalHold(recordId: $id) { record { id legalHold } error { field message code } } }`;
const PURGE = `mutation { purgeExpiredRecords { purged accessEventsPurged heldBack } }`;
const ACCESS = `mutation($in: [AccessEventInput!]!) { recordAccessEvents(input: $in) { accepted rejected { index field message } } }`;
const CHAIN = `query { verifyAuditChain { ok checked firstBroken } }`;
const DAY = 86_400_000;

describe("retention: legal holds and the purge", () => {
  const clock = testClock();
  let t: TestHub;
  let db: pg.Client;
  const P = orgId("ret-provider");
  const Q = orgId("ret-other-provider");
  const R = orgId("ret-timer-provider");
  const A = orgId("ret-agency");
  const tok: Record<string, string> = {};
  let acct: string[];
  let rec: any[];
  let qAcct: string, qRec: any;

  const uuid = (id: string) => id.split("--")[1]!;
  const close = async (token: string, recordId: string) => {
    const res = (await ok(t, token, SET_STATUS, { id: recordId, s: "CLOSED", r: "account closed by the customer" })).setVerificationStatus;
    expect(res.error).toBeNull();
    return res.record;
  };
  const access = async (token: string, accountId: string, at: Date, ip = "203.0.113.9") => {
    const res = (await ok(t, token, ACCESS, { in: [{ accountId, ip, at: at.toISOString(), action: "ACCESS" }] })).recordAccessEvents;
    expect(res.rejected).toEqual([]);
  };
  const hold = async (token: string, id: string, r = "litigation hold, matter 2026-114") => (await ok(t, token, HOLD, { id, r })).placeLegalHold;
  const purge = async (token: string) => (await ok(t, token, PURGE)).purgeExpiredRecords;
  const rows = async (table: string, column: string, ids: string[]) =>
    Number((await db.query(`select count(*) from verification.${table} where ${column} = any($1::uuid[])`, [ids])).rows[0].count);
  const trail = async (org: string) =>
    (await db.query("select action, actor_org, record_id, detail from verification.audit_trail where org = $1 order by seq", [org])).rows as any[];

  beforeAll(async () => {
    t = await startTestHub({}, { clock: clock.now });
    db = new pg.Client({ connectionString: inject("databaseUrl") });
    await db.connect();
    const provider = ["accounts:read", "accounts:write", "verification:read", "verification:write"];
    for (const org of [P, Q, R]) tok[org] = await t.token(org, "PROVIDER", provider);
    tok[A] = await t.token(A, "AGENCY", ["verification:disclose", "verification:read", "verification:write"]);
    acct = await registerAccounts(t, tok[P]!, Array.from({ length: 4 }, () => ({ jurisdiction: "FR" })));
    rec = [];
    for (const a of acct) rec.push(await openRecord(t, tok[P]!, a));
    [qAcct] = await registerAccounts(t, tok[Q]!, [{ jurisdiction: "DE" }]);
    qRec = await openRecord(t, tok[Q]!, qAcct!);
  });
  afterAll(async () => {
    await db?.end();
    await t?.stop();
  });

  it("the hourly timer purges, for every provider, the records past their date, audited as the hub's act", async () => {
    const [rAcct] = await registerAccounts(t, tok[R]!, [{ jurisdiction: "BR" }]);
    const r = await openRecord(t, tok[R]!, rAcct!);
    await close(tok[R]!, r.id);
    // As if two years had passed for this one record: its date is yesterday by the hub's clock.
    await db.query("update verification.customer_record set retain_until = $2 where id = $1", [uuid(r.id), new Date(clock.now().getTime() - DAY)]);
    const pruned = await t.hub.prune();
    expect(pruned.subgraphs.verification).toEqual({ records: expect.any(Number), accessEvents: expect.any(Number) });
    expect(await rows("customer_record", "id", [uuid(r.id)])).toBe(0);
    // Whichever hub's timer got there (test runs share the database), the provider's chain says so.
    const purges = (await trail(R)).filter((l) => l.action === "RECORDS_PURGED");
    expect(purges).toEqual([expect.objectContaining({ actor_org: "hub", detail: expect.objectContaining({ purged: 1, heldBack: 0 }) })]);
    expect((await ok(t, tok[R]!, CHAIN)).verifyAuditChain.ok).toBe(true);
    // Nothing of P's or Q's, none of them past its date, was touched.
    expect(await rows("customer_record", "id", [...rec.map((x) => uuid(x.id)), uuid(qRec.id)])).toBe(5);
  });

  it("places and releases legal holds on the provider's own records only, naming what is wrong", async () => {
    const [r0, r1, r2] = rec;
    expect((await hold(tok[Q]!, r1.id)).error).toMatchObject({ field: "recordId", code: "NOT_FOUND" });
    // An agency, even one with the scopes, holds nothing of a provider's.
    expect((await hold(tok[A]!, r1.id)).error).toMatchObject({ field: "recordId", code: "NOT_FOUND" });
    expect((await t.gql(HOLD, { id: r1.id, r: "x" }, await t.token(P, "PROVIDER", ["verification:read"]))).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect((await hold(tok[P]!, "customer-record--1")).error).toMatchObject({ field: "recordId", code: "BAD_USER_INPUT" });
    expect((await hold(tok[P]!, r1.id, " \t")).error).toMatchObject({ field: "reason", code: "BAD_USER_INPUT" });
    expect((await hold(tok[P]!, r1.id, "x".repeat(1001))).error).toMatchObject({ field: "reason" });
    expect((await ok(t, tok[P]!, RELEASE, { id: r0.id })).releaseLegalHold.error).toMatchObject({ field: "recordId", code: "BAD_USER_INPUT" });

    const held = await hold(tok[P]!, r1.id);
    expect(held).toMatchObject({ error: null, record: { id: r1.id, legalHold: true } });
    const reason = async () => (await db.query("select legal_hold_reason from verification.customer_record where id = $1", [uuid(r1.id)])).rows[0].legal_hold_reason;
    expect(await reason()).toBe("litigation hold, matter 2026-114");
    // A second hold on a held record replaces the reason; one release ends it.
    expect((await hold(tok[P]!, r1.id, "  litigation hold, matter 2026-114 and 2026-131 ")).record.legalHold).toBe(true);
    expect(await reason()).toBe("litigation hold, matter 2026-114 and 2026-131");
    expect((await ok(t, tok[P]!, CUSTOMER_RECORD, { a: acct[1] })).customerRecord.legalHold).toBe(true);
    expect(r2.legalHold).toBe(false);
  });

  it("purges closed records once the later of closure and last access is CIP_RETENTION_DAYS behind, holds and other providers aside", async () => {
    const [r0, r1, , r3] = rec;
    // r0: used an hour ago, then closed. r1: closed, on hold. r2: never closed. r3: closed, used again 400 days on.
    await access(tok[P]!, acct[0]!, new Date(clock.now().getTime() - 3600_000));
    await access(tok[P]!, acct[0]!, new Date(clock.now().getTime() - 7200_000), "2001:db8::5");
    for (const r of [r0, r1, r3]) await close(tok[P]!, r.id);
    await close(tok[Q]!, qRec.id);
    const closed = (await ok(t, tok[P]!, CUSTOMER_RECORD, { a: acct[0] })).customerRecord;
    expect(new Date(closed.retainUntil).getTime()).toBe(new Date(closed.closedAt).getTime() + 730 * DAY);

    // Nothing is due yet.
    expect(await purge(tok[P]!)).toEqual({ purged: 0, accessEventsPurged: 0, heldBack: 0 });
    clock.advance(400);
    await access(tok[P]!, acct[3]!, clock.now());
    clock.advance(330.5);
    expect(await purge(tok[P]!)).toEqual({ purged: 1, accessEventsPurged: 2, heldBack: 1 });

    const gone = [uuid(r0.id)];
    for (const [table, column] of [["customer_record", "id"], ["verification_check", "record_id"], ["record_index", "record_id"], ["status_change", "record_id"]] as const) {
      expect(await rows(table, column, gone), table).toBe(0);
    }
    expect(await rows("access_event", "account_id", [uuid(acct[0]!)])).toBe(0);
    expect((await ok(t, tok[P]!, CUSTOMER_RECORD, { a: acct[0] })).customerRecord).toBeNull();
    // Kept: the held record, the open one, the one used later (with its access event), and the other provider's, as expired as r0.
    expect(await rows("customer_record", "id", [uuid(rec[1].id), uuid(rec[2].id), uuid(r3.id), uuid(qRec.id)])).toBe(4);
    expect(await rows("record_index", "record_id", [uuid(rec[1].id)])).toBeGreaterThan(0);
    expect(await rows("access_event", "account_id", [uuid(acct[3]!)])).toBe(1);

    // The other provider purges its own; an agency purges nothing of anyone's.
    expect((await t.gql(PURGE, {}, await t.token(A, "AGENCY", ["verification:disclose"]))).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect(await purge(tok[A]!)).toEqual({ purged: 0, accessEventsPurged: 0, heldBack: 0 });
    expect(await purge(tok[Q]!)).toEqual({ purged: 1, accessEventsPurged: 0, heldBack: 0 });

    // Released, the held record goes at the next purge; the one used later goes when its own date passes.
    expect((await ok(t, tok[P]!, RELEASE, { id: r1.id })).releaseLegalHold).toMatchObject({ error: null, record: { legalHold: false } });
    expect(await purge(tok[P]!)).toEqual({ purged: 1, accessEventsPurged: 0, heldBack: 0 });
    clock.advance(400);
    expect(await purge(tok[P]!)).toEqual({ purged: 1, accessEventsPurged: 1, heldBack: 0 });
    expect(await rows("customer_record", "id", [uuid(rec[2].id)])).toBe(1);
  });

  it("every hold, release and purge is in the provider's audit trail with its counts, and the chain holds", async () => {
    const links = await trail(P);
    const of = (action: string) => links.filter((l) => l.action === action);
    expect(of("LEGAL_HOLD_PLACED").map((l) => [l.record_id, l.detail.replaced])).toEqual([
      [uuid(rec[1].id), false],
      [uuid(rec[1].id), true],
    ]);
    expect(of("LEGAL_HOLD_RELEASED").map((l) => l.record_id)).toEqual([uuid(rec[1].id)]);
    expect(of("RECORDS_PURGED").map((l) => [l.detail.purged, l.detail.accessEventsPurged, l.detail.heldBack])).toEqual([
      [0, 0, 0],
      [1, 2, 1],
      [1, 0, 0],
      [1, 1, 0],
    ]);
    expect(of("RECORDS_PURGED").every((l) => l.actor_org === P)).toBe(true);
    // The reason of a hold is the provider's text about a matter: it is not copied into the trail.
    expect(JSON.stringify(of("LEGAL_HOLD_PLACED"))).not.toContain("2026-114");
    expect((await trail(Q)).filter((l) => l.action === "RECORDS_PURGED").map((l) => l.detail.purged)).toEqual([1]);
    expect((await ok(t, tok[P]!, CHAIN)).verifyAuditChain).toMatchObject({ ok: true, firstBroken: null });
  });
});
