import { InputError } from "../../src/graphql/common.types.js";
import { characterCount, malformedTextAt, NOT_WELL_FORMED } from "../../src/text.js";
import { ACCOUNT_KINDS, ACCOUNT_STATUSES, HOLDER_TYPES, type AccountKind, type AccountStatus, type HolderType } from "./account.entity.js";
import type { AccountInput } from "./account.input.js";
import { canonical, IDENTIFIER_TYPES, isCountryCode, type IdentifierType } from "../../src/identifiers/canonical.js";

export const MAX_ACCOUNTS = 5000;
export const MAX_IDENTIFIERS = 20;
export const MAX_EXTERNAL_REF = 200;
/** Accounts opened before the commercial cloud are input errors. */
const EARLIEST = Date.UTC(1990, 0, 1);
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** An identifier in its canonical form: hashed by the service, then dropped. */
export interface CanonicalIdentifier {
  type: IdentifierType;
  value: string;
}

/** An input item that passed every check that needs no stored state. */
export interface ValidAccount {
  externalRef: string;
  kind: AccountKind;
  holderType: HolderType;
  holderJurisdiction: string;
  usPerson: boolean;
  /** Null: keep the stored set. */
  identifiers: CanonicalIdentifier[] | null;
  /** Null: the stored one, or now for a new account. */
  openedAt: Date | null;
  /** Null: the stored one, or ACTIVE for a new account. */
  status: AccountStatus | null;
  closedAt: Date | null;
}

export type Checked<T> = { ok: true; value: T } | { ok: false; error: InputError };

export const bad = (field: string, message: string, code?: "NOT_FOUND" | "FORBIDDEN"): { ok: false; error: InputError } => ({
  ok: false,
  error: new InputError(`${field}: ${message}`, field, code),
});

const validDate = (d: unknown): d is Date => d instanceof Date && !Number.isNaN(d.getTime());

export function checkCountry(field: string, code: unknown): Checked<string> {
  if (typeof code !== "string" || !isCountryCode(code)) return bad(field, "not an ISO 3166-1 alpha-2 country code (two upper-case letters, e.g. US, DE)");
  return { ok: true, value: code };
}

/**
 * One identifier at `path` (`identifiers[3]`): its type, then its value, well-formed and put in
 * canonical form. The raw value goes no further, and no message repeats it.
 */
export function checkIdentifier(input: { type: IdentifierType; value: string }, path: string): Checked<CanonicalIdentifier> {
  if (!IDENTIFIER_TYPES.includes(input?.type)) return bad(`${path}.type`, `must be one of ${IDENTIFIER_TYPES.join(", ")}`);
  if (typeof input.value !== "string") return bad(`${path}.value`, "must be a string");
  if (!input.value.isWellFormed()) return bad(`${path}.value`, NOT_WELL_FORMED);
  const form = canonical(input.type, input.value);
  if (!form.ok) return bad(`${path}.value`, form.why);
  return { ok: true, value: { type: input.type, value: form.value } };
}

/**
 * The identifiers of an item in canonical form, the same value written twice counting once. An error
 * names the identifier and never echoes its value.
 */
export function checkIdentifiers(field: string, identifiers: readonly { type: IdentifierType; value: string }[], max: number): Checked<CanonicalIdentifier[]> {
  if (identifiers.length > max) return bad(field, `at most ${max} identifiers`);
  const out = new Map<string, CanonicalIdentifier>();
  for (const [i, identifier] of identifiers.entries()) {
    const checked = checkIdentifier(identifier, `${field}[${i}]`);
    if (!checked.ok) return checked;
    out.set(`${checked.value.type}\u0000${checked.value.value}`, checked.value);
  }
  return { ok: true, value: [...out.values()] };
}

/** Checks one item without touching the database. */
export function checkAccount(input: AccountInput, now: Date): Checked<ValidAccount> {
  const malformed = malformedTextAt(input);
  if (malformed !== null) return bad(malformed, NOT_WELL_FORMED);

  const ref = input.externalRef;
  if (typeof ref !== "string" || ref.length === 0) return bad("externalRef", "required (1-200 characters)");
  if (characterCount(ref) > MAX_EXTERNAL_REF) return bad("externalRef", `longer than ${MAX_EXTERNAL_REF} characters`);
  // A reference is matched exactly on every resend: nothing is trimmed, so a padded one is refused.
  if (ref.trim() !== ref) return bad("externalRef", "begins or ends with white space");
  if (CONTROL.test(ref)) return bad("externalRef", "contains control characters");

  if (!ACCOUNT_KINDS.includes(input.kind)) return bad("kind", `must be one of ${ACCOUNT_KINDS.join(", ")}`);
  if (!HOLDER_TYPES.includes(input.holderType)) return bad("holderType", `must be one of ${HOLDER_TYPES.join(", ")}`);
  const jurisdiction = checkCountry("holderJurisdiction", input.holderJurisdiction);
  if (!jurisdiction.ok) return jurisdiction;
  if (typeof input.usPerson !== "boolean") return bad("usPerson", "must be true or false");
  if (input.status != null && !ACCOUNT_STATUSES.includes(input.status)) return bad("status", `must be one of ${ACCOUNT_STATUSES.join(", ")}`);

  let identifiers: CanonicalIdentifier[] | null = null;
  if (input.identifiers != null) {
    const checked = checkIdentifiers("identifiers", input.identifiers, MAX_IDENTIFIERS);
    if (!checked.ok) return checked;
    identifiers = checked.value;
  }

  const openedAt = input.openedAt ?? null;
  if (openedAt !== null) {
    if (!validDate(openedAt)) return bad("openedAt", "not a date-time");
    if (openedAt > now) return bad("openedAt", "in the future");
    if (openedAt.getTime() < EARLIEST) return bad("openedAt", "before 1990");
  }
  const closedAt = input.closedAt ?? null;
  if (closedAt !== null) {
    if (!validDate(closedAt)) return bad("closedAt", "not a date-time");
    if (input.status !== "CLOSED") return bad("closedAt", "only with status CLOSED");
    if (closedAt > now) return bad("closedAt", "in the future");
    if (openedAt !== null && closedAt < openedAt) return bad("closedAt", "before openedAt");
  }

  return {
    ok: true,
    value: {
      externalRef: ref,
      kind: input.kind,
      holderType: input.holderType,
      holderJurisdiction: jurisdiction.value,
      usPerson: input.usPerson,
      identifiers,
      openedAt,
      status: input.status ?? null,
      closedAt,
    },
  };
}
