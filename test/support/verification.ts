import { randomBytes } from "node:crypto";
import { expect } from "vitest";
import type { TestHub } from "./hub.js";

/** Customer identification records (the verification subgraph) for tests of any part of it. */

const PARTY = `kind names addresses { lines city region postalCode country } nationalId dateOfBirth citizenship permanentResidence organizedIn locatedIn usPerson usPersonReason`;

/** Every field of a CustomerRecord, for queries and mutation results. */
export const RECORD_FIELDS = `id accountId status usPerson usPersonReason product
  customer { ${PARTY} } beneficialOwners { ${PARTY} }
  payments { type institution cardNumber accountNumber customerIdentifier transactionIds walletAddress }
  emails { value verifiedAt } phones { value verifiedAt }
  checks { id subject method documentType documentNumber issuingCountry expiresOn source result discrepancy resolution checkedBy checkedAt }
  statusHistory { from to reason by at }
  openedAt statusChangedAt verifiedAt reverifyDueAt reverificationDue restrictedUntil closedAt lastAccessAt retainUntil legalHold`;

const RESULT = `record { ${RECORD_FIELDS} } error { field message code }`;
export const OPEN_RECORD = `mutation($in: CustomerRecordInput!) { openCustomerRecord(input: $in) { ${RESULT} } }`;
export const ADD_CHECK = `mutation($id: ID!, $in: VerificationCheckInput!) { addVerificationCheck(recordId: $id, input: $in) { ${RESULT} } }`;
export const SET_STATUS = `mutation($id: ID!, $s: VerificationStatus!, $r: String!) { setVerificationStatus(recordId: $id, status: $s, reason: $r) { ${RESULT} } }`;
export const SET_OWNERS = `mutation($id: ID!, $owners: [PartyInput!]!) { updateBeneficialOwners(recordId: $id, owners: $owners) { ${RESULT} } }`;
export const CUSTOMER_RECORD = `query($a: ID!) { customerRecord(accountId: $a) { ${RECORD_FIELDS} } }`;
export const BY_IDENTIFIER = `query($t: RecordLookupType!, $v: String!) { customerRecordsByIdentifier(type: $t, value: $v) { id accountId } }`;

/**
 * A record input for `accountId`: a foreign individual (so the record needs verification) with values
 * of its own (a random tag in the name, e-mail and national id), every field of `overrides` replacing
 * the default's.
 */
export function recordInput(accountId: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const tag = randomBytes(4).toString("hex").toUpperCase();
  return {
    accountId,
    customer: {
      kind: "INDIVIDUAL",
      names: [`Test Customer ${tag}`],
      addresses: [{ lines: [`${tag} Test Street 1`], city: "Lyon", postalCode: "69001", country: "FR" }],
      nationalId: `FR:${tag}01`,
      dateOfBirth: "1985-07-14",
      citizenship: ["FR"],
      permanentResidence: "FR",
    },
    beneficialOwners: [],
    payments: [{ type: "CARD", institution: "Test Bank", cardNumber: "4111 1111 1111 1111" }],
    emails: [`customer-${tag.toLowerCase()}@example.org`],
    phones: [],
    ...overrides,
  };
}

/**
 * Opens a customer record for an account of the token's org (the account must be registered through
 * the accounts subgraph first) and returns it with every field of RECORD_FIELDS; fails the test on
 * any error.
 */
export async function openRecord(t: TestHub, token: string, accountId: string, overrides: Record<string, unknown> = {}): Promise<any> {
  const res = await t.gql(OPEN_RECORD, { in: recordInput(accountId, overrides) }, token);
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  const result = res.data.openCustomerRecord;
  expect(result.error, JSON.stringify(result.error)).toBeNull();
  return result.record;
}

/** A passing documentary check of `subject` (customer, beneficialOwners[i]); the record after it. */
export async function passCheck(t: TestHub, token: string, record: { id: string }, subject = "customer"): Promise<any> {
  const input = { subject, method: "DOCUMENTARY", documentType: "passport", documentNumber: `P${randomBytes(4).toString("hex").toUpperCase()}`, issuingCountry: "FR", result: "PASS" };
  const res = await t.gql(ADD_CHECK, { id: record.id, in: input }, token);
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  expect(res.data.addVerificationCheck.error, JSON.stringify(res.data.addVerificationCheck.error)).toBeNull();
  return res.data.addVerificationCheck.record;
}

/** Moves a record to `status` (which must be allowed from where it is); the record after it. */
export async function setStatus(t: TestHub, token: string, record: { id: string }, status: string, reason = "test"): Promise<any> {
  const res = await t.gql(SET_STATUS, { id: record.id, s: status, r: reason }, token);
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  expect(res.data.setVerificationStatus.error, JSON.stringify(res.data.setVerificationStatus.error)).toBeNull();
  return res.data.setVerificationStatus.record;
}

/**
 * A PENDING or UNVERIFIED record made VERIFIED: VERIFIED needs a passing check, in the current round,
 * of the customer and of each beneficial owner who is not a US person; this records one for each.
 */
export async function verifyRecord(t: TestHub, token: string, record: { id: string; customer: { usPerson: boolean }; beneficialOwners: { usPerson: boolean }[] }): Promise<any> {
  if (!record.customer.usPerson) await passCheck(t, token, record, "customer");
  for (const [i, owner] of record.beneficialOwners.entries()) if (!owner.usPerson) await passCheck(t, token, record, `beneficialOwners[${i}]`);
  return setStatus(t, token, record, "VERIFIED", "identity verified");
}
