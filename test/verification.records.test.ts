import { randomBytes, randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { orgId, startTestHub, testClock, type TestHub } from "./support/hub.js";
import { registerAccounts } from "./support/resellers.js";
import {
  ADD_CHECK,
  BY_IDENTIFIER,
  CUSTOMER_RECORD,
  OPEN_RECORD,
  openRecord,
  passCheck,
  recordInput,
  SET_OWNERS,
  SET_STATUS,
  setStatus,
  verifyRecord,
} from "./support/verification.js";

/**
 * Customer identification records through the gateway: opened for the provider's own accounts,
 * checked and moved through the verification workflow, read only by the provider (every read
 * audited), found by exact identifiers through the blind index, and stored sealed: a dump of every
 * table of the verification schema holds none of the personal values put in.
 */

const DAY = 24 * 3600 * 1000;
const ENTITIES = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Account { id verificationStatus } } }`;
const ACCOUNT_STATUS = `query($id: ID!) { account(id: $id) { id verificationStatus } }`;
const DUE = `query($first: Int, $after: String) { dueForReverification(first: $first, after: $after) { edges { cursor node { recordId accountId verifiedAt reverifyDueAt } } pageInfo { hasNextPage endCursor } } }`;

const tag = () => randomBytes(3).toString("hex").toUpperCase();

describe("customer identification records", () => {
  let t: TestHub;
  let db: pg.Client;
  const clock = testClock();
  const P = orgId("cip-prov");
  const Q = orgId("cip-other");
  const A = orgId("cip-agency");
  const tokens: Record<string, string> = {};
  /** P's token without any verification scope. */
  let unscoped: string;
  const orgs = [P, Q];

  /** Unused accounts of P, one per test that needs a fresh one. */
  const fresh: string[] = [];
  let qAccount: string;
  const account = () => fresh.shift()!;

  /** What P and Q have stored in the verification schema and the event log. */
  async function stored() {
    const { rows } = await db.query(
      `select (select count(*) from verification.customer_record where owner = any($1))::int as records,
              (select coalesce(sum(version), 0) from verification.customer_record where owner = any($1))::int as versions,
              (select count(*) from verification.record_index where owner = any($1))::int as index,
              (select count(*) from verification.verification_check c join verification.customer_record r on r.id = c.record_id where r.owner = any($1))::int as checks,
              (select count(*) from verification.status_change s join verification.customer_record r on r.id = s.record_id where r.owner = any($1))::int as changes,
              (select count(*) from verification.audit_trail where org = any($1))::int as audits,
              (select count(*) from hub.event where topic like 'verification.%' and owner_org = any($1))::int as events`,
      [orgs],
    );
    return rows[0];
  }

  /** A mutation answered with `error` naming `field` (and not `secrets`), and nothing stored by it. */
  async function refused(token: string, query: string, variables: Record<string, unknown>, expected: { field: string; code?: string; message?: RegExp }, secrets: string[] = []) {
    const before = await stored();
    const res = await t.gql(query, variables, token);
    expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
    const result = Object.values(res.data as Record<string, any>)[0];
    expect(result.record, JSON.stringify(result)).toBeNull();
    expect(result.error).toMatchObject({ field: expected.field, code: expected.code ?? "BAD_USER_INPUT" });
    expect(result.error.message.startsWith(`${expected.field}: `), result.error.message).toBe(true);
    if (expected.message) expect(result.error.message).toMatch(expected.message);
    for (const secret of secrets) expect(result.error.message.toLowerCase()).not.toContain(secret.toLowerCase());
    expect(await stored()).toEqual(before);
    return result.error;
  }

  async function read(token: string, accountId: string) {
    const res = await t.gql(CUSTOMER_RECORD, { a: accountId }, token);
    expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
    return res.data.customerRecord;
  }

  const auditsOf = async (recordUuid: string, action: string) =>
    (await db.query(`select count(*)::int as n from verification.audit_trail where record_id = $1 and action = $2`, [recordUuid, action])).rows[0].n as number;
  const uuidOf = (id: string) => id.slice(id.indexOf("--") + 2);

  beforeAll(async () => {
    t = await startTestHub({}, { clock: clock.now });
    const provider = ["accounts:read", "accounts:write", "verification:read", "verification:write"];
    tokens[P] = await t.token(P, "PROVIDER", provider);
    tokens[Q] = await t.token(Q, "PROVIDER", provider);
    tokens[A] = await t.token(A, "AGENCY", ["accounts:read", "verification:disclose"]);
    unscoped = await t.token(P, "PROVIDER", ["accounts:read", "accounts:write"]);
    fresh.push(...(await registerAccounts(t, tokens[P]!, Array.from({ length: 30 }, () => ({ jurisdiction: "FR" })))));
    [qAccount] = await registerAccounts(t, tokens[Q]!, [{ jurisdiction: "DE" }]);
    db = new pg.Client({ connectionString: inject("databaseUrl") });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
    await t?.stop();
  });

  it("opens a record for an account of the caller's own and reads it back decrypted, auditing every read", async () => {
    const acct = account();
    const verifiedAt = new Date(clock.now().getTime() - 3 * DAY).toISOString();
    const record = await openRecord(t, tokens[P]!, acct, {
      product: "compute",
      beneficialOwners: [{ kind: "ENTITY", names: ["Owner Holdings SARL"], addresses: [], organizedIn: "LU" }],
      emails: ["Someone.Else@Example.ORG"],
      phones: ["+33 1 44 55 66 77"],
      contactVerifications: [{ channel: "EMAIL", value: "someone.else@example.org", verifiedAt }],
    });
    expect(record).toMatchObject({
      accountId: acct,
      status: "PENDING",
      usPerson: false,
      usPersonReason: "individual: foreign (neither a US citizen nor a US permanent resident, and located outside the United States)",
      product: "compute",
      customer: { kind: "INDIVIDUAL", citizenship: ["FR"], dateOfBirth: "1985-07-14", usPerson: false },
      beneficialOwners: [{ kind: "ENTITY", organizedIn: "LU", usPerson: false, usPersonReason: "entity: foreign (organised and located outside the United States)" }],
      payments: [{ type: "CARD", cardNumber: "4111111111111111", institution: "Test Bank" }],
      emails: [{ value: "someone.else@example.org", verifiedAt }],
      phones: [{ value: "+33144556677", verifiedAt: null }],
      checks: [],
      verifiedAt: null,
      reverificationDue: false,
      closedAt: null,
      retainUntil: null,
      legalHold: false,
    });
    expect(record.id).toMatch(/^customer-record--[0-9a-f-]{36}$/);
    const uuid = uuidOf(record.id);
    expect(await auditsOf(uuid, "RECORD_OPENED")).toBe(1);

    expect(await read(tokens[P]!, acct)).toEqual(record);
    expect(await read(tokens[P]!, acct)).toEqual(record);
    expect(await auditsOf(uuid, "RECORD_READ")).toBe(2);
    // The audit links hold ids and statuses only; the chain holds.
    const { rows } = await db.query(`select detail::text from verification.audit_trail where record_id = $1`, [uuid]);
    for (const r of rows) expect(r.detail).not.toMatch(/Test Customer|example\.org|4111/);
    expect((await t.gql(`{ verifyAuditChain { ok checked firstBroken } }`, {}, tokens[P])).data.verifyAuditChain).toMatchObject({ ok: true, firstBroken: null });

    // One record per account, also when two opens race.
    const racing = account();
    const answers = await Promise.all([0, 1].map(() => t.gql(OPEN_RECORD, { in: recordInput(racing) }, tokens[P])));
    const outcomes = answers.map((a) => a.data.openCustomerRecord.error?.message ?? "opened").sort();
    expect(outcomes).toEqual(["accountId: this account already has a customer record", "opened"]);
    expect((await db.query(`select count(*)::int as n from verification.customer_record where account_id = $1`, [uuidOf(racing)])).rows[0].n).toBe(1);
    await refused(tokens[P]!, OPEN_RECORD, { in: recordInput(acct) }, { field: "accountId", message: /already has a customer record/ });
    // An account with no record reads as null.
    expect(await read(tokens[P]!, fresh[fresh.length - 1]!)).toBeNull();
  });

  it("records checks and moves the status through the workflow, refusing the moves it does not allow", async () => {
    const record = await openRecord(t, tokens[P]!, account());
    const checked = await passCheck(t, tokens[P]!, record);
    expect(checked.checks).toHaveLength(1);
    expect(checked.checks[0]).toMatchObject({ subject: "customer", method: "DOCUMENTARY", documentType: "passport", issuingCountry: "FR", result: "PASS", checkedBy: expect.stringMatching(new RegExp(`^${P}/.`)) });
    const nonDoc = await t.gql(
      ADD_CHECK,
      { id: record.id, in: { subject: "customer", method: "NON_DOCUMENTARY", source: "credit bureau", result: "INCONCLUSIVE", discrepancy: "street number differs", resolution: "customer sent a utility bill", expiresOn: null } },
      tokens[P],
    );
    expect(nonDoc.data.addVerificationCheck.record.checks.find((c: any) => c.method === "NON_DOCUMENTARY")).toMatchObject({ method: "NON_DOCUMENTARY", source: "credit bureau", discrepancy: "street number differs", resolution: "customer sent a utility bill", documentNumber: null });

    const unverified = await setStatus(t, tokens[P]!, record, "UNVERIFIED", "documents pending");
    expect(unverified.status).toBe("UNVERIFIED");
    expect(new Date(unverified.restrictedUntil).getTime() - new Date(unverified.statusChangedAt).getTime()).toBe(90 * DAY);
    const verified = await setStatus(t, tokens[P]!, record, "VERIFIED", "passport seen");
    expect(verified).toMatchObject({ status: "VERIFIED", restrictedUntil: null, reverificationDue: false });
    expect(new Date(verified.reverifyDueAt).getTime() - new Date(verified.verifiedAt).getTime()).toBe(1095 * DAY);

    await refused(tokens[P]!, SET_STATUS, { id: record.id, s: "FAILED", r: "x" }, { field: "status", message: /cannot move from VERIFIED to FAILED: from VERIFIED a record moves only to PENDING or CLOSED/ });
    await refused(tokens[P]!, SET_STATUS, { id: record.id, s: "UNVERIFIED", r: "x" }, { field: "status" });
    await refused(tokens[P]!, SET_STATUS, { id: record.id, s: "EXEMPT", r: "x" }, { field: "status", message: /exemption/ });
    await refused(tokens[P]!, SET_STATUS, { id: record.id, s: "CLOSED", r: "  " }, { field: "reason" });

    // Re-verification: back to PENDING, where the earlier checks no longer count.
    expect((await setStatus(t, tokens[P]!, record, "PENDING", "periodic re-verification")).status).toBe("PENDING");
    await refused(tokens[P]!, SET_STATUS, { id: record.id, s: "VERIFIED", r: "x" }, { field: "status", message: /passing check.*customer/ });
    const again = await verifyRecord(t, tokens[P]!, record);
    expect(again.status).toBe("VERIFIED");

    const closed = await setStatus(t, tokens[P]!, record, "CLOSED", "account closed");
    expect(closed.closedAt).toBe(clock.now().toISOString());
    // No access recorded: kept for the retention period from closure.
    expect(new Date(closed.retainUntil).getTime() - new Date(closed.closedAt).getTime()).toBe(730 * DAY);
    await refused(tokens[P]!, SET_STATUS, { id: record.id, s: "PENDING", r: "x" }, { field: "status", message: /a closed record stays closed/ });
    await refused(tokens[P]!, ADD_CHECK, { id: record.id, in: { subject: "customer", method: "NON_DOCUMENTARY", source: "s", result: "PASS" } }, { field: "recordId", message: /CLOSED/ });

    // Every move is on the record's status log with its reason, which is stored sealed.
    expect(closed.statusHistory.map((c: any) => `${c.from}>${c.to}: ${c.reason}`)).toEqual([
      "null>PENDING: record opened",
      "PENDING>UNVERIFIED: documents pending",
      "UNVERIFIED>VERIFIED: passport seen",
      "VERIFIED>PENDING: periodic re-verification",
      "PENDING>VERIFIED: identity verified",
      "VERIFIED>CLOSED: account closed",
    ]);
    expect(closed.statusHistory.every((c: any) => c.by.startsWith(`${P}/`))).toBe(true);
    const { rows } = await db.query(`select reason from verification.status_change where record_id = $1 order by seq`, [uuidOf(record.id)]);
    expect(rows).toHaveLength(6);
    for (const r of rows) expect(r.reason.toString("latin1")).not.toMatch(/passport seen|documents pending/);

    // A FAILED record only closes.
    const failed = await setStatus(t, tokens[P]!, await openRecord(t, tokens[P]!, account()), "FAILED", "forged document");
    await refused(tokens[P]!, SET_STATUS, { id: failed.id, s: "VERIFIED", r: "x" }, { field: "status", message: /from FAILED a record moves only to CLOSED/ });
    await refused(tokens[P]!, SET_STATUS, { id: failed.id, s: "PENDING", r: "x" }, { field: "status" });
  });

  it("VERIFIED needs a passing check of each foreign party; a change of beneficial owners re-opens verification", async () => {
    const usOwner = { kind: "INDIVIDUAL", names: ["Domestic Owner"], addresses: [], citizenship: ["US"] };
    const foreignOwner = { kind: "INDIVIDUAL", names: ["Foreign Owner"], addresses: [], citizenship: ["BR"], nationalId: `BR:${tag()}99` };
    const record = await openRecord(t, tokens[P]!, account(), { beneficialOwners: [usOwner, foreignOwner] });
    expect(record.beneficialOwners.map((o: any) => o.usPersonReason)).toEqual(["individual: a citizen of the United States", "individual: foreign (neither a US citizen nor a US permanent resident, and located outside the United States)"]);
    await passCheck(t, tokens[P]!, record, "customer");
    // The US owner needs no check; the foreign one does.
    await refused(tokens[P]!, SET_STATUS, { id: record.id, s: "VERIFIED", r: "x" }, { field: "status", message: /beneficialOwners\[1\]$/ });
    await refused(tokens[P]!, ADD_CHECK, { id: record.id, in: { subject: "beneficialOwners[2]", method: "NON_DOCUMENTARY", source: "s", result: "PASS" } }, { field: "subject", message: /2 beneficial owner/ });
    await passCheck(t, tokens[P]!, record, "beneficialOwners[1]");
    expect((await setStatus(t, tokens[P]!, record, "VERIFIED", "all verified")).status).toBe("VERIFIED");

    const eventsBefore = (await stored()).events;
    const res = await t.gql(SET_OWNERS, { id: record.id, owners: [foreignOwner, { kind: "ENTITY", names: ["New Owner Ltd"], addresses: [], organizedIn: "GB" }] }, tokens[P]);
    const reopened = res.data.updateBeneficialOwners.record;
    expect(reopened).toMatchObject({ status: "PENDING", reverifyDueAt: null, beneficialOwners: [{ citizenship: ["BR"] }, { organizedIn: "GB", usPerson: false }] });
    expect((await stored()).events).toBe(eventsBefore + 1);
    // Checks of the earlier round stay on the record and count for nothing now.
    expect(reopened.checks).toHaveLength(2);
    await refused(tokens[P]!, SET_STATUS, { id: record.id, s: "VERIFIED", r: "x" }, { field: "status", message: /customer, beneficialOwners\[0\], beneficialOwners\[1\]$/ });
    expect((await verifyRecord(t, tokens[P]!, reopened)).status).toBe("VERIFIED");

    // An UNVERIFIED record stays restricted when its owners change; a bad owner is named and nothing changes.
    const restricted = await setStatus(t, tokens[P]!, await openRecord(t, tokens[P]!, account()), "UNVERIFIED", "pending documents");
    const kept = (await t.gql(SET_OWNERS, { id: restricted.id, owners: [foreignOwner] }, tokens[P])).data.updateBeneficialOwners.record;
    expect(kept.status).toBe("UNVERIFIED");
    await refused(tokens[P]!, SET_OWNERS, { id: restricted.id, owners: [foreignOwner, { ...foreignOwner, nationalId: "BR-123" }] }, { field: "owners[1].nationalId" }, ["BR-123"]);
  });

  it("refuses each bad input of the list, naming the field, never the value, storing nothing", async () => {
    const acct = account();
    const base = recordInput(acct) as any;
    const secrets = [base.customer.names[0], base.customer.nationalId, base.emails[0]];
    const addr = base.customer.addresses[0];
    // Invalid ISO codes.
    await refused(tokens[P]!, OPEN_RECORD, { in: { ...base, customer: { ...base.customer, addresses: [addr, { ...addr, country: "XX" }] } } }, { field: "customer.addresses[1].country", message: /ISO 3166-1/ }, [...secrets, addr.lines[0]]);
    await refused(tokens[P]!, OPEN_RECORD, { in: { ...base, customer: { ...base.customer, citizenship: ["FR", "France"] } } }, { field: "customer.citizenship[1]" }, ["France"]);
    // Impossible dates.
    await refused(tokens[P]!, OPEN_RECORD, { in: { ...base, customer: { ...base.customer, dateOfBirth: "2023-02-30" } } }, { field: "customer.dateOfBirth", message: /not a date that exists/ }, ["2023-02-30", ...secrets]);
    await refused(tokens[P]!, OPEN_RECORD, { in: { ...base, customer: { ...base.customer, dateOfBirth: 19850714 } } }, { field: "customer.dateOfBirth" }, ["19850714"]);
    // A card number failing its check digit.
    await refused(tokens[P]!, OPEN_RECORD, { in: { ...base, payments: [{ type: "CARD", cardNumber: "4111 1111 1111 1112" }] } }, { field: "payments[0].cardNumber", message: /check digit/ }, ["1112", ...secrets]);
    // A beneficial owner's national id, an e-mail, a phone, a wallet.
    await refused(tokens[P]!, OPEN_RECORD, { in: { ...base, beneficialOwners: [{ ...base.customer, nationalId: "123456789" }] } }, { field: "beneficialOwners[0].nationalId" }, ["123456789"]);
    await refused(tokens[P]!, OPEN_RECORD, { in: { ...base, emails: ["no-at-sign.example.org"] } }, { field: "emails[0]" }, ["no-at-sign"]);
    await refused(tokens[P]!, OPEN_RECORD, { in: { ...base, phones: ["12"] } }, { field: "phones[0]" });
    await refused(tokens[P]!, OPEN_RECORD, { in: { ...base, payments: [{ type: "VIRTUAL_CURRENCY", walletAddress: "wallet!" }] } }, { field: "payments[0].walletAddress" }, ["wallet!"]);
    // Sizes and well-formed text.
    await refused(tokens[P]!, OPEN_RECORD, { in: { ...base, customer: { ...base.customer, names: ["N".repeat(301)] } } }, { field: "customer.names[0]", message: /longer than 300/ });
    await refused(tokens[P]!, OPEN_RECORD, { in: { ...base, customer: { ...base.customer, names: ["Lone \ud800 surrogate"] } } }, { field: "customer.names[0]", message: /well-formed/ });
    await refused(tokens[P]!, OPEN_RECORD, { in: { ...base, emails: Array.from({ length: 21 }, (_, i) => `e${i}@example.org`) } }, { field: "emails", message: /at most 20/ });

    // Checks: an impossible expiry, a country that is none.
    const record = await openRecord(t, tokens[P]!, acct);
    const doc = { subject: "customer", method: "DOCUMENTARY", documentType: "passport", documentNumber: "ZX-SECRET-1", issuingCountry: "FR", result: "PASS" };
    await refused(tokens[P]!, ADD_CHECK, { id: record.id, in: { ...doc, expiresOn: "2031-04-31" } }, { field: "expiresOn" }, ["2031-04-31", "ZX-SECRET-1"]);
    await refused(tokens[P]!, ADD_CHECK, { id: record.id, in: { ...doc, issuingCountry: "UK" } }, { field: "issuingCountry" }, ["ZX-SECRET-1"]);
    await refused(tokens[P]!, ADD_CHECK, { id: record.id, in: { ...doc, checkedAt: new Date(clock.now().getTime() + DAY).toISOString() } }, { field: "checkedAt", message: /future/ });
    // A status move not allowed.
    await refused(tokens[P]!, SET_STATUS, { id: record.id, s: "PENDING", r: "x" }, { field: "status", message: /cannot move from PENDING to PENDING/ });
  });

  it("answers another provider's account, or record, as none at all", async () => {
    const noSuch = `account--${randomUUID()}`;
    const mine = await openRecord(t, tokens[P]!, account());
    const theirs = await refused(tokens[P]!, OPEN_RECORD, { in: recordInput(qAccount) }, { field: "accountId", code: "NOT_FOUND" });
    const nothing = await refused(tokens[P]!, OPEN_RECORD, { in: recordInput(noSuch) }, { field: "accountId", code: "NOT_FOUND" });
    expect(theirs).toEqual(nothing);
    // Q does not see P's record, nor can it change it, and the answers are those for no record.
    expect(await read(tokens[Q]!, mine.accountId)).toBeNull();
    const unknown = `customer-record--${randomUUID()}`;
    for (const [query, vars] of [
      [ADD_CHECK, { in: { subject: "customer", method: "NON_DOCUMENTARY", source: "s", result: "PASS" } }],
      [SET_STATUS, { s: "CLOSED", r: "x" }],
      [SET_OWNERS, { owners: [] }],
    ] as const) {
      const a = await refused(tokens[Q]!, query, { ...vars, id: mine.id }, { field: "recordId", code: "NOT_FOUND" });
      const b = await refused(tokens[Q]!, query, { ...vars, id: unknown }, { field: "recordId", code: "NOT_FOUND" });
      expect(a).toEqual(b);
    }
    expect((await read(tokens[P]!, mine.accountId)).status).toBe("PENDING");
  });

  it("shows nothing to an agency without a disclosure or a provider without the scope, through _entities too", async () => {
    const record = await openRecord(t, tokens[P]!, account());
    const reps = { r: [{ __typename: "Account", id: record.accountId }] };
    const url = t.subgraphUrl("verification");
    const statusVia = async (token: string) => {
      const res = await t.gql(ENTITIES, reps, token, url);
      expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
      return res.data._entities[0]?.verificationStatus ?? null;
    };
    expect(await statusVia(tokens[P]!)).toBe("PENDING");
    expect(await statusVia(tokens[A]!)).toBeNull();
    expect(await statusVia(tokens[Q]!)).toBeNull();
    expect(await statusVia(unscoped)).toBeNull();

    // Through the gateway: the provider sees its account's status; the agency reads no record.
    expect((await t.gql(ACCOUNT_STATUS, { id: record.accountId }, tokens[P])).data.account).toEqual({ id: record.accountId, verificationStatus: "PENDING" });
    expect(await read(tokens[A]!, record.accountId)).toBeNull();
    const noScope = await t.gql(CUSTOMER_RECORD, { a: record.accountId }, unscoped);
    expect(noScope.data?.customerRecord ?? null).toBeNull();
    expect(noScope.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    for (const token of [tokens[A]!, unscoped]) {
      const res = await t.gql(BY_IDENTIFIER, { t: "CARD", v: "4111111111111111" }, token);
      expect(res.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    }
    const write = await t.gql(OPEN_RECORD, { in: recordInput(account()) }, unscoped);
    expect(write.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    // A write-only token cannot read records back through the answers of its changes.
    const writeOnly = await t.token(P, "PROVIDER", ["accounts:read", "verification:write"]);
    const before = await stored();
    for (const [query, vars] of [
      [OPEN_RECORD, { in: recordInput(account()) }],
      [SET_STATUS, { id: record.id, s: "UNVERIFIED", r: "x" }],
    ] as const) {
      const res = await t.gql(query, vars, writeOnly);
      expect(res.errors?.[0]).toMatchObject({ message: "this operation needs the scope 'verification:read'", extensions: { code: "FORBIDDEN" } });
    }
    expect(await stored()).toEqual(before);
  });

  it("lets an agency read the one record an approved, unexpired disclosure names, and audits it as such", async () => {
    const record = await openRecord(t, tokens[P]!, account());
    const other = await openRecord(t, tokens[P]!, account());
    const url = t.subgraphUrl("verification");
    const statusVia = async (accountId: string) => (await t.gql(ENTITIES, { r: [{ __typename: "Account", id: accountId }] }, tokens[A], url)).data._entities[0].verificationStatus;
    // The disclosure workflow is its own part of the subgraph: here its approved row, as the access rule reads it.
    const requestId = randomUUID();
    await db.query(
      `insert into verification.disclosure_request (id, owner, account_id, record_id, requester, requested_by, legal_basis, status, requested_at, decided_at, decided_by, decision_reason, access_until)
       values ($1, $2, $3, $4, $5, 'agent-1', 'test basis', $6, $7, $7, 'officer-1', 'ok', $8)`,
      [requestId, P, uuidOf(record.accountId), uuidOf(record.id), A, "REQUESTED", clock.now(), new Date(clock.now().getTime() + DAY)],
    );
    // Requested, not approved: nothing.
    expect(await read(tokens[A]!, record.accountId)).toBeNull();
    expect(await statusVia(record.accountId)).toBeNull();
    await db.query(`update verification.disclosure_request set status = 'APPROVED' where id = $1`, [requestId]);
    const seen = await read(tokens[A]!, record.accountId);
    expect(seen).toMatchObject({ id: record.id, customer: record.customer, status: "PENDING" });
    expect(await statusVia(record.accountId)).toBe("PENDING");
    const { rows } = await db.query(`select org, actor_org, detail from verification.audit_trail where record_id = $1 and action = 'RECORD_READ'`, [uuidOf(record.id)]);
    expect(rows).toEqual([{ org: P, actor_org: A, detail: { via: "DISCLOSURE", disclosure: requestId } }]);
    // Only that account's record; and the agency finds nothing by identifier, nor writes.
    expect(await read(tokens[A]!, other.accountId)).toBeNull();
    expect(await statusVia(other.accountId)).toBeNull();
    // When the grant ends, so does the access.
    await db.query(`update verification.disclosure_request set access_until = $2 where id = $1`, [requestId, new Date(clock.now().getTime() - 1000)]);
    expect(await read(tokens[A]!, record.accountId)).toBeNull();
    expect(await statusVia(record.accountId)).toBeNull();
  });

  it("puts each status change on the event log with ids and the status only", async () => {
    const record = await openRecord(t, tokens[P]!, account());
    await setStatus(t, tokens[P]!, record, "UNVERIFIED", "Reason-Quagga-77");
    const { rows } = await db.query(`select owner_org, tlp, shared_with, payload from hub.event where topic = 'verification.status_changed' and payload->>'record_id' = $1 order by seq`, [uuidOf(record.id)]);
    expect(rows.map((r) => r.payload.status)).toEqual(["PENDING", "UNVERIFIED"]);
    for (const r of rows) {
      expect(r).toMatchObject({ owner_org: P, tlp: "RED", shared_with: [] });
      expect(Object.keys(r.payload).sort()).toEqual(["account_id", "at", "provider", "record_id", "status"]);
      expect(r.payload).toMatchObject({ account_id: uuidOf(record.accountId), provider: P });
      expect(JSON.stringify(r.payload)).not.toMatch(/Test Customer|Quagga|example\.org|4111|FR:/);
    }
  });

  it("finds the caller's own records by exact identifiers through the blind index, auditing the search", async () => {
    const t1 = tag();
    const input = {
      customer: { ...(recordInput("x") as any).customer, nationalId: `es:${t1.toLowerCase()}-555` },
      emails: [`Lookup.${t1}@Example.org`],
      phones: ["+34 912 345 678"],
      payments: [{ type: "CARD", cardNumber: "5555 5555 5555 4444" }],
    };
    const mine = await openRecord(t, tokens[P]!, account(), input);
    // Q holds a record with the same values: P's lookups never find it.
    const [qAcct] = await registerAccounts(t, tokens[Q]!, [{}]);
    const theirs = await openRecord(t, tokens[Q]!, qAcct!, input);
    const find = async (token: string, type: string, value: string) => {
      const res = await t.gql(BY_IDENTIFIER, { t: type, v: value }, token);
      expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
      return res.data.customerRecordsByIdentifier.map((r: any) => r.id);
    };
    const searchesBefore = (await db.query(`select count(*)::int as n from verification.audit_trail where org = $1 and action = 'RECORD_SEARCHED'`, [P])).rows[0].n;
    expect(await find(tokens[P]!, "NATIONAL_ID", `ES:${t1}555`)).toEqual([mine.id]);
    expect(await find(tokens[P]!, "EMAIL", `lookup.${t1.toLowerCase()}@EXAMPLE.ORG`)).toEqual([mine.id]);
    expect(await find(tokens[P]!, "PHONE", "+34912345678")).toEqual([mine.id]);
    expect(await find(tokens[P]!, "CARD", "5555-5555-5555-4444")).toEqual([mine.id]);
    expect(await find(tokens[Q]!, "CARD", "5555555555554444")).toEqual([theirs.id]);
    // The same card at two providers: two unrelated digests, so the index links nothing across providers.
    const { rows: digests } = await db.query(`select encode(digest, 'hex') as d from verification.record_index where kind = 'CARD' and record_id = any($1::uuid[])`, [[uuidOf(mine.id), uuidOf(theirs.id)]]);
    expect(digests).toHaveLength(2);
    expect(digests[0].d).not.toBe(digests[1].d);
    // A value of another type, or none of the caller's: nothing.
    expect(await find(tokens[P]!, "EMAIL", `other.${t1}@example.org`)).toEqual([]);
    const searchesAfter = (await db.query(`select count(*)::int as n from verification.audit_trail where org = $1 and action = 'RECORD_SEARCHED'`, [P])).rows[0].n;
    expect(searchesAfter - searchesBefore).toBe(5);
    expect(await auditsOf(uuidOf(mine.id), "RECORD_READ")).toBe(4);
    // A value that is none of its type is refused, naming the argument and not the value.
    const bad = await t.gql(BY_IDENTIFIER, { t: "CARD", v: "4111 1111 1111 1112" }, tokens[P]);
    expect(bad.errors?.[0]).toMatchObject({ extensions: { code: "BAD_USER_INPUT", field: "value" } });
    expect(bad.errors![0]!.message).not.toContain("1112");

    // Changing the owners keeps the index in step: the old owner's id no longer finds the record, the new one does.
    const owned = await openRecord(t, tokens[P]!, account(), { beneficialOwners: [{ kind: "INDIVIDUAL", names: ["O"], addresses: [], citizenship: ["IT"], nationalId: `IT:OLD${t1}` }] });
    expect(await find(tokens[P]!, "NATIONAL_ID", `IT:OLD${t1}`)).toEqual([owned.id]);
    await t.gql(SET_OWNERS, { id: owned.id, owners: [{ kind: "INDIVIDUAL", names: ["N"], addresses: [], citizenship: ["IT"], nationalId: `IT:NEW${t1}` }] }, tokens[P]);
    expect(await find(tokens[P]!, "NATIONAL_ID", `IT:OLD${t1}`)).toEqual([]);
    expect(await find(tokens[P]!, "NATIONAL_ID", `IT:NEW${t1}`)).toEqual([owned.id]);
  });

  it("stores none of the personal values put in, in any table of the verification schema or the event log", async () => {
    const x = tag();
    const planted = {
      name: `Quirinus Xylophant-${x}`,
      ownerName: `Beneficia Owlington-${x}`,
      nationalId: `IT:QXM${x}`,
      ownerNationalId: `CH:OWL${x}`,
      email: `quirinus.${x.toLowerCase()}@marvello-example.org`,
      phone: "+442079460321",
      card: "4000056655665556",
      addressLine: `77 Zanzibar Quokka Lane ${x}`,
      city: `Quokkaville${x}`,
      postalCode: `QX${x}`,
      wallet: "0x71c7656ec7ab88b098defb751b7401b5f6d8976f",
      accountNumber: `GB82WEST1234569876${x}`,
      customerIdentifier: `CUSTID-QX-${x}`,
      transactionId: `TXN-QX-${x}`,
      institution: `Banca Quokka ${x}`,
      dateOfBirth: "1971-03-17",
      documentNumber: `DOCNUM-QX${x}`,
      discrepancy: `Surname spelled Xylofant-${x} on the utility bill`,
      resolution: `Confirmed by notarised letter ${x}`,
      reason: `Reason-Zebracorn-${x}`,
    };
    // Not personal and stored as written: the scan below must find it, which shows that it reads the rows.
    const product = `product-${x}`;
    const record = await openRecord(t, tokens[P]!, account(), {
      product,
      customer: {
        kind: "INDIVIDUAL",
        names: [planted.name],
        addresses: [{ lines: [planted.addressLine], city: planted.city, postalCode: planted.postalCode, country: "IT" }],
        nationalId: planted.nationalId,
        dateOfBirth: planted.dateOfBirth,
        citizenship: ["IT"],
      },
      beneficialOwners: [{ kind: "INDIVIDUAL", names: [planted.ownerName], addresses: [], nationalId: planted.ownerNationalId, citizenship: ["CH"] }],
      payments: [
        { type: "CARD", cardNumber: "4000 0566 5566 5556", institution: planted.institution },
        { type: "VIRTUAL_CURRENCY", walletAddress: planted.wallet.replace("0x71c", "0x71C"), transactionIds: [planted.transactionId] },
        { type: "BANK_ACCOUNT", accountNumber: planted.accountNumber, customerIdentifier: planted.customerIdentifier },
      ],
      emails: [planted.email],
      phones: ["+44 20 7946 0321"],
    });
    const checked = await t.gql(
      ADD_CHECK,
      { id: record.id, in: { subject: "customer", method: "DOCUMENTARY", documentType: "passport", documentNumber: planted.documentNumber, issuingCountry: "IT", result: "INCONCLUSIVE", discrepancy: planted.discrepancy, resolution: planted.resolution } },
      tokens[P],
    );
    expect(checked.data.addVerificationCheck.error).toBeNull();
    await setStatus(t, tokens[P]!, record, "UNVERIFIED", planted.reason);
    // What was put in reads back whole.
    const back = await read(tokens[P]!, record.accountId);
    expect(back.customer.names).toEqual([planted.name]);
    expect(back.checks[0]).toMatchObject({ documentNumber: planted.documentNumber, discrepancy: planted.discrepancy });

    const values = Object.values(planted);
    // Each value as text, and as the hex a bytea column would show if it held it unsealed.
    const needles = values.flatMap((v) => [v.toLowerCase(), Buffer.from(v, "utf8").toString("hex")]);
    const { rows: tables } = await db.query(`select table_name from information_schema.tables where table_schema = 'verification' and table_type = 'BASE TABLE' order by table_name`);
    expect(tables.map((r) => r.table_name)).toEqual(expect.arrayContaining(["customer_record", "record_index", "verification_check", "status_change", "audit_trail"]));
    let control = 0;
    for (const { table_name } of tables) {
      const { rows } = await db.query(`select t::text as row from verification.${pg.escapeIdentifier(table_name)} t`);
      for (const { row } of rows) {
        const text = (row as string).toLowerCase();
        if (text.includes(product.toLowerCase())) control++;
        for (const needle of needles) expect(text.includes(needle), `${table_name} holds a planted value`).toBe(false);
      }
    }
    expect(control).toBe(1);
    const { rows: events } = await db.query(`select e::text as row from hub.event e where owner_org = $1`, [P]);
    expect(events.length).toBeGreaterThan(0);
    for (const { row } of events) for (const needle of needles) expect((row as string).toLowerCase().includes(needle)).toBe(false);
  });

  it("refuses a sealed value copied to another row: the read fails masked and the hub goes on serving", async () => {
    const a = await openRecord(t, tokens[P]!, account());
    const b = await openRecord(t, tokens[P]!, account());
    await db.query(`update verification.customer_record set customer = (select customer from verification.customer_record where id = $1) where id = $2`, [uuidOf(a.id), uuidOf(b.id)]);
    const res = await t.gql(CUSTOMER_RECORD, { a: b.accountId }, tokens[P]);
    expect(res.data?.customerRecord ?? null).toBeNull();
    expect(res.errors?.[0]?.extensions?.code).toBe("INTERNAL_SERVER_ERROR");
    expect(res.errors![0]!.message).toMatch(/^Internal error; quote reference [0-9a-f-]{36}/);
    expect(JSON.stringify(res.errors)).not.toMatch(/Test Customer|customer_record|authentication/);
    // A wrapped data key moved between records fails the same way.
    await db.query(`update verification.customer_record set data_key = (select data_key from verification.customer_record where id = $1) where id = $2`, [uuidOf(a.id), uuidOf(b.id)]);
    expect((await t.gql(CUSTOMER_RECORD, { a: b.accountId }, tokens[P])).errors?.[0]?.extensions?.code).toBe("INTERNAL_SERVER_ERROR");
    // The failed read left no audit link (it rolled back with the read), and the hub still serves the other record.
    expect(await auditsOf(uuidOf(b.id), "RECORD_READ")).toBe(0);
    expect((await read(tokens[P]!, a.accountId)).customer).toEqual(a.customer);
  });

  it("makes a verified record due for re-verification after CIP_REVERIFY_AFTER_DAYS", async () => {
    const record = await verifyRecord(t, tokens[P]!, await openRecord(t, tokens[P]!, account()));
    const due = async () => (await t.gql(DUE, { first: 500 }, tokens[P])).data.dueForReverification.edges.map((e: any) => e.node.recordId);
    expect(await due()).not.toContain(record.id);
    clock.advance(1095);
    expect((await read(tokens[P]!, record.accountId)).reverificationDue).toBe(true);
    expect(await due()).toContain(record.id);
    // Paged one at a time, every due record comes once.
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: any = (await t.gql(DUE, { first: 1, after }, tokens[P])).data.dueForReverification;
      seen.push(...page.edges.map((e: any) => e.node.recordId));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual(await due());
    expect(new Set(seen).size).toBe(seen.length);
    // Re-verification begins: no longer due.
    await setStatus(t, tokens[P]!, record, "PENDING", "periodic re-verification");
    expect(await due()).not.toContain(record.id);
    expect((await t.gql(DUE, { after: "bm9wZQ" }, tokens[P])).errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "after" });
  });
});
