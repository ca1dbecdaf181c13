import "reflect-metadata";
import { parse } from "csv-parse/sync";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { orgId, startTestHub, testClock, type TestHub } from "./support/hub.js";
import { ok, registerAccounts } from "./support/resellers.js";
import { exemptAccountsOf, exemptionFor } from "../subgraphs/verification/exemption.service.js";
import { openRecord, SET_OWNERS, setStatus, verifyRecord } from "./support/verification.js";

/**
 * Exemptions, the CIP certification report and the audit trail, through the gateway: exemptions'
 * bad input named per field and nothing stored, expiry by the hub's clock; every figure of the report
 * checked against records opened here and moved through time by a test clock, as of two dates; the CSV
 * parsed back equal to the JSON; nobody but the provider itself gets a report; a link per export;
 * the trail in pages; and a link altered with raw SQL found by verifyAuditChain.
 */

const DAY = 86_400_000;
/** A basis with what CSV must quote: a comma, quotes and a line break. */
const TRIAL_BASIS = 'Approved abuse deterrence programme "ADP", ref. 2026-17\nrenewed yearly';
const day = (d: Date) => d.toISOString().slice(0, 10);

const GRANT = `mutation($in: ExemptionInput!) { grantExemption(input: $in) {
  exemption { id scope accountKind product basis grantedOn expiresOn active recordedBy recordedAt } error { field message code } } }`;
const EXEMPTIONS = `query($at: DateTime) { exemptions(activeAt: $at) { id scope accountKind product basis grantedOn expiresOn active } }`;
const REPORT_FIELDS = `provider asOf generatedAt unverifiedMaxDays
  summary { customers usCustomers foreignCustomers foreignBeneficialOwners foreignResellerAccounts foreignAccountsNotVerified exemptAccounts unverifiableCases accountsWithoutRecord }
  customersByCountry { country customers usPersons foreign }
  foreignBeneficialOwnersByCountry { country count }
  foreignResellerAccounts { accountId recordId country }
  foreignAccountsNotVerified { count accounts { accountId recordId country status } }
  exemptAccounts { count byBasis { exemptionId scope accountKind product basis accounts } }
  unverifiableCases { recordId accountId cause since status resolution resolvedAt statusPath { status at } reason }`;
const REPORT = `query($asOf: DateTime!) { cipCertificationReport(asOf: $asOf) { ${REPORT_FIELDS} } }`;
const REPORT_CSV = `query($asOf: DateTime!) { cipCertificationReportCsv(asOf: $asOf) }`;
const TRAIL = `query($first: Int, $after: String, $r: ID) { auditTrail(first: $first, after: $after, recordId: $r) {
  edges { cursor node { seq at actorOrg actorSubject action recordId accountId detail } } pageInfo { hasNextPage endCursor } } }`;
const VERIFY = `{ verifyAuditChain { ok checked firstBroken } }`;

/** A party of the record input: an individual of `country`, a US person when `country` is US. */
const person = (country: string, tag: string) => ({
  kind: "INDIVIDUAL",
  names: [`Report Person ${tag}`],
  addresses: [{ lines: [`${tag} Report Road 2`], city: "Town", postalCode: "1000", country }],
  citizenship: [country],
  permanentResidence: country,
});

/**
 * The CSV read back into the shape of the GraphQL object (see certification.csv.ts for the layout):
 * numbers from their text, empty cells as null, a formula-guarding apostrophe taken off.
 */
function fromCsv(text: string): any {
  const rows: Record<string, string>[] = parse(text, { columns: true, record_delimiter: "\r\n" });
  const num = (v: string) => Number(v);
  const cell = (v: string | undefined) => (v === undefined || v === "" ? null : /^'[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/.test(v) ? v.slice(1) : v);
  const of = (section: string) => rows.filter((r) => r.section === section);
  const summaryRows = of("summary");
  const summary = Object.fromEntries(summaryRows.filter((r) => r.item !== "unverifiedMaxDays").map((r) => [r.item, num(r.count!)]));
  const first = rows[0]!;
  const notVerified = of("foreign_accounts_not_verified").map((r) => ({ accountId: r.account_id, recordId: r.record_id, country: r.country, status: r.status }));
  const byBasis = of("exempt_accounts").map((r) => ({
    exemptionId: r.exemption_id,
    scope: r.scope,
    accountKind: cell(r.account_kind),
    product: cell(r.product),
    basis: cell(r.basis),
    accounts: num(r.count!),
  }));
  return {
    provider: first.provider,
    asOf: first.as_of,
    generatedAt: first.generated_at,
    unverifiedMaxDays: num(summaryRows.find((r) => r.item === "unverifiedMaxDays")!.count!),
    summary,
    customersByCountry: of("customers_by_country").map((r) => ({ country: r.country, customers: num(r.count!), usPersons: num(r.us_persons!), foreign: num(r.foreign!) })),
    foreignBeneficialOwnersByCountry: of("foreign_beneficial_owners_by_country").map((r) => ({ country: r.country, count: num(r.count!) })),
    foreignResellerAccounts: of("foreign_reseller_accounts").map((r) => ({ accountId: r.account_id, recordId: r.record_id, country: r.country })),
    foreignAccountsNotVerified: { count: notVerified.length, accounts: notVerified },
    exemptAccounts: { count: byBasis.reduce((n, e) => n + e.accounts, 0), byBasis },
    unverifiableCases: of("unverifiable_cases").map((r) => ({
      recordId: r.record_id,
      accountId: r.account_id,
      cause: r.cause,
      since: r.since,
      status: r.status,
      resolution: r.resolution,
      resolvedAt: cell(r.resolved_at),
      statusPath: r.status_path!.split(" > ").map((step) => {
        const [status, at] = step.split("@");
        return { status, at };
      }),
      reason: cell(r.reason),
    })),
  };
}

describe("exemptions, the certification report and the audit trail", () => {
  let t: TestHub;
  let db: pg.Client;
  // The hub's clock starts 150 days back, so that records can stay UNVERIFIED past the allowed 90 days.
  const start = new Date(Date.now() - 150 * DAY);
  const clock = testClock(start);
  const P = orgId("rep-provider");
  const Q = orgId("rep-other");
  const A = orgId("rep-agency");
  const O = orgId("rep-operator");
  const N = orgId("rep-noscope");
  const tok: Record<string, string> = {};
  const acct: Record<string, string> = {};
  const rec: Record<string, any> = {};
  let qAccount: string;

  const links = async (org: string, action?: string) =>
    Number((await db.query("select count(*) from verification.audit_trail where org = $1 and ($2::text is null or action = $2)", [org, action ?? null])).rows[0].count);
  const exemptionRows = async (org: string) => Number((await db.query("select count(*) from verification.exemption where owner = $1", [org])).rows[0].count);
  const grant = async (token: string, input: Record<string, unknown>) => (await ok(t, token, GRANT, { in: input })).grantExemption;
  const report = async (asOf: Date, token = tok[P]!) => (await ok(t, token, REPORT, { asOf: asOf.toISOString() })).cipCertificationReport;

  beforeAll(async () => {
    t = await startTestHub({}, { clock: clock.now });
    db = new pg.Client({ connectionString: inject("databaseUrl") });
    await db.connect();
    const all = ["accounts:read", "accounts:write", "verification:read", "verification:write"];
    tok[P] = await t.token(P, "PROVIDER", all);
    tok[Q] = await t.token(Q, "PROVIDER", all);
    tok[A] = await t.token(A, "AGENCY", ["verification:read", "verification:write", "verification:disclose"]);
    tok[O] = await t.token(O, "OPERATOR", ["admin", "verification:read", "verification:write"]);
    tok[N] = await t.token(N, "PROVIDER", ["accounts:read", "accounts:write"]);

    const names = ["verified", "usWithOwners", "reseller", "restricted", "failed", "trial", "sandbox", "bare", "usReseller"] as const;
    const kinds: Record<string, "STANDARD" | "RESELLER" | "TRIAL"> = { reseller: "RESELLER", usReseller: "RESELLER", trial: "TRIAL" };
    const ids = await registerAccounts(t, tok[P]!, names.map((n) => ({ kind: kinds[n] ?? "STANDARD", jurisdiction: "FR" })));
    names.forEach((n, i) => (acct[n] = ids[i]!));
    [qAccount] = await registerAccounts(t, tok[Q]!, [{ jurisdiction: "DE" }]);

    // At the start: the records, each in its own state.
    rec.verified = await verifyRecord(t, tok[P]!, await openRecord(t, tok[P]!, acct.verified!));
    rec.usWithOwners = await openRecord(t, tok[P]!, acct.usWithOwners!, { customer: person("US", "U1"), beneficialOwners: [person("DE", "B1"), person("US", "B2")] });
    rec.reseller = await openRecord(t, tok[P]!, acct.reseller!, { customer: person("GB", "G1"), beneficialOwners: [person("CH", "B3")] });
    rec.restricted = await setStatus(t, tok[P]!, await openRecord(t, tok[P]!, acct.restricted!), "UNVERIFIED", "documents requested, not yet received");
    rec.failed = await setStatus(t, tok[P]!, await openRecord(t, tok[P]!, acct.failed!), "FAILED", "documents did not match");
    rec.trial = await openRecord(t, tok[P]!, acct.trial!, { beneficialOwners: [person("IT", "B4")] });
    rec.sandbox = await openRecord(t, tok[P]!, acct.sandbox!, { product: "edge-sandbox" });
    rec.usReseller = await openRecord(t, tok[P]!, acct.usReseller!, { customer: person("US", "U2") });
    rec.q = await openRecord(t, tok[Q]!, qAccount);
    // Ten days on, the failed customer's account is closed.
    clock.advance(10);
    rec.failed = await setStatus(t, tok[P]!, rec.failed, "CLOSED", "account closed: identity not verified");
    // On day 40 the restricted customer's owners change: the status log notes UNVERIFIED again, which
    // is no move, so its 90 days still run from the start.
    clock.advance(30);
    const owners = await t.gql(SET_OWNERS, { id: rec.restricted.id, owners: [person("US", "B5")] }, tok[P]!);
    expect(owners.data?.updateBeneficialOwners?.record?.status, JSON.stringify(owners)).toBe("UNVERIFIED");
    clock.advance(-40);
  });
  afterAll(async () => {
    await db?.end();
    await t?.stop();
  });

  describe("grantExemption", () => {
    const today = () => day(clock.now());
    const later = (days: number) => day(new Date(clock.now().getTime() + days * DAY));
    const valid = () => ({ scope: "ACCOUNT_KIND", accountKind: "TRIAL", basis: TRIAL_BASIS, grantedOn: today(), expiresOn: later(120) });

    it("refuses bad input, naming the field, storing nothing and echoing no value", async () => {
      const before = await exemptionRows(P);
      const linksBefore = await links(P);
      const cases: [Record<string, unknown>, string][] = [
        [{ ...valid(), accountKind: null }, "accountKind"],
        [{ ...valid(), scope: "PROVIDER" }, "accountKind"],
        [{ ...valid(), scope: "PRODUCT", accountKind: null }, "product"],
        [{ ...valid(), scope: "PROVIDER", accountKind: null, product: "edge-sandbox" }, "product"],
        [{ ...valid(), scope: "PRODUCT", accountKind: null, product: "   " }, "product"],
        [{ ...valid(), basis: "  \n " }, "basis"],
        [{ ...valid(), basis: "x".repeat(2001) }, "basis"],
        [{ ...valid(), basis: "Programme \u0007 bell" }, "basis"],
        [{ ...valid(), grantedOn: "2026-02-30" }, "grantedOn"],
        [{ ...valid(), grantedOn: "17/03/2026" }, "grantedOn"],
        [{ ...valid(), grantedOn: later(2), expiresOn: later(200) }, "grantedOn"],
        [{ ...valid(), expiresOn: "2027-13-01" }, "expiresOn"],
        [{ ...valid(), expiresOn: today() }, "expiresOn"],
        [{ ...valid(), grantedOn: later(-10), expiresOn: later(-20) }, "expiresOn"],
      ];
      for (const [input, field] of cases) {
        const result = await grant(tok[P]!, input);
        expect(result.exemption, field).toBeNull();
        expect(result.error, JSON.stringify(input).slice(0, 200)).toMatchObject({ field, code: "BAD_USER_INPUT" });
        expect(result.error.message.startsWith(`${field}: `)).toBe(true);
        for (const v of ["2026-02-30", "17/03/2026", "2027-13-01", "bell", "edge-sandbox"]) expect(result.error.message).not.toContain(v);
      }
      // A scope outside the enum never reaches the service.
      const res = await t.gql(GRANT, { in: { ...valid(), scope: "EVERYONE" } }, tok[P]!);
      expect(res.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
      // Without verification:write, or as an agency or an operator (which hold no accounts): nothing either.
      for (const who of [N, A, O]) expect((await t.gql(GRANT, { in: valid() }, tok[who]!)).errors?.[0]?.extensions?.code, who).toBe("FORBIDDEN");
      expect(await exemptionRows(P)).toBe(before);
      expect(await exemptionRows(A)).toBe(0);
      expect(await exemptionRows(O)).toBe(0);
      expect(await links(P)).toBe(linksBefore);
    });

    it("records the provider's own exemptions, each audited; they are in force from grant to expiry", async () => {
      const before = await links(P, "EXEMPTION_GRANTED");
      const trial = await grant(tok[P]!, valid());
      expect(trial.error).toBeNull();
      expect(trial.exemption).toMatchObject({ scope: "ACCOUNT_KIND", accountKind: "TRIAL", product: null, grantedOn: today(), expiresOn: later(120), active: true });
      expect(trial.exemption.id).toMatch(/^exemption--[0-9a-f-]{36}$/);
      expect(trial.exemption.recordedBy.startsWith(`${P}/`)).toBe(true);
      // A basis a spreadsheet would take for a formula: the CSV keeps it as text (checked with the report).
      const sandbox = await grant(tok[P]!, { scope: "PRODUCT", product: "edge-sandbox", basis: "+ADP sandbox programme", grantedOn: today(), expiresOn: later(365) });
      expect(sandbox.error).toBeNull();
      rec.trialExemption = trial.exemption.id;
      rec.sandboxExemption = sandbox.exemption.id;
      const whole = await grant(tok[Q]!, { scope: "PROVIDER", basis: "Provider-wide programme", grantedOn: later(-30), expiresOn: later(400) });
      expect(whole.error).toBeNull();
      rec.qExemption = whole.exemption.id;

      expect(await links(P, "EXEMPTION_GRANTED")).toBe(before + 2);
      const [link] = (await db.query("select detail from verification.audit_trail where org = $1 and action = 'EXEMPTION_GRANTED' order by seq desc limit 1", [P])).rows;
      expect(link.detail).toMatchObject({ exemption: sandbox.exemption.id.slice("exemption--".length), scope: "PRODUCT" });

      // Each provider lists its own only; by activeAt, the trial one ends when it expires.
      const mine = (await ok(t, tok[P]!, EXEMPTIONS)).exemptions;
      expect(mine.map((e: any) => e.id).sort()).toEqual([trial.exemption.id, sandbox.exemption.id].sort());
      expect((await ok(t, tok[Q]!, EXEMPTIONS)).exemptions.map((e: any) => e.id)).toEqual([whole.exemption.id]);
      const at = (days: number) => ({ at: new Date(clock.now().getTime() + days * DAY).toISOString() });
      expect((await ok(t, tok[P]!, EXEMPTIONS, at(119))).exemptions).toHaveLength(2);
      expect((await ok(t, tok[P]!, EXEMPTIONS, at(121))).exemptions.map((e: any) => e.id)).toEqual([sandbox.exemption.id]);
      expect((await ok(t, tok[P]!, EXEMPTIONS, at(-1))).exemptions).toHaveLength(0);
    });

    it("names the exemption that covers an account, for Account.verificationStatus to read EXEMPT", async () => {
      const em = () => t.hub.subgraphs.find((s) => s.name === "verification")!.orm.em.fork();
      const now = clock.now();
      const viewer = { org: P, sub: "officer", orgKind: "PROVIDER", scopes: new Set(["verification:read"]), expiresAt: 0, validUntilMs: 0 } as const;
      const uuid = (id: string) => id.slice("account--".length);
      expect(await exemptionFor(em(), P, { kind: "TRIAL", product: null }, now)).toMatchObject({ id: rec.trialExemption, scope: "ACCOUNT_KIND" });
      expect(await exemptionFor(em(), P, { kind: "STANDARD", product: "edge-sandbox" }, now)).toMatchObject({ id: rec.sandboxExemption, scope: "PRODUCT" });
      expect(await exemptionFor(em(), P, { kind: "STANDARD", product: null }, now)).toBeNull();
      expect(await exemptionFor(em(), P, { kind: "TRIAL", product: null }, new Date(now.getTime() + 121 * DAY))).toBeNull();
      expect(await exemptionFor(em(), Q, { kind: "TRIAL", product: null }, now)).toMatchObject({ id: rec.qExemption, scope: "PROVIDER" });

      const asked = [acct.trial!, acct.sandbox!, acct.verified!, acct.bare!, qAccount].map(uuid);
      expect([...(await exemptAccountsOf(em(), viewer, asked, now))].sort()).toEqual([uuid(acct.trial!), uuid(acct.sandbox!)].sort());
      // Another provider's exempt account is not the viewer's to see as exempt; nor is any without the scope.
      expect(await exemptAccountsOf(em(), { ...viewer, org: Q }, asked, now)).toEqual(new Set([uuid(qAccount)]));
      expect(await exemptAccountsOf(em(), { ...viewer, scopes: new Set<string>() }, asked, now)).toEqual(new Set());

      // And so Account.verificationStatus reads: EXEMPT to the provider, record or not; the record's status otherwise.
      const STATUS = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Account { id verificationStatus } } }`;
      const reps = [acct.trial!, acct.sandbox!, acct.verified!, acct.bare!].map((id) => ({ __typename: "Account", id }));
      const statuses = await t.gql(STATUS, { r: reps }, tok[P]!, t.subgraphUrl("verification"));
      expect(statuses.errors).toBeUndefined();
      expect(statuses.data._entities.map((e: any) => e.verificationStatus)).toEqual(["EXEMPT", "EXEMPT", "VERIFIED", null]);
      // Another provider learns nothing of it.
      const other = await t.gql(STATUS, { r: reps }, tok[Q]!, t.subgraphUrl("verification"));
      expect(other.data._entities.map((e: any) => e.verificationStatus)).toEqual([null, null, null, null]);
    });
  });

  describe("cipCertificationReport", () => {
    it("counts the provider's own records as of a date, exempt accounts apart, and the unverifiable cases with how each ended", async () => {
      clock.advance(100);
      const asOf = clock.now();
      const r = await report(asOf);
      expect(r.provider).toBe(P);
      expect(r.asOf).toBe(asOf.toISOString());
      expect(r.unverifiedMaxDays).toBe(90);
      // Customers: verified (FR), usWithOwners (US), reseller (GB), restricted (FR), usReseller (US).
      // Not: failed (CLOSED), trial and sandbox (exempt), bare (no record).
      expect(r.summary).toEqual({
        customers: 5,
        usCustomers: 2,
        foreignCustomers: 3,
        foreignBeneficialOwners: 2,
        foreignResellerAccounts: 1,
        foreignAccountsNotVerified: 2,
        exemptAccounts: 2,
        unverifiableCases: 2,
        accountsWithoutRecord: 1,
      });
      expect(r.customersByCountry).toEqual([
        { country: "FR", customers: 2, usPersons: 0, foreign: 2 },
        { country: "GB", customers: 1, usPersons: 0, foreign: 1 },
        { country: "US", customers: 2, usPersons: 2, foreign: 0 },
      ]);
      expect(r.foreignBeneficialOwnersByCountry).toEqual([
        { country: "CH", count: 1 },
        { country: "DE", count: 1 },
      ]);
      expect(r.foreignResellerAccounts).toEqual([{ accountId: acct.reseller, recordId: rec.reseller.id, country: "GB" }]);
      const notVerified = [
        { accountId: acct.reseller, recordId: rec.reseller.id, country: "GB", status: "PENDING" },
        { accountId: acct.restricted, recordId: rec.restricted.id, country: "FR", status: "UNVERIFIED" },
      ].sort((a, b) => a.accountId!.localeCompare(b.accountId!));
      expect(r.foreignAccountsNotVerified).toEqual({ count: 2, accounts: notVerified });
      expect(r.exemptAccounts).toEqual({
        count: 2,
        byBasis: expect.arrayContaining([
          { exemptionId: rec.trialExemption, scope: "ACCOUNT_KIND", accountKind: "TRIAL", product: null, basis: TRIAL_BASIS, accounts: 1 },
          { exemptionId: rec.sandboxExemption, scope: "PRODUCT", accountKind: null, product: "edge-sandbox", basis: "+ADP sandbox programme", accounts: 1 },
        ]),
      });
      const s = start.getTime();
      const iso = (ms: number) => new Date(ms).toISOString();
      expect(r.unverifiableCases).toEqual([
        {
          recordId: rec.failed.id,
          accountId: acct.failed,
          cause: "FAILED",
          since: iso(s),
          status: "CLOSED",
          resolution: "CLOSED",
          resolvedAt: iso(s + 10 * DAY),
          statusPath: [
            { status: "PENDING", at: iso(s) },
            { status: "FAILED", at: iso(s) },
            { status: "CLOSED", at: iso(s + 10 * DAY) },
          ],
          reason: "account closed: identity not verified",
        },
        {
          recordId: rec.restricted.id,
          accountId: acct.restricted,
          cause: "UNVERIFIED_TOO_LONG",
          since: iso(s + 90 * DAY),
          status: "UNVERIFIED",
          resolution: "OPEN",
          resolvedAt: null,
          statusPath: [
            { status: "PENDING", at: iso(s) },
            { status: "UNVERIFIED", at: iso(s) },
          ],
          reason: "documents requested, not yet received",
        },
      ]);
      // Nothing of another provider's.
      expect(JSON.stringify(r)).not.toContain(qAccount.slice("account--".length));

      // As of day 50: the restricted customer was still within its 90 days; the rest stood as today.
      const earlier = await report(new Date(s + 50 * DAY));
      expect(earlier.unverifiableCases.map((c: any) => c.recordId)).toEqual([rec.failed.id]);
      expect(earlier.summary).toMatchObject({ customers: 5, foreignAccountsNotVerified: 2, exemptAccounts: 2, unverifiableCases: 1 });
      // As of day 5: the failed customer's account was not yet closed, so the case is open and it is a customer.
      const first = await report(new Date(s + 5 * DAY));
      expect(first.unverifiableCases).toMatchObject([{ recordId: rec.failed.id, status: "FAILED", resolution: "OPEN", resolvedAt: null }]);
      expect(first.summary).toMatchObject({ customers: 6, foreignCustomers: 4, foreignAccountsNotVerified: 3 });

      // Another provider's report is its own: one account, covered by its provider-wide exemption.
      const other = await report(asOf, tok[Q]!);
      expect(other.summary).toEqual({
        customers: 0,
        usCustomers: 0,
        foreignCustomers: 0,
        foreignBeneficialOwners: 0,
        foreignResellerAccounts: 0,
        foreignAccountsNotVerified: 0,
        exemptAccounts: 1,
        unverifiableCases: 0,
        accountsWithoutRecord: 0,
      });
      expect(other.exemptAccounts.byBasis).toEqual([{ exemptionId: rec.qExemption, scope: "PROVIDER", accountKind: null, product: null, basis: "Provider-wide programme", accounts: 1 }]);
      for (const id of Object.values(acct)) expect(JSON.stringify(other)).not.toContain(id.slice("account--".length));
    });

    it("exports CSV that reads back equal to the JSON: quoted where needed, a formula-like basis kept as text", async () => {
      const asOf = clock.now();
      const json = await report(asOf);
      const csv: string = (await ok(t, tok[P]!, REPORT_CSV, { asOf: asOf.toISOString() })).cipCertificationReportCsv;
      expect(csv.split("\r\n")[0]).toBe(
        "provider,as_of,generated_at,section,item,country,account_id,record_id,status,exemption_id,scope,account_kind,product,basis,cause,since,resolution,resolved_at,status_path,reason,count,us_persons,foreign",
      );
      expect(csv).toContain(",'+ADP sandbox programme,");
      expect(csv).toContain(`,"Approved abuse deterrence programme ""ADP"", ref. 2026-17\nrenewed yearly",`);
      expect(fromCsv(csv)).toEqual(json);
    });

    it("when the trial exemption expires, its account counts as a customer to verify", async () => {
      clock.advance(30);
      const r = await report(clock.now());
      expect(r.summary).toMatchObject({ customers: 6, foreignCustomers: 4, foreignBeneficialOwners: 3, foreignAccountsNotVerified: 3, exemptAccounts: 1 });
      expect(r.foreignBeneficialOwnersByCountry).toContainEqual({ country: "IT", count: 1 });
      expect(r.foreignAccountsNotVerified.accounts).toContainEqual({ accountId: acct.trial, recordId: rec.trial.id, country: "FR", status: "PENDING" });
      expect(r.exemptAccounts.byBasis.map((e: any) => e.exemptionId)).toEqual([rec.sandboxExemption]);
    });

    it("audits every export, JSON and CSV, and gives nobody but the provider a report", async () => {
      const asOf = clock.now().toISOString();
      const before = await links(P, "REPORT_EXPORTED");
      await ok(t, tok[P]!, REPORT, { asOf });
      await ok(t, tok[P]!, REPORT_CSV, { asOf });
      await ok(t, tok[P]!, REPORT_CSV, { asOf });
      expect(await links(P, "REPORT_EXPORTED")).toBe(before + 3);
      const { rows } = await db.query("select actor_org, detail from verification.audit_trail where org = $1 and action = 'REPORT_EXPORTED' order by seq desc limit 3", [P]);
      expect(rows.map((l) => l.detail.format)).toEqual(["CSV", "CSV", "JSON"]);
      for (const l of rows) expect(l).toMatchObject({ actor_org: P, detail: { report: "CIP_CERTIFICATION", asOf, customers: 6 } });

      // An agency, an operator, a provider without verification:read: refused, both forms, nothing written.
      const all = await links(P);
      for (const [who, code] of [
        [A, "FORBIDDEN"],
        [O, "FORBIDDEN"],
        [N, "FORBIDDEN"],
      ] as const) {
        for (const q of [REPORT, REPORT_CSV]) {
          const res = await t.gql(q, { asOf }, tok[who]!);
          expect(res.errors?.[0]?.extensions?.code, who).toBe(code);
          expect(res.data?.cipCertificationReport ?? res.data?.cipCertificationReportCsv ?? null).toBeNull();
        }
      }
      // The subgraph itself, asked directly, refuses the same.
      const direct = await t.gql(REPORT, { asOf }, tok[A]!, t.subgraphUrl("verification"));
      expect(direct.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
      expect(await links(P)).toBe(all);
      expect(await links(A)).toBe(0);
      expect(await links(O)).toBe(0);

      // A date to come is no report.
      const future = await t.gql(REPORT, { asOf: new Date(clock.now().getTime() + DAY).toISOString() }, tok[P]!);
      expect(future.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "asOf" });
    });
  });

  describe("the audit trail", () => {
    it("pages the provider's chain in order, by record too, and holds nothing of another's", async () => {
      const total = await links(P);
      const seen: any[] = [];
      let after: string | null = null;
      for (;;) {
        const page: any = (await ok(t, tok[P]!, TRAIL, { first: 7, after })).auditTrail;
        seen.push(...page.edges.map((e: any) => e.node));
        if (!page.pageInfo.hasNextPage) break;
        after = page.pageInfo.endCursor;
      }
      expect(seen.map((l) => l.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
      expect(new Set(seen.map((l) => l.action))).toEqual(new Set(["RECORD_OPENED", "STATUS_CHANGED", "CHECK_ADDED", "RECORD_UPDATED", "EXEMPTION_GRANTED", "REPORT_EXPORTED"]));
      for (const l of seen) {
        expect(l.actorOrg).toBe(P);
        expect(typeof JSON.parse(l.detail)).toBe("object");
        if (l.accountId !== null) expect(Object.values(acct)).toContain(l.accountId);
      }
      const closing = seen.find((l) => l.action === "STATUS_CHANGED" && l.recordId === rec.failed.id && JSON.parse(l.detail).to === "CLOSED");
      expect(closing).toMatchObject({ accountId: acct.failed, at: new Date(start.getTime() + 10 * DAY).toISOString() });

      const ofRecord = (await ok(t, tok[P]!, TRAIL, { r: rec.failed.id })).auditTrail.edges.map((e: any) => e.node);
      expect(ofRecord.map((l: any) => l.action)).toEqual(["RECORD_OPENED", "STATUS_CHANGED", "STATUS_CHANGED"]);
      expect(ofRecord.every((l: any) => l.recordId === rec.failed.id)).toBe(true);
      // Another provider's record, asked by id: none of its links.
      expect((await ok(t, tok[P]!, TRAIL, { r: rec.q.id })).auditTrail.edges).toEqual([]);
      const theirs = (await ok(t, tok[Q]!, TRAIL, { first: 1000 })).auditTrail.edges.map((e: any) => e.node);
      expect(theirs.length).toBeGreaterThan(0);
      expect(theirs.every((l: any) => l.actorOrg === Q && (l.recordId === null || l.recordId === rec.q.id))).toBe(true);

      for (const [vars, field] of [
        [{ r: "record-7" }, "recordId"],
        [{ after: "bm90LWEtY3Vyc29y" }, "after"],
        [{ first: 0 }, "first"],
        [{ first: 1001 }, "first"],
      ] as const) {
        const res = await t.gql(TRAIL, vars, tok[P]!);
        expect(res.errors?.[0]?.extensions, JSON.stringify(vars)).toMatchObject({ code: "BAD_USER_INPUT", field });
      }
      expect((await t.gql(TRAIL, {}, tok[N]!)).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    });

    it("verifyAuditChain names the link altered behind the hub's back", async () => {
      expect((await ok(t, tok[P]!, VERIFY)).verifyAuditChain).toEqual({ ok: true, checked: await links(P), firstBroken: null });
      // The trigger refuses a change; a superuser that turns triggers off for its transaction is not stopped.
      await expect(db.query("update verification.audit_trail set actor_subject = 'someone-else' where org = $1 and seq = 3", [P])).rejects.toThrow(/append-only/);
      const { rows } = await db.query("select seq from verification.audit_trail where org = $1 and action = 'REPORT_EXPORTED' order by seq limit 1", [P]);
      const seq = Number(rows[0].seq);
      await db.query("begin");
      await db.query("set local session_replication_role = replica");
      await db.query(`update verification.audit_trail set detail = jsonb_set(detail, '{customers}', '0') where org = $1 and seq = $2`, [P, seq]);
      await db.query("commit");
      expect((await ok(t, tok[P]!, VERIFY)).verifyAuditChain).toEqual({ ok: false, checked: seq - 1, firstBroken: `seq ${seq}` });
      // Another provider's chain is untouched.
      expect((await ok(t, tok[Q]!, VERIFY)).verifyAuditChain).toMatchObject({ ok: true, firstBroken: null });
    });
  });
});
