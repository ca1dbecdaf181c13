import { InputError } from "../../src/graphql/common.types.js";
import { parseStixId } from "../../src/graphql/ids.js";
import { canonical, isCountryCode, type IdentifierType } from "../../src/identifiers/canonical.js";
import { characterCount, malformedTextAt, NOT_WELL_FORMED } from "../../src/text.js";
import { parseCalendarDate } from "./date.scalar.js";
import {
  CHECK_METHODS,
  CHECK_RESULTS,
  CONTACT_CHANNELS,
  HOLDER_TYPES,
  PAYMENT_TYPES,
  type CheckMethod,
  type CheckResult,
  type HolderType,
  type PaymentType,
} from "./record.enums.js";
import type { AddressInput, CustomerRecordInput, PartyInput, PaymentInput, VerificationCheckInput } from "./record.input.js";
import { classifyUsPerson } from "./us-person.js";

/*
 * Checks of a customer identification record that need no stored state. Every error names the field
 * as a path into the input (`customer.addresses[1].country`, `beneficialOwners[0].nationalId`) and
 * says what is wrong with it, never what it holds: these are personal values.
 */

export const LIMITS = {
  names: 10,
  name: 300,
  addresses: 10,
  addressLines: 5,
  addressLine: 200,
  city: 100,
  region: 100,
  postalCode: 20,
  citizenship: 10,
  beneficialOwners: 50,
  payments: 20,
  institution: 200,
  accountNumber: 64,
  customerIdentifier: 200,
  transactionIds: 100,
  transactionId: 200,
  emails: 20,
  phones: 20,
  contactVerifications: 40,
  product: 100,
  documentType: 100,
  documentNumber: 64,
  source: 200,
  discrepancy: 2000,
  resolution: 2000,
  reason: 2000,
} as const;

/** Nobody alive was born before this; a date of birth before it is a typing error. */
const EARLIEST_BIRTH = Date.UTC(1900, 0, 1);
/** Documents' expiry dates are calendar dates of this range. */
const EARLIEST_EXPIRY = Date.UTC(1900, 0, 1);
const LATEST_EXPIRY = Date.UTC(2200, 0, 1);
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

export type Checked<T> = { ok: true; value: T } | { ok: false; error: InputError };

export const bad = (field: string, message: string, code?: "NOT_FOUND" | "FORBIDDEN"): { ok: false; error: InputError } => ({
  ok: false,
  error: new InputError(`${field}: ${message}`, field, code),
});

export interface ValidAddress {
  lines: string[];
  city: string | null;
  region: string | null;
  postalCode: string | null;
  country: string;
}

export interface ValidParty {
  kind: HolderType;
  names: string[];
  addresses: ValidAddress[];
  /** Canonical `CC:NUMBER`. */
  nationalId: string | null;
  /** YYYY-MM-DD. */
  dateOfBirth: string | null;
  citizenship: string[];
  permanentResidence: string | null;
  organizedIn: string | null;
  locatedIn: string | null;
  /** Beneficial owners only, as given. */
  ownershipPercent: number | null;
  substantialControl: boolean | null;
  usPerson: boolean;
  usPersonReason: string;
  /** Where the party is, for counting by location: where located, else residence or organisation, else first citizenship. */
  country: string | null;
}

export interface ValidPayment {
  type: PaymentType;
  institution: string | null;
  /** Digits only. */
  cardNumber: string | null;
  accountNumber: string | null;
  customerIdentifier: string | null;
  transactionIds: string[];
  /** Canonical wallet form. */
  walletAddress: string | null;
}

export interface ValidContact {
  /** Canonical: lower-case e-mail, E.164 phone. */
  value: string;
  verifiedAt: Date | null;
}

export interface ValidRecord {
  accountUuid: string;
  customer: ValidParty;
  beneficialOwners: ValidParty[];
  payments: ValidPayment[];
  emails: ValidContact[];
  phones: ValidContact[];
  product: string | null;
}

export interface ValidCheck {
  /** "customer" or "beneficialOwners[i]". */
  subject: string;
  /** null: the customer; else the index of the beneficial owner. */
  ownerIndex: number | null;
  method: CheckMethod;
  documentType: string | null;
  documentNumber: string | null;
  issuingCountry: string | null;
  expiresOn: string | null;
  source: string | null;
  result: CheckResult;
  discrepancy: string | null;
  resolution: string | null;
  checkedAt: Date;
}

const validInstant = (d: unknown): d is Date => d instanceof Date && !Number.isNaN(d.getTime());

export const parseAccountId = (id: unknown): string | null => parseStixId("account", id);

/**
 * Free text of a personal field: a string of 1-`max` characters that is not blank and holds no control
 * characters. Stored as written: text from clients is checked, never silently changed.
 */
export function checkText(field: string, value: unknown, max: number): Checked<string> {
  if (typeof value !== "string") return bad(field, "must be a string");
  if (!value.isWellFormed()) return bad(field, NOT_WELL_FORMED);
  if (value.trim() === "") return bad(field, "must not be empty or blank");
  if (characterCount(value) > max) return bad(field, `longer than ${max} characters`);
  if (CONTROL.test(value)) return bad(field, "contains control characters (line breaks included)");
  return { ok: true, value };
}

/** `checkText` for an optional field: null and undefined are null. */
function optionalText(field: string, value: unknown, max: number): Checked<string | null> {
  return value == null ? { ok: true, value: null } : checkText(field, value, max);
}

export function checkCountry(field: string, code: unknown): Checked<string> {
  if (typeof code !== "string" || !isCountryCode(code)) return bad(field, "not an ISO 3166-1 alpha-2 country code (two upper-case letters, e.g. US, DE)");
  return { ok: true, value: code };
}

function optionalCountry(field: string, code: unknown): Checked<string | null> {
  return code == null ? { ok: true, value: null } : checkCountry(field, code);
}

/** A calendar date that exists, YYYY-MM-DD, within [from, to). */
export function checkCalendarDate(field: string, value: unknown, from: number, to: number, tooLate: string): Checked<string> {
  if (typeof value !== "string") return bad(field, "must be a date, YYYY-MM-DD");
  const date = parseCalendarDate(value);
  if (!date) return bad(field, "not a date that exists (YYYY-MM-DD with a month of 01-12 and a day within that month)");
  if (date.getTime() < from) return bad(field, `before ${new Date(from).toISOString().slice(0, 10)}`);
  if (date.getTime() >= to) return bad(field, tooLate);
  return { ok: true, value };
}

/** The canonical form of an identifier-like field (card, e-mail, phone, national id, wallet). */
function identifier(field: string, type: IdentifierType, value: unknown): Checked<string> {
  if (typeof value !== "string") return bad(field, "must be a string");
  if (!value.isWellFormed()) return bad(field, NOT_WELL_FORMED);
  const form = canonical(type, value);
  if (!form.ok) return bad(field, form.why);
  return { ok: true, value: form.value };
}

function list<T>(field: string, value: readonly T[] | null | undefined, max: number, min = 0): Checked<readonly T[]> {
  const items = value ?? [];
  if (!Array.isArray(items)) return bad(field, "must be a list");
  if (items.length < min) return bad(field, min === 1 ? "at least one is required" : `at least ${min} are required`);
  if (items.length > max) return bad(field, `at most ${max}`);
  return { ok: true, value: items };
}

export function checkAddress(path: string, input: AddressInput): Checked<ValidAddress> {
  const lines = list(`${path}.lines`, input?.lines, LIMITS.addressLines, 1);
  if (!lines.ok) return lines;
  const out: string[] = [];
  for (const [i, line] of lines.value.entries()) {
    const checked = checkText(`${path}.lines[${i}]`, line, LIMITS.addressLine);
    if (!checked.ok) return checked;
    out.push(checked.value);
  }
  const city = optionalText(`${path}.city`, input.city, LIMITS.city);
  if (!city.ok) return city;
  const region = optionalText(`${path}.region`, input.region, LIMITS.region);
  if (!region.ok) return region;
  const postalCode = optionalText(`${path}.postalCode`, input.postalCode, LIMITS.postalCode);
  if (!postalCode.ok) return postalCode;
  const country = checkCountry(`${path}.country`, input.country);
  if (!country.ok) return country;
  return { ok: true, value: { lines: out, city: city.value, region: region.value, postalCode: postalCode.value, country: country.value } };
}

/** One party (the customer or a beneficial owner) at `path`, classified as a US person or not. */
export function checkParty(path: string, input: PartyInput, now: Date): Checked<ValidParty> {
  if (input == null || typeof input !== "object") return bad(path, "required");
  if (!HOLDER_TYPES.includes(input.kind)) return bad(`${path}.kind`, `must be one of ${HOLDER_TYPES.join(", ")}`);
  const individual = input.kind === "INDIVIDUAL";

  const names = list(`${path}.names`, input.names, LIMITS.names, 1);
  if (!names.ok) return names;
  const validNames: string[] = [];
  for (const [i, name] of names.value.entries()) {
    const checked = checkText(`${path}.names[${i}]`, name, LIMITS.name);
    if (!checked.ok) return checked;
    validNames.push(checked.value);
  }

  const addresses = list(`${path}.addresses`, input.addresses, LIMITS.addresses);
  if (!addresses.ok) return addresses;
  const validAddresses: ValidAddress[] = [];
  for (const [i, address] of addresses.value.entries()) {
    const checked = checkAddress(`${path}.addresses[${i}]`, address);
    if (!checked.ok) return checked;
    validAddresses.push(checked.value);
  }

  let nationalId: string | null = null;
  if (input.nationalId != null) {
    const checked = identifier(`${path}.nationalId`, "NATIONAL_ID", input.nationalId);
    if (!checked.ok) return checked;
    nationalId = checked.value;
  }

  let dateOfBirth: string | null = null;
  if (input.dateOfBirth != null) {
    if (!individual) return bad(`${path}.dateOfBirth`, "for individuals only");
    const checked = checkCalendarDate(`${path}.dateOfBirth`, input.dateOfBirth, EARLIEST_BIRTH, now.getTime(), "in the future");
    if (!checked.ok) return checked;
    dateOfBirth = checked.value;
  }

  const citizenship: string[] = [];
  if (input.citizenship != null && !individual) return bad(`${path}.citizenship`, "for individuals only (an entity has organizedIn)");
  if (individual) {
    const codes = list(`${path}.citizenship`, input.citizenship, LIMITS.citizenship, 1);
    if (!codes.ok) return codes;
    for (const [i, code] of codes.value.entries()) {
      const checked = checkCountry(`${path}.citizenship[${i}]`, code);
      if (!checked.ok) return checked;
      if (!citizenship.includes(checked.value)) citizenship.push(checked.value);
    }
  }

  if (input.permanentResidence != null && !individual) return bad(`${path}.permanentResidence`, "for individuals only");
  const permanentResidence = optionalCountry(`${path}.permanentResidence`, input.permanentResidence);
  if (!permanentResidence.ok) return permanentResidence;

  if (input.organizedIn != null && individual) return bad(`${path}.organizedIn`, "for entities only (an individual has citizenship)");
  if (!individual && input.organizedIn == null) return bad(`${path}.organizedIn`, "required for an entity");
  const organizedIn = optionalCountry(`${path}.organizedIn`, input.organizedIn);
  if (!organizedIn.ok) return organizedIn;

  const locatedIn = optionalCountry(`${path}.locatedIn`, input.locatedIn);
  if (!locatedIn.ok) return locatedIn;

  const us = classifyUsPerson({ kind: input.kind, citizenship, permanentResidence: permanentResidence.value, organizedIn: organizedIn.value, locatedIn: locatedIn.value });
  return {
    ok: true,
    value: {
      kind: input.kind,
      names: validNames,
      addresses: validAddresses,
      nationalId,
      dateOfBirth,
      citizenship,
      permanentResidence: permanentResidence.value,
      organizedIn: organizedIn.value,
      locatedIn: locatedIn.value,
      ownershipPercent: input.ownershipPercent ?? null,
      substantialControl: input.substantialControl ?? null,
      usPerson: us.usPerson,
      usPersonReason: us.reason,
      country: locatedIn.value ?? (individual ? (permanentResidence.value ?? citizenship[0] ?? null) : organizedIn.value),
    },
  };
}

/** The beneficial owners of a record at `path` (`beneficialOwners`); also used when they are replaced. */
export function checkBeneficialOwners(path: string, owners: readonly PartyInput[] | null | undefined, now: Date, thresholdPercent: number): Checked<ValidParty[]> {
  const malformed = malformedTextAt(owners ?? [], path);
  if (malformed !== null) return bad(malformed, NOT_WELL_FORMED);
  const items = list(path, owners, LIMITS.beneficialOwners);
  if (!items.ok) return items;
  const out: ValidParty[] = [];
  let total = 0;
  for (const [i, owner] of items.value.entries()) {
    const checked = checkParty(`${path}[${i}]`, owner, now);
    if (!checked.ok) return checked;
    const share = checked.value.ownershipPercent;
    if (share !== null) {
      if (typeof share !== "number" || !Number.isFinite(share) || share <= 0 || share > 100) return bad(`${path}[${i}].ownershipPercent`, "must be more than 0 and at most 100");
      // A beneficial owner holds the threshold's share or controls the customer (89 FR 5698): a smaller
      // holder without control is not one, and listing it would be a mistake to correct, not to keep.
      if (share < thresholdPercent && checked.value.substantialControl !== true) {
        return bad(`${path}[${i}].ownershipPercent`, `below ${thresholdPercent}% without substantialControl: not a beneficial owner`);
      }
      total += share;
    }
    out.push(checked.value);
  }
  if (total > 100) return bad(path, "the shares of ownership add up to more than 100%");
  return { ok: true, value: out };
}

export function checkPayment(path: string, input: PaymentInput): Checked<ValidPayment> {
  if (input == null || typeof input !== "object") return bad(path, "required");
  if (!PAYMENT_TYPES.includes(input.type)) return bad(`${path}.type`, `must be one of ${PAYMENT_TYPES.join(", ")}`);
  const institution = optionalText(`${path}.institution`, input.institution, LIMITS.institution);
  if (!institution.ok) return institution;

  let cardNumber: string | null = null;
  if (input.cardNumber != null) {
    if (input.type !== "CARD") return bad(`${path}.cardNumber`, "only with type CARD");
    const checked = identifier(`${path}.cardNumber`, "PAYMENT_CARD", input.cardNumber);
    if (!checked.ok) return checked;
    cardNumber = checked.value;
  } else if (input.type === "CARD") return bad(`${path}.cardNumber`, "required with type CARD");

  if (input.accountNumber != null && (input.type === "CARD" || input.type === "VIRTUAL_CURRENCY")) {
    return bad(`${path}.accountNumber`, "only with type BANK_ACCOUNT or OTHER");
  }
  if (input.accountNumber == null && input.type === "BANK_ACCOUNT") return bad(`${path}.accountNumber`, "required with type BANK_ACCOUNT");
  const accountNumber = optionalText(`${path}.accountNumber`, input.accountNumber, LIMITS.accountNumber);
  if (!accountNumber.ok) return accountNumber;

  const customerIdentifier = optionalText(`${path}.customerIdentifier`, input.customerIdentifier, LIMITS.customerIdentifier);
  if (!customerIdentifier.ok) return customerIdentifier;

  const ids = list(`${path}.transactionIds`, input.transactionIds, LIMITS.transactionIds);
  if (!ids.ok) return ids;
  const transactionIds: string[] = [];
  for (const [i, id] of ids.value.entries()) {
    const checked = checkText(`${path}.transactionIds[${i}]`, id, LIMITS.transactionId);
    if (!checked.ok) return checked;
    transactionIds.push(checked.value);
  }

  let walletAddress: string | null = null;
  if (input.walletAddress != null) {
    if (input.type !== "VIRTUAL_CURRENCY") return bad(`${path}.walletAddress`, "only with type VIRTUAL_CURRENCY");
    const checked = identifier(`${path}.walletAddress`, "CRYPTO_WALLET", input.walletAddress);
    if (!checked.ok) return checked;
    walletAddress = checked.value;
  } else if (input.type === "VIRTUAL_CURRENCY") return bad(`${path}.walletAddress`, "required with type VIRTUAL_CURRENCY");

  return {
    ok: true,
    value: {
      type: input.type,
      institution: institution.value,
      cardNumber,
      accountNumber: accountNumber.value,
      customerIdentifier: customerIdentifier.value,
      transactionIds,
      walletAddress,
    },
  };
}

/** E-mails or phones in canonical form, each once, in the order given. */
function contacts(field: string, type: "EMAIL" | "PHONE", values: readonly string[] | null | undefined, max: number): Checked<string[]> {
  const items = list(field, values, max);
  if (!items.ok) return items;
  const out: string[] = [];
  for (const [i, value] of items.value.entries()) {
    const checked = identifier(`${field}[${i}]`, type, value);
    if (!checked.ok) return checked;
    if (!out.includes(checked.value)) out.push(checked.value);
  }
  return { ok: true, value: out };
}

/** Checks a whole new record without touching the database; `now` is the hub's clock. */
export function checkCustomerRecord(input: CustomerRecordInput, now: Date, ownershipThresholdPercent: number): Checked<ValidRecord> {
  const malformed = malformedTextAt(input);
  if (malformed !== null) return bad(malformed, NOT_WELL_FORMED);
  const accountUuid = parseAccountId(input.accountId);
  if (!accountUuid) return bad("accountId", "no account with this id", "NOT_FOUND");

  const customer = checkParty("customer", input.customer, now);
  if (!customer.ok) return customer;
  for (const field of ["ownershipPercent", "substantialControl"] as const) {
    if (input.customer[field] != null) return bad(`customer.${field}`, "for beneficial owners only");
  }
  const owners = checkBeneficialOwners("beneficialOwners", input.beneficialOwners, now, ownershipThresholdPercent);
  if (!owners.ok) return owners;

  const paymentList = list("payments", input.payments, LIMITS.payments);
  if (!paymentList.ok) return paymentList;
  const payments: ValidPayment[] = [];
  for (const [i, payment] of paymentList.value.entries()) {
    const checked = checkPayment(`payments[${i}]`, payment);
    if (!checked.ok) return checked;
    payments.push(checked.value);
  }

  const emails = contacts("emails", "EMAIL", input.emails, LIMITS.emails);
  if (!emails.ok) return emails;
  const phones = contacts("phones", "PHONE", input.phones, LIMITS.phones);
  if (!phones.ok) return phones;

  const verified = { EMAIL: new Map<string, Date>(), PHONE: new Map<string, Date>() };
  const verifications = list("contactVerifications", input.contactVerifications, LIMITS.contactVerifications);
  if (!verifications.ok) return verifications;
  for (const [i, v] of verifications.value.entries()) {
    const path = `contactVerifications[${i}]`;
    if (!CONTACT_CHANNELS.includes(v?.channel)) return bad(`${path}.channel`, `must be one of ${CONTACT_CHANNELS.join(", ")}`);
    const value = identifier(`${path}.value`, v.channel, v.value);
    if (!value.ok) return value;
    const known = v.channel === "EMAIL" ? emails.value : phones.value;
    if (!known.includes(value.value)) return bad(`${path}.value`, `not one of the record's ${v.channel === "EMAIL" ? "emails" : "phones"}`);
    if (verified[v.channel].has(value.value)) return bad(`${path}.value`, "verified twice: give one time per e-mail or phone");
    if (!validInstant(v.verifiedAt)) return bad(`${path}.verifiedAt`, "not a date-time");
    if (v.verifiedAt > now) return bad(`${path}.verifiedAt`, "in the future");
    verified[v.channel].set(value.value, v.verifiedAt);
  }

  const product = optionalText("product", input.product, LIMITS.product);
  if (!product.ok) return product;

  return {
    ok: true,
    value: {
      accountUuid,
      customer: customer.value,
      beneficialOwners: owners.value,
      payments,
      emails: emails.value.map((value) => ({ value, verifiedAt: verified.EMAIL.get(value) ?? null })),
      phones: phones.value.map((value) => ({ value, verifiedAt: verified.PHONE.get(value) ?? null })),
      product: product.value,
    },
  };
}

const SUBJECT = /^(?:customer|beneficialOwners\[(0|[1-9]\d{0,2})\])$/;

/** Checks one verification check without touching the database; whether its subject exists is the service's. */
export function checkVerificationCheck(input: VerificationCheckInput, now: Date): Checked<ValidCheck> {
  const malformed = malformedTextAt(input);
  if (malformed !== null) return bad(malformed, NOT_WELL_FORMED);
  const subject = typeof input.subject === "string" ? SUBJECT.exec(input.subject) : null;
  if (!subject) return bad("subject", "must be customer or beneficialOwners[i] (i from 0)");
  const ownerIndex = subject[1] === undefined ? null : Number(subject[1]);
  if (!CHECK_METHODS.includes(input.method)) return bad("method", `must be one of ${CHECK_METHODS.join(", ")}`);
  const documentary = input.method === "DOCUMENTARY";

  let documentType: string | null = null;
  let documentNumber: string | null = null;
  let issuingCountry: string | null = null;
  let expiresOn: string | null = null;
  let source: string | null = null;
  if (documentary) {
    const type = checkText("documentType", input.documentType, LIMITS.documentType);
    if (!type.ok) return input.documentType == null ? bad("documentType", "required with method DOCUMENTARY") : type;
    documentType = type.value;
    const number = checkText("documentNumber", input.documentNumber, LIMITS.documentNumber);
    if (!number.ok) return input.documentNumber == null ? bad("documentNumber", "required with method DOCUMENTARY") : number;
    documentNumber = number.value;
    if (input.issuingCountry == null) return bad("issuingCountry", "required with method DOCUMENTARY");
    const country = checkCountry("issuingCountry", input.issuingCountry);
    if (!country.ok) return country;
    issuingCountry = country.value;
    if (input.expiresOn != null) {
      const checked = checkCalendarDate("expiresOn", input.expiresOn, EARLIEST_EXPIRY, LATEST_EXPIRY, "after 2199");
      if (!checked.ok) return checked;
      expiresOn = checked.value;
    }
    if (input.source != null) return bad("source", "only with method NON_DOCUMENTARY");
  } else {
    for (const field of ["documentType", "documentNumber", "issuingCountry", "expiresOn"] as const) {
      if (input[field] != null) return bad(field, "only with method DOCUMENTARY");
    }
    const checked = checkText("source", input.source, LIMITS.source);
    if (!checked.ok) return input.source == null ? bad("source", "required with method NON_DOCUMENTARY") : checked;
    source = checked.value;
  }

  if (!CHECK_RESULTS.includes(input.result)) return bad("result", `must be one of ${CHECK_RESULTS.join(", ")}`);
  const discrepancy = optionalText("discrepancy", input.discrepancy, LIMITS.discrepancy);
  if (!discrepancy.ok) return discrepancy;
  const resolution = optionalText("resolution", input.resolution, LIMITS.resolution);
  if (!resolution.ok) return resolution;

  let checkedAt = now;
  if (input.checkedAt != null) {
    if (!validInstant(input.checkedAt)) return bad("checkedAt", "not a date-time");
    if (input.checkedAt > now) return bad("checkedAt", "in the future");
    checkedAt = input.checkedAt;
  }
  return {
    ok: true,
    value: {
      subject: input.subject,
      ownerIndex,
      method: input.method,
      documentType,
      documentNumber,
      issuingCountry,
      expiresOn,
      source,
      result: input.result,
      discrepancy: discrepancy.value,
      resolution: resolution.value,
      checkedAt,
    },
  };
}

/** The reason given with a status change: required text, sealed with the record. */
export const checkReason = (value: unknown): Checked<string> => checkText("reason", value, LIMITS.reason);
