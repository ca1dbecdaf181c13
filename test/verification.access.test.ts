import "reflect-metadata";
import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ACCESS_HISTORY_PAGE_SQL, ACCOUNTS_SEEN_SQL } from "../subgraphs/verification/access.service.js";
import { capturedLog, orgId, startTestHub, type TestHub } from "./support/hub.js";
import { ok, registerAccounts } from "./support/resellers.js";
import { openRecord, SET_STATUS } from "./support/verification.js";

/**
 * The access log through the gateway: batches checked item by item (only the good stored, each bad
 * one named by index and field, its value never echoed), 10,000 events in one call, history pages,
 * address and network lookups of both families, nothing of another provider's accounts ever answered
 * or revealed, last access moving a closed record's retention date, and the scopes.
 */

const RECORD = `mutation($in: [AccessEventInput!]!) { recordAccessEvents(input: $in) { accepted duplicates rejected { index field message code } } }`;
const HISTORY = `query($a: ID!, $from: DateTime, $to: DateTime, $first: Int, $after: String) {
  accessHistory(accountId: $a, from: $from, to: $to, first: $first, after: $after) { edges { cursor node { accountId ip at action } } pageInfo { hasNextPage endCursor } } }`;
const SEEN = `query($ip: String!, $from: DateTime, $to: DateTime) { accountsSeenFromIp(ip: $ip, from: $from, to: $to) { accountId firstSeen lastSeen events } }`;

const DAY = 86_400_000;
const ago = (ms: number) => new Date(Date.now() - ms).toISOString();

describe("the access log", () => {
  let t: TestHub;
  let db: pg.Client;
  const P = orgId("acl-provider");
  const Q = orgId("acl-other-provider");
  const A = orgId("acl-agency");
  const N = orgId("acl-noscope");
  const tok: Record<string, string> = {};
  let mine: string[];
  let theirs: string[];

  const events = async (org: string) =>
    Number((await db.query("select count(*) from verification.access_event where owner = $1", [org])).rows[0].count);
  const record = (token: string, input: unknown[]) => t.gql(RECORD, { in: input }, token);
  const history = async (token: string, a: string, vars: Record<string, unknown> = {}) => (await ok(t, token, HISTORY, { a, ...vars })).accessHistory;
  const seen = async (token: string, ip: string, vars: Record<string, unknown> = {}) => (await ok(t, token, SEEN, { ip, ...vars })).accountsSeenFromIp as any[];

  beforeAll(async () => {
    t = await startTestHub();
    db = new pg.Client({ connectionString: inject("databaseUrl") });
    await db.connect();
    const all = ["accounts:read", "accounts:write", "verification:read", "verification:write"];
    tok[P] = await t.token(P, "PROVIDER", all);
    tok[Q] = await t.token(Q, "PROVIDER", all);
    tok[A] = await t.token(A, "AGENCY", ["verification:read", "verification:disclose"]);
    tok[N] = await t.token(N, "PROVIDER", ["accounts:read", "accounts:write"]);
    mine = await registerAccounts(t, tok[P]!, Array.from({ length: 12 }, () => ({ jurisdiction: "FR" })));
    theirs = await registerAccounts(t, tok[Q]!, [{ jurisdiction: "DE" }]);
  });
  afterAll(async () => {
    await db?.end();
    await t?.stop();
  });

  it("a batch with bad items stores only the good ones and names each bad one by index and field, never its value", async () => {
    const before = await events(P);
    const unknown = "account--00000000-0000-4000-8000-00000000abcd";
    const input = [
      { accountId: mine[0], ip: "192.0.2.10", at: ago(DAY), action: "ACCESS" },
      { accountId: "acct-7", ip: "192.0.2.11", at: ago(DAY), action: "ACCESS" },
      { accountId: mine[0], ip: "192.0.2.300", at: ago(DAY), action: "ACCESS" },
      { accountId: mine[0], ip: "fe80::1%eth0", at: ago(DAY), action: "ADMIN" },
      { accountId: mine[0], ip: "2001:db8::77", at: ago(-DAY), action: "ADMIN" },
      { accountId: mine[0], ip: "2001:db8::78", at: "1970-01-02T00:00:00Z", action: "ADMIN" },
      { accountId: theirs[0], ip: "192.0.2.12", at: ago(DAY), action: "ACCESS" },
      { accountId: unknown, ip: "192.0.2.13", at: ago(DAY), action: "ACCESS" },
      { accountId: mine[1], ip: "2001:DB8::1", at: ago(2 * DAY), action: "ADMIN" },
    ];
    const res = (await ok(t, tok[P]!, RECORD, { in: input })).recordAccessEvents;
    expect(res.accepted).toBe(2);
    expect(res.duplicates).toBe(0);
    expect(res.rejected.map((r: any) => [r.index, r.field, r.code])).toEqual([
      [1, "input[1].accountId", "BAD_USER_INPUT"],
      [2, "input[2].ip", "BAD_USER_INPUT"],
      [3, "input[3].ip", "BAD_USER_INPUT"],
      [4, "input[4].at", "BAD_USER_INPUT"],
      [5, "input[5].at", "BAD_USER_INPUT"],
      [6, "input[6].accountId", "NOT_FOUND"],
      [7, "input[7].accountId", "NOT_FOUND"],
    ]);
    // Another provider's account and one that does not exist get the same words.
    expect(res.rejected[5].message).toBe(res.rejected[6].message.replace("input[7]", "input[6]"));
    const said = JSON.stringify(res.rejected);
    for (const value of ["acct-7", "192.0.2.300", "fe80::1", "2001:db8::77", "2001:db8::78", "192.0.2.12", "192.0.2.13", theirs[0]!.slice(9), "abcd"]) expect(said).not.toContain(value);
    expect(await events(P)).toBe(before + 2);
    expect(await events(Q)).toBe(0);
    const { rows } = await db.query("select host(ip) as ip, action from verification.access_event where owner = $1 order by at desc", [P]);
    expect(rows).toEqual([{ ip: "192.0.2.10", action: "ACCESS" }, { ip: "2001:db8::1", action: "ADMIN" }]);

    // The same batch again: accepted, stored nothing twice.
    const again = (await ok(t, tok[P]!, RECORD, { in: input })).recordAccessEvents;
    expect([again.accepted, again.duplicates, again.rejected.length]).toEqual([2, 2, 7]);
    expect(await events(P)).toBe(before + 2);
    // A repeat beside a new event: the new one is stored, the repeat skipped.
    const mixed = (await ok(t, tok[P]!, RECORD, { in: [input[0], { ...input[0], action: "ADMIN" }] })).recordAccessEvents;
    expect([mixed.accepted, mixed.duplicates, mixed.rejected.length]).toEqual([2, 1, 0]);
    expect(await events(P)).toBe(before + 3);

    // Audited once per call, with counts and never an address.
    const { rows: trail } = await db.query("select t::text as row from verification.audit_trail t where t.org = $1 and t.action = 'ACCESS_EVENTS_RECORDED'", [P]);
    expect(trail.length).toBe(3);
    for (const r of trail) for (const ip of ["192.0.2.10", "2001:db8::1"]) expect(r.row).not.toContain(ip);
  });

  it("takes 10,000 events in one call, into the partitions of the months they fall in", async () => {
    const account = mine[2]!;
    const input = Array.from({ length: 10_000 }, (_, i) => ({
      accountId: account,
      ip: i % 2 ? `10.${(i >> 8) & 255}.${i & 255}.1` : `2001:db8:aa::${i.toString(16)}`,
      // Spread over about 90 days: three or four months.
      at: new Date(Date.now() - DAY - i * 780_000).toISOString(),
      action: i % 10 ? "ACCESS" : "ADMIN",
    }));
    const res = (await ok(t, tok[P]!, RECORD, { in: input })).recordAccessEvents;
    expect([res.accepted, res.duplicates, res.rejected.length]).toEqual([10_000, 0, 0]);
    const { rows } = await db.query(
      `select c.relname as partition, count(*)::int as n from verification.access_event e join pg_class c on c.oid = e.tableoid
        where e.owner = $1 and e.account_id = $2 group by 1 order by 1`,
      [P, account.slice(9)],
    );
    expect(rows.reduce((n, r) => n + r.n, 0)).toBe(10_000);
    expect(rows.length).toBeGreaterThanOrEqual(3);
    for (const r of rows) expect(r.partition).toMatch(/^access_event_\d{4}_\d{2}$/);

    const over = await record(tok[P]!, [...input, input[0]]);
    expect(over.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(over.errors?.[0]?.message).toMatch(/at most 10000/);
  });

  it("pages an account's history newest first, inside a window, to the provider only", async () => {
    const account = mine[3]!;
    const base = Date.now() - 10 * DAY;
    // Ties on time (two addresses, two actions at one instant) must page without loss or repeat.
    const input = Array.from({ length: 25 }, (_, i) => ({
      accountId: account,
      ip: i % 2 ? "198.51.100.7" : "2001:db8:5::7",
      at: new Date(base + Math.floor(i / 4) * 3_600_000).toISOString(),
      action: i % 4 < 2 ? "ACCESS" : "ADMIN",
    }));
    expect((await ok(t, tok[P]!, RECORD, { in: input })).recordAccessEvents.accepted).toBe(25);
    const seenNodes: any[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const page: any = await history(tok[P]!, account, { first: 10, after });
      seenNodes.push(...page.edges.map((e: any) => e.node));
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
      pages++;
    } while (after);
    expect(pages).toBe(3);
    expect(seenNodes.length).toBe(25);
    expect(new Set(seenNodes.map((n) => `${n.at}|${n.ip}|${n.action}`)).size).toBe(25);
    const times = seenNodes.map((n) => Date.parse(n.at));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(seenNodes.every((n) => n.accountId === account)).toBe(true);

    const window = await history(tok[P]!, account, { from: new Date(base + 3_600_000).toISOString(), to: new Date(base + 3 * 3_600_000).toISOString(), first: 100 });
    expect(window.edges.length).toBe(8);

    const badCursor = await t.gql(HISTORY, { a: account, after: "not-a-cursor" }, tok[P]);
    expect(badCursor.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    const badWindow = await t.gql(HISTORY, { a: account, from: ago(0), to: ago(DAY) }, tok[P]);
    expect(badWindow.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");

    // Another provider, and an agency without a disclosure, get what an account that does not exist gets.
    const answers = await Promise.all([
      t.gql(HISTORY, { a: account }, tok[Q]),
      t.gql(HISTORY, { a: account }, tok[A]),
      t.gql(HISTORY, { a: "account--00000000-0000-4000-8000-00000000dcba" }, tok[Q]),
    ]);
    for (const a of answers) {
      expect(a.data?.accessHistory ?? null).toBeNull();
      expect(a.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
      expect(a.errors?.[0]?.message).toBe(answers[0]!.errors?.[0]?.message);
    }

    // An agency reads it while a disclosure the provider approved runs (here written straight to the
    // table: the disclosure workflow has tests of its own), and not once it has ended; audited on the provider's chain.
    // An approval is of the account's record (the workflow refuses one without), so the account gets one first.
    const disclosedRecord = await openRecord(t, tok[P]!, account);
    const grant = randomUUID();
    await db.query(
      `insert into verification.disclosure_request (id, owner, account_id, record_id, requester, requested_by, legal_basis, status, requested_at, decided_at, decided_by, access_until)
       values ($1, $2, $3, $4, $5, 'officer', 'test warrant', 'APPROVED', now(), now(), 'compliance', now() + interval '1 day')`,
      [grant, P, account.slice(9), disclosedRecord.id.slice(-36), A],
    );
    const disclosed = await history(tok[A]!, account, { first: 100 });
    expect(disclosed.edges.length).toBe(25);
    const { rows: trail } = await db.query("select detail from verification.audit_trail where org = $1 and action = 'ACCESS_HISTORY_READ' and actor_org = $2", [P, A]);
    expect(trail.map((r) => r.detail)).toEqual([{ events: 25, disclosure: grant }]);
    await db.query("update verification.disclosure_request set access_until = now() - interval '1 second' where id = $1", [grant]);
    expect((await t.gql(HISTORY, { a: account }, tok[A])).errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    // Nor does the grant open anything to the agency's network lookups.
    expect(await seen(tok[A]!, "198.51.100.0/24")).toEqual([]);
  });

  it("finds the provider's accounts by IPv4 and IPv6 address and network, in a window", async () => {
    // Addresses no other test of this file uses: 203.0.112.0/22 and 3fff::/20 (documentation ranges).
    const [a, b, c] = [mine[4]!, mine[5]!, mine[6]!];
    const now = Date.now();
    const at = (days: number) => new Date(now - days * DAY).toISOString();
    const input = [
      { accountId: a, ip: "203.0.113.5", at: at(5), action: "ACCESS" },
      { accountId: a, ip: "203.0.113.6", at: at(3), action: "ACCESS" },
      { accountId: b, ip: "203.0.113.200", at: at(4), action: "ADMIN" },
      { accountId: b, ip: "::ffff:203.0.114.9", at: at(4.2), action: "ACCESS" },
      { accountId: c, ip: "203.0.112.255", at: at(2), action: "ACCESS" },
      { accountId: a, ip: "3fff:0:1:2::5", at: at(6), action: "ACCESS" },
      { accountId: c, ip: "3fff:0:1:ffff::1", at: at(1), action: "ADMIN" },
      { accountId: b, ip: "3fff:0:2::5", at: at(1.5), action: "ACCESS" },
    ];
    expect((await ok(t, tok[P]!, RECORD, { in: input })).recordAccessEvents.accepted).toBe(8);
    // The same network in another provider's account.
    expect((await ok(t, tok[Q]!, RECORD, { in: [{ accountId: theirs[0], ip: "203.0.113.7", at: at(2), action: "ACCESS" }] })).recordAccessEvents.accepted).toBe(1);

    const v4 = await seen(tok[P]!, "203.0.113.0/24");
    expect(v4.map((s) => [s.accountId, s.events])).toEqual([[a, 2], [b, 1]]);
    expect([v4[0].firstSeen, v4[0].lastSeen]).toEqual([at(5), at(3)]);
    expect((await seen(tok[P]!, "203.0.113.200")).map((s) => s.accountId)).toEqual([b]);
    // Host bits past the prefix are ignored; the IPv4-mapped form was stored as IPv4.
    expect((await seen(tok[P]!, "203.0.113.77/23")).map((s) => s.accountId)).toEqual([c, a, b]);
    expect((await seen(tok[P]!, "203.0.114.9")).map((s) => [s.accountId, s.events])).toEqual([[b, 1]]);
    expect((await seen(tok[P]!, "::ffff:203.0.114.0/120")).map((s) => s.accountId)).toEqual([b]);
    expect((await seen(tok[P]!, "203.0.112.0/22")).map((s) => [s.accountId, s.events])).toEqual([[c, 1], [a, 2], [b, 2]]);

    expect((await seen(tok[P]!, "3fff:0:1::/48")).map((s) => [s.accountId, s.events])).toEqual([[c, 1], [a, 1]]);
    expect((await seen(tok[P]!, "3FFF::/16")).map((s) => s.accountId)).toEqual([c, b, a]);
    expect((await seen(tok[P]!, "3fff:0:2::5")).map((s) => s.accountId)).toEqual([b]);
    // The window: [from, to).
    expect((await seen(tok[P]!, "203.0.113.0/24", { from: at(4.5), to: at(3.5) })).map((s) => s.accountId)).toEqual([b]);
    expect(await seen(tok[P]!, "198.18.0.0/15")).toEqual([]);

    // Another provider sees only its own account in the same network; an agency gets nothing.
    expect((await seen(tok[Q]!, "203.0.113.0/24")).map((s) => s.accountId)).toEqual([theirs[0]]);
    expect(await seen(tok[Q]!, "3fff::/16")).toEqual([]);
    expect(await seen(tok[A]!, "203.0.113.0/24")).toEqual([]);

    for (const bad of ["203.0.113.0/33", "10.0.0.0/7", "::/0", "2001:db8::/15", "203.0.113", "example.org", "10.0.0.1/24/1", "fe80::1%eth0"]) {
      const res = await t.gql(SEEN, { ip: bad }, tok[P]);
      expect(res.errors?.[0]?.extensions?.code, bad).toBe("BAD_USER_INPUT");
      expect(res.errors?.[0]?.message, bad).not.toContain(bad);
    }
  });

  it("plans an address or network lookup and a history page as index ranges, also as generic plans", async () => {
    // The service's own statements, prepared and planned generically (parameters, not constants): the
    // network's bounds and the page position must still be index conditions.
    await db.query("begin");
    try {
      await db.query("set local enable_seqscan = off");
      await db.query("set local plan_cache_mode = force_generic_plan");
      await db.query(`prepare seen_plan as ${ACCOUNTS_SEEN_SQL}`);
      const seenPlan = (await db.query(`explain execute seen_plan('x', '203.0.113.0/24', '-infinity', 'infinity', 1000)`)).rows.map((r) => r["QUERY PLAN"]).join("\n");
      // Index conditions, not a filter, whichever of the two indexes the planner takes for the few rows here.
      expect(seenPlan).toMatch(/Index Cond: .*\(ip >= \(network\(\$2\)\)::inet\) AND \(ip <= set_masklen\(broadcast\(\$2\)/);
      await db.query(`prepare page_plan as ${ACCESS_HISTORY_PAGE_SQL}`);
      const pagePlan = (await db.query(`explain execute page_plan('x', '${randomUUID()}', '-infinity', 'infinity', null, null, null, 101)`)).rows.map((r) => r["QUERY PLAN"]).join("\n");
      expect(pagePlan).toMatch(/Index Cond: \(\(owner = \$1\) AND \(account_id = \$2\) AND .*\(ROW\(at, ip, action\) < /);
      expect(pagePlan).not.toMatch(/Filter: .*ROW/);
      expect(pagePlan).not.toMatch(/Sort Key: .*host/);
    } finally {
      await db.query("rollback");
      await db.query("deallocate all");
    }
  });

  it("never stores for, nor answers about, another provider's accounts", async () => {
    const before = await events(P);
    const res = (await ok(t, tok[Q]!, RECORD, { in: [{ accountId: mine[7], ip: "192.0.2.99", at: ago(DAY), action: "ACCESS" }] })).recordAccessEvents;
    expect(res.accepted).toBe(0);
    expect(res.rejected.map((r: any) => [r.field, r.code])).toEqual([["input[0].accountId", "NOT_FOUND"]]);
    expect(await events(P)).toBe(before);
    const { rows } = await db.query("select count(*)::int as n from verification.access_event where account_id = $1", [mine[7]!.slice(9)]);
    expect(rows[0].n).toBe(0);
    // An agency records nothing at all.
    const agency = await t.token(A, "AGENCY", ["verification:read", "verification:write"]);
    const refused = (await ok(t, agency, RECORD, { in: [{ accountId: mine[7], ip: "192.0.2.98", at: ago(DAY), action: "ACCESS" }] })).recordAccessEvents;
    expect(refused.rejected.map((r: any) => r.code)).toEqual(["FORBIDDEN"]);
  });

  it("moves the customer record's last access, and a closed record's retention date with it", async () => {
    const account = mine[8]!;
    const opened = await openRecord(t, tok[P]!, account);
    expect(opened.lastAccessAt).toBeNull();
    const closed = (await ok(t, tok[P]!, SET_STATUS, { id: opened.id, s: "CLOSED", r: "customer left" })).setVerificationStatus;
    expect(closed.error).toBeNull();
    const closedAt = Date.parse(closed.record.closedAt);
    const retention = async () => (await db.query("select last_access_at, retain_until from verification.customer_record where account_id = $1", [account.slice(9)])).rows[0];
    const days = 730 * DAY;
    expect((await retention()).retain_until.getTime()).toBe(closedAt + days);

    const later = new Date(closedAt + 60_000);
    const earlier = new Date(closedAt - 10 * DAY);
    expect((await ok(t, tok[P]!, RECORD, { in: [{ accountId: account, ip: "192.0.2.50", at: later.toISOString(), action: "ACCESS" }] })).recordAccessEvents.accepted).toBe(1);
    let r = await retention();
    expect(r.last_access_at.getTime()).toBe(later.getTime());
    expect(r.retain_until.getTime()).toBe(later.getTime() + days);
    // An older event, reported late, moves neither back.
    expect((await ok(t, tok[P]!, RECORD, { in: [{ accountId: account, ip: "192.0.2.51", at: earlier.toISOString(), action: "ADMIN" }] })).recordAccessEvents.accepted).toBe(1);
    r = await retention();
    expect(r.last_access_at.getTime()).toBe(later.getTime());
    expect(r.retain_until.getTime()).toBe(later.getTime() + days);

    // An open record: last access moves, its retention date waits for closure.
    const openAccount = mine[9]!;
    const open = await openRecord(t, tok[P]!, openAccount);
    expect((await ok(t, tok[P]!, RECORD, { in: [{ accountId: openAccount, ip: "192.0.2.52", at: ago(60_000), action: "ACCESS" }] })).recordAccessEvents.accepted).toBe(1);
    const { rows } = await db.query("select last_access_at, retain_until from verification.customer_record where account_id = $1", [openAccount.slice(9)]);
    expect(rows[0].last_access_at).not.toBeNull();
    expect(rows[0].retain_until).toBeNull();
    expect(open.id).toBeTruthy();

    // Access logged before the record was opened is its last access from the start.
    const early = mine[11]!;
    const seenAt = ago(3 * DAY);
    expect((await ok(t, tok[P]!, RECORD, { in: [{ accountId: early, ip: "192.0.2.53", at: seenAt, action: "ACCESS" }, { accountId: early, ip: "192.0.2.53", at: ago(5 * DAY), action: "ADMIN" }] })).recordAccessEvents.accepted).toBe(2);
    expect((await openRecord(t, tok[P]!, early)).lastAccessAt).toBe(seenAt);
  });

  it("refuses callers without the scopes", async () => {
    const write = await record(tok[N]!, [{ accountId: mine[10], ip: "192.0.2.1", at: ago(DAY), action: "ACCESS" }]);
    expect(write.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect(write.errors?.[0]?.message).toContain("verification:write");
    const read = await t.gql(HISTORY, { a: mine[0] }, tok[N]);
    expect(read.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    const lookup = await t.gql(SEEN, { ip: "192.0.2.0/24" }, tok[N]);
    expect(lookup.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    const readOnly = await t.token(P, "PROVIDER", ["verification:read"]);
    expect((await record(readOnly, [{ accountId: mine[10], ip: "192.0.2.1", at: ago(DAY), action: "ACCESS" }])).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect(await events(N)).toBe(0);
  });
});

describe("the access log's addresses in log lines", () => {
  let t: TestHub;
  const { log: captured, lines } = capturedLog();

  beforeAll(async () => {
    t = await startTestHub({ LOG_LEVEL: "trace" }, { log: captured });
  });
  afterAll(() => t?.stop());

  it("are never written, whether an event is stored, repeated, refused, read or looked up", async () => {
    const P = orgId("acl-logs");
    const token = await t.token(P, "PROVIDER", ["accounts:read", "accounts:write", "verification:read", "verification:write"]);
    const [account] = await registerAccounts(t, token, [{ jurisdiction: "FR" }]);
    const planted = ["198.18.77.41", "2001:db8:7777::41"];
    const input = [
      { accountId: account, ip: planted[0], at: ago(DAY), action: "ACCESS" },
      { accountId: account, ip: planted[1], at: ago(DAY), action: "ADMIN" },
      { accountId: account, ip: "198.18.77.300", at: ago(DAY), action: "ACCESS" },
    ];
    expect((await ok(t, token, RECORD, { in: input })).recordAccessEvents.accepted).toBe(2);
    // Sent again: the repeat takes the path where the log's unique key is broken and the batch written again.
    expect((await ok(t, token, RECORD, { in: input })).recordAccessEvents.duplicates).toBe(2);
    // A value GraphQL itself refuses (not a date-time) beside an address.
    const refused = await t.gql(RECORD, { in: [{ ...input[0], ip: "198.18.77.42", at: "yesterday-198.18.77.43" }] }, token);
    expect(refused.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(JSON.stringify(refused.errors)).not.toContain("198.18.77.4");
    expect((await history(t, token, account!)).edges.map((e: any) => e.node.ip).sort()).toEqual([...planted].sort());
    expect((await ok(t, token, SEEN, { ip: "198.18.77.41/32" })).accountsSeenFromIp).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 200));
    const log = lines.join("");
    // The lines are there (the gateway's library logs each request at this level); the addresses are not.
    expect(log).toContain("recordAccessEvents");
    for (const value of [...planted, "2001:db8:7777", "198.18.77"]) expect(log).not.toContain(value);
  });
});

async function history(t: TestHub, token: string, a: string): Promise<any> {
  return (await ok(t, token, HISTORY, { a })).accessHistory;
}
