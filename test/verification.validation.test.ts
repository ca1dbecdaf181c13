import "reflect-metadata";
import { describe, expect, it } from "vitest";
import type { CustomerRecordInput, PartyInput, VerificationCheckInput } from "../subgraphs/verification/record.input.js";
import { checkBeneficialOwners, checkCustomerRecord, checkVerificationCheck, checkReason } from "../subgraphs/verification/record.validation.js";
import { MOVES, moveStatus } from "../subgraphs/verification/record.workflow.js";
import { classifyUsPerson, US_PERSON_REASONS } from "../subgraphs/verification/us-person.js";
import { VERIFICATION_STATUSES, type StoredStatus } from "../subgraphs/verification/record.enums.js";
import { parseCalendarDate } from "../subgraphs/verification/date.scalar.js";

/**
 * The checks a customer identification record passes before anything is stored: each refusal names
 * the field as a path into the input and never repeats what the field held (a personal value).
 */

const NOW = new Date("2026-06-01T12:00:00Z");
const ACCOUNT = "account--0b7c2a4e-9d0f-4c55-9a51-1e2f3a4b5c6d";

const individual = (over: Partial<PartyInput> = {}): PartyInput =>
  ({
    kind: "INDIVIDUAL",
    names: ["Zofia Quellmann-Ytterberg"],
    addresses: [{ lines: ["Via Qualunque 17"], city: "Lugano", region: null, postalCode: "6900", country: "CH" }],
    nationalId: "ch:756-1234-5678-97",
    dateOfBirth: "1980-02-29",
    citizenship: ["CH"],
    permanentResidence: "CH",
    ...over,
  }) as PartyInput;

const entity = (over: Partial<PartyInput> = {}): PartyInput =>
  ({ kind: "ENTITY", names: ["Quellmann Holdings AG"], addresses: [], organizedIn: "CH", locatedIn: "DE", ...over }) as PartyInput;

const record = (over: Partial<CustomerRecordInput> = {}): CustomerRecordInput =>
  ({
    accountId: ACCOUNT,
    customer: individual(),
    beneficialOwners: [],
    payments: [{ type: "CARD", institution: "Banque Exemple", cardNumber: "4111 1111 1111 1111" }],
    emails: ["Zofia.Q@Example.COM"],
    phones: ["+41 44 668 18 00"],
    ...over,
  }) as CustomerRecordInput;

const check = (over: Partial<VerificationCheckInput> = {}): VerificationCheckInput =>
  ({ subject: "customer", method: "DOCUMENTARY", documentType: "passport", documentNumber: "X1234567", issuingCountry: "CH", expiresOn: "2030-01-31", result: "PASS", ...over }) as VerificationCheckInput;

/** The refusal of `input`: its field, and a message that names the field and not `secret`. */
function refusal(result: ReturnType<typeof checkCustomerRecord> | ReturnType<typeof checkVerificationCheck>, secret?: string) {
  expect(result.ok, "expected a refusal").toBe(false);
  if (result.ok) throw new Error("unreachable");
  expect(result.error.message.startsWith(`${result.error.field}: `)).toBe(true);
  if (secret) expect(result.error.message).not.toContain(secret);
  return { field: result.error.field, code: result.error.code, message: result.error.message };
}

describe("customer records: valid input", () => {
  it("keeps canonical forms of identifiers and classifies the customer", () => {
    const r = checkCustomerRecord(record({ contactVerifications: [{ channel: "EMAIL", value: "zofia.q@example.com", verifiedAt: new Date("2026-05-01T00:00:00Z") }] }), NOW, 25);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.accountUuid).toBe("0b7c2a4e-9d0f-4c55-9a51-1e2f3a4b5c6d");
    expect(r.value.customer.nationalId).toBe("CH:7561234567897");
    expect(r.value.customer.usPerson).toBe(false);
    expect(r.value.customer.usPersonReason).toBe(US_PERSON_REASONS.FOREIGN_INDIVIDUAL);
    expect(r.value.customer.country).toBe("CH");
    expect(r.value.payments[0]!.cardNumber).toBe("4111111111111111");
    expect(r.value.emails).toEqual([{ value: "zofia.q@example.com", verifiedAt: new Date("2026-05-01T00:00:00Z") }]);
    expect(r.value.phones).toEqual([{ value: "+41446681800", verifiedAt: null }]);
  });

  it("takes beneficial owners, every payment type and the same e-mail written twice once", () => {
    const r = checkCustomerRecord(
      record({
        customer: entity(),
        beneficialOwners: [individual({ citizenship: ["US", "CH"] }), individual({ citizenship: ["FR"], permanentResidence: "US" }), entity({ organizedIn: "US" })],
        payments: [
          { type: "BANK_ACCOUNT", accountNumber: "DE89 3704 0044 0532 0130 00", institution: "Exempelbank" },
          { type: "VIRTUAL_CURRENCY", walletAddress: "0x52908400098527886E0F7030069857D2E4169EE7", transactionIds: ["tx-1", "tx-2"] },
          { type: "OTHER", customerIdentifier: "C-77" },
        ],
        emails: ["a@example.org", "A@EXAMPLE.org"],
      }),
      NOW,
      25,
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.customer).toMatchObject({ usPerson: false, usPersonReason: US_PERSON_REASONS.FOREIGN_ENTITY, country: "DE" });
    expect(r.value.beneficialOwners.map((o) => o.usPersonReason)).toEqual([US_PERSON_REASONS.CITIZEN, US_PERSON_REASONS.PERMANENT_RESIDENT, US_PERSON_REASONS.US_ENTITY]);
    expect(r.value.payments[1]!.walletAddress).toBe("0x52908400098527886e0f7030069857d2e4169ee7");
    expect(r.value.emails.map((e) => e.value)).toEqual(["a@example.org"]);
  });

  it("accepts a documentary and a non-documentary check", () => {
    const d = checkVerificationCheck(check(), NOW);
    expect(d.ok && d.value).toMatchObject({ ownerIndex: null, checkedAt: NOW, expiresOn: "2030-01-31" });
    const n = checkVerificationCheck({ subject: "beneficialOwners[12]", method: "NON_DOCUMENTARY", source: "credit bureau", result: "INCONCLUSIVE", discrepancy: "address differs", resolution: "utility bill" } as VerificationCheckInput, NOW);
    expect(n.ok && n.value).toMatchObject({ ownerIndex: 12, source: "credit bureau", documentNumber: null });
  });
});

describe("customer records: bad input names the field and not the value", () => {
  const cases: [string, Partial<CustomerRecordInput>, string, string?][] = [
    ["an account id of another form", { accountId: "acct-1" }, "accountId"],
    ["an address's country that is no ISO code", { customer: individual({ addresses: [individual().addresses[0]!, { lines: ["Rue X 1"], country: "XK1" }] }) }, "customer.addresses[1].country", "XK1"],
    ["a lower-case country", { customer: individual({ citizenship: ["ch"] }) }, "customer.citizenship[0]"],
    ["a country code that is not assigned", { customer: individual({ permanentResidence: "ZZ" }) }, "customer.permanentResidence"],
    ["February 30th", { customer: individual({ dateOfBirth: "2023-02-30" }) }, "customer.dateOfBirth", "2023-02-30"],
    ["February 29th of a common year", { customer: individual({ dateOfBirth: "1981-02-29" }) }, "customer.dateOfBirth", "1981-02-29"],
    ["month 13", { customer: individual({ dateOfBirth: "1990-13-01" }) }, "customer.dateOfBirth"],
    ["a date not written YYYY-MM-DD", { customer: individual({ dateOfBirth: "1/2/1990" }) }, "customer.dateOfBirth", "1/2/1990"],
    ["a birth in the future", { customer: individual({ dateOfBirth: "2026-06-02" }) }, "customer.dateOfBirth"],
    ["a date of birth of an entity", { customer: entity({ dateOfBirth: "1990-01-01" }) }, "customer.dateOfBirth"],
    ["an entity without its place of organisation", { customer: entity({ organizedIn: null }) }, "customer.organizedIn"],
    ["an individual without citizenship", { customer: individual({ citizenship: [] }) }, "customer.citizenship"],
    ["no name", { customer: individual({ names: [] }) }, "customer.names"],
    ["a blank name", { customer: individual({ names: ["Z Q", "   "] }) }, "customer.names[1]"],
    ["a name too long", { customer: individual({ names: ["Q".repeat(301)] }) }, "customer.names[0]"],
    ["a name with a line break", { customer: individual({ names: ["Zofia\nQ"] }) }, "customer.names[0]"],
    ["a lone surrogate", { customer: individual({ addresses: [{ lines: ["Via \ud800"], country: "CH" }] }) }, "customer.addresses[0].lines[0]"],
    ["a beneficial owner's bad national id", { beneficialOwners: [individual({ nationalId: "7561234567897" })] }, "beneficialOwners[0].nationalId", "7561234567897"],
    ["a national id of no country", { beneficialOwners: [individual(), individual({ nationalId: "QQ:12345678" })] }, "beneficialOwners[1].nationalId", "12345678"],
    ["too many beneficial owners", { beneficialOwners: Array.from({ length: 51 }, () => individual()) }, "beneficialOwners"],
    ["a card number failing its check digit", { payments: [{ type: "CARD", cardNumber: "4111 1111 1111 1112" }] as never }, "payments[0].cardNumber", "1112"],
    ["a card without its number", { payments: [{ type: "CARD", institution: "B" }] as never }, "payments[0].cardNumber"],
    ["a card number on a bank account", { payments: [{ type: "BANK_ACCOUNT", accountNumber: "1", cardNumber: "4111111111111111" }] as never }, "payments[0].cardNumber"],
    ["a wallet that is none", { payments: [{ type: "VIRTUAL_CURRENCY", walletAddress: "0xnotawallet" }] as never }, "payments[0].walletAddress", "0xnotawallet"],
    ["too many transaction ids", { payments: [{ type: "OTHER", transactionIds: Array.from({ length: 101 }, (_, i) => `t${i}`) }] as never }, "payments[0].transactionIds"],
    ["an e-mail that is none", { emails: ["ok@example.org", "zofia-at-example.org"] }, "emails[1]", "zofia-at-example.org"],
    ["a phone without its country code", { phones: ["044 668 18 00"] }, "phones[0]", "668"],
    ["a verification of a contact not in the record", { contactVerifications: [{ channel: "EMAIL", value: "other@example.org", verifiedAt: NOW }] as never }, "contactVerifications[0].value", "other@example.org"],
    ["a verification in the future", { contactVerifications: [{ channel: "PHONE", value: "+41446681800", verifiedAt: new Date("2026-06-02T00:00:00Z") }] as never }, "contactVerifications[0].verifiedAt"],
    ["a product name too long", { product: "p".repeat(101) }, "product"],
    ["a share of ownership on the customer", { customer: { ...individual(), ownershipPercent: 60 } as never }, "customer.ownershipPercent"],
    ["a share of ownership over 100", { beneficialOwners: [individual({ ownershipPercent: 101 } as never)] }, "beneficialOwners[0].ownershipPercent"],
    ["an owner below the threshold without control", { beneficialOwners: [individual({ ownershipPercent: 10 } as never)] }, "beneficialOwners[0].ownershipPercent"],
    ["shares that add up to more than 100%", { beneficialOwners: [individual({ ownershipPercent: 60 } as never), entity({ ownershipPercent: 50 } as never)] }, "beneficialOwners"],
  ];
  for (const [what, over, field, secret] of cases) {
    it(what, () => {
      const r = refusal(checkCustomerRecord(record(over), NOW, 25), secret);
      expect(r.field).toBe(field);
    });
  }

  it("an account id of another form names nothing (NOT_FOUND)", () => {
    expect(refusal(checkCustomerRecord(record({ accountId: "account--nope" }), NOW, 25)).code).toBe("NOT_FOUND");
  });

  it("an owner below the threshold counts when it has substantial control; the threshold is the setting's", () => {
    expect(checkBeneficialOwners("owners", [individual({ ownershipPercent: 10, substantialControl: true } as never)], NOW, 25).ok).toBe(true);
    expect(checkBeneficialOwners("owners", [individual({ ownershipPercent: 10 } as never)], NOW, 10).ok).toBe(true);
    expect(checkBeneficialOwners("owners", [individual({ ownershipPercent: 25 } as never), entity({ ownershipPercent: 75 } as never)], NOW, 25).ok).toBe(true);
  });

  it("replacing beneficial owners checks them the same way", () => {
    const r = checkBeneficialOwners("beneficialOwners", [entity({ organizedIn: "U1" })], NOW, 25);
    expect(r.ok || r.error.field).toBe("beneficialOwners[0].organizedIn");
  });

  it("a status change needs a reason", () => {
    expect(checkReason("").ok).toBe(false);
    expect(checkReason("documents received").ok).toBe(true);
  });
});

describe("verification checks: bad input", () => {
  const cases: [string, Partial<VerificationCheckInput>, string, string?][] = [
    ["a subject of another form", { subject: "owner 1" }, "subject"],
    ["a subject with a leading zero", { subject: "beneficialOwners[01]" }, "subject"],
    ["a documentary check without a document number", { documentNumber: null }, "documentNumber"],
    ["an impossible expiry", { expiresOn: "2031-04-31" }, "expiresOn", "2031-04-31"],
    ["an issuing country that is none", { issuingCountry: "EU" }, "issuingCountry"],
    ["a source on a documentary check", { source: "bureau" }, "source"],
    ["a non-documentary check with a document", { method: "NON_DOCUMENTARY", source: "bureau" }, "documentType"],
    ["a non-documentary check without its source", { method: "NON_DOCUMENTARY", documentType: null, documentNumber: null, issuingCountry: null, expiresOn: null }, "source"],
    ["a check made in the future", { checkedAt: new Date("2026-06-01T12:00:01Z") }, "checkedAt"],
    ["a discrepancy too long", { discrepancy: "d".repeat(2001) }, "discrepancy"],
    ["a result that is none", { result: "MAYBE" as never }, "result"],
  ];
  for (const [what, over, field, secret] of cases) {
    it(what, () => {
      expect(refusal(checkVerificationCheck(check(over), NOW), secret).field).toBe(field);
    });
  }
});

describe("calendar dates", () => {
  it("exist or are null", () => {
    expect(parseCalendarDate("2024-02-29")?.toISOString()).toBe("2024-02-29T00:00:00.000Z");
    for (const text of ["2023-02-29", "2023-02-30", "2023-04-31", "2023-00-10", "2023-01-00", "2023-1-1", "20230101", "0099-01-01", "2023-01-01T00:00:00Z"]) {
      expect(parseCalendarDate(text), text).toBeNull();
    }
  });
});

describe("US-person classification", () => {
  it("follows citizenship and permanent residence for individuals, organisation for entities", () => {
    expect(classifyUsPerson({ kind: "INDIVIDUAL", citizenship: ["DE", "US"] })).toEqual({ usPerson: true, reason: US_PERSON_REASONS.CITIZEN });
    expect(classifyUsPerson({ kind: "INDIVIDUAL", citizenship: ["DE"], permanentResidence: "US" })).toEqual({ usPerson: true, reason: US_PERSON_REASONS.PERMANENT_RESIDENT });
    expect(classifyUsPerson({ kind: "INDIVIDUAL", citizenship: ["DE"], permanentResidence: "FR" })).toEqual({ usPerson: false, reason: US_PERSON_REASONS.FOREIGN_INDIVIDUAL });
    expect(classifyUsPerson({ kind: "ENTITY", organizedIn: "US" })).toEqual({ usPerson: true, reason: US_PERSON_REASONS.US_ENTITY });
    expect(classifyUsPerson({ kind: "ENTITY", organizedIn: "KY" })).toEqual({ usPerson: false, reason: US_PERSON_REASONS.FOREIGN_ENTITY });
    // An entity's citizenship-like fields do not make it a US person.
    expect(classifyUsPerson({ kind: "ENTITY", organizedIn: "KY", citizenship: ["US"] }).usPerson).toBe(false);
  });

  it("counts any person in the United States (EO 13984 §5(k)), as the accounts subgraph's usPerson does", () => {
    expect(classifyUsPerson({ kind: "INDIVIDUAL", citizenship: ["RU"], locatedIn: "US" })).toEqual({ usPerson: true, reason: US_PERSON_REASONS.IN_US });
    expect(classifyUsPerson({ kind: "ENTITY", organizedIn: "KY", locatedIn: "US" })).toEqual({ usPerson: true, reason: US_PERSON_REASONS.IN_US });
    expect(classifyUsPerson({ kind: "INDIVIDUAL", citizenship: ["RU"], locatedIn: "DE" }).usPerson).toBe(false);
  });

  it("reasons name no country but the United States", () => {
    const reasons = [
      classifyUsPerson({ kind: "INDIVIDUAL", citizenship: ["KP"], permanentResidence: "IR" }).reason,
      classifyUsPerson({ kind: "ENTITY", organizedIn: "KP" }).reason,
    ];
    for (const reason of reasons) expect(reason).not.toMatch(/KP|IR/);
  });
});

describe("the verification workflow", () => {
  const stored = VERIFICATION_STATUSES.filter((s): s is StoredStatus => s !== "EXEMPT");
  const allowed = new Set(["PENDING>VERIFIED", "PENDING>UNVERIFIED", "PENDING>FAILED", "PENDING>CLOSED", "UNVERIFIED>VERIFIED", "UNVERIFIED>FAILED", "UNVERIFIED>CLOSED", "VERIFIED>PENDING", "VERIFIED>CLOSED", "FAILED>CLOSED"]);

  it("allows exactly the moves of the rule and refuses every other, naming the status", () => {
    for (const from of stored) {
      for (const to of VERIFICATION_STATUSES) {
        const r = moveStatus(from, to);
        expect(r.ok, `${from} → ${to}`).toBe(allowed.has(`${from}>${to}`));
        if (!r.ok) expect(r.error.field).toBe("status");
      }
    }
    expect(Object.values(MOVES).flat()).toHaveLength(allowed.size);
  });

  it("says where a refused move may go instead", () => {
    const r = moveStatus("FAILED", "VERIFIED");
    expect(!r.ok && r.error.message).toBe("status: cannot move from FAILED to VERIFIED: from FAILED a record moves only to CLOSED");
  });
});
