import { characterCount, malformedTextAt, NOT_WELL_FORMED } from "../../src/text.js";
import { parseCalendarDate } from "./date.scalar.js";
import type { ExemptionInput } from "./exemption.input.js";
import { ACCOUNT_KINDS, EXEMPTION_SCOPES, type ExemptAccountKind, type ExemptionScope } from "./exemption.type.js";
import { bad, checkCalendarDate, checkText, type Checked } from "./record.validation.js";

export const MAX_BASIS = 2000;
export const MAX_PRODUCT = 100;
/** Exemptions under EO 13984 cannot predate it (January 2021); this leaves room for earlier programmes. */
const EARLIEST_GRANT = Date.UTC(2000, 0, 1);
const LATEST_EXPIRY = Date.UTC(2200, 0, 1);
const DAY_MS = 24 * 3600 * 1000;
const CONTROL_BUT_BREAKS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;

export interface ValidExemption {
  scope: ExemptionScope;
  accountKind: ExemptAccountKind | null;
  product: string | null;
  basis: string;
  grantedOn: string;
  expiresOn: string;
}

/** The UTC calendar day of an instant, YYYY-MM-DD: exemptions run from day to day. */
export const utcDay = (at: Date) => at.toISOString().slice(0, 10);

/** Free text of several lines: 1-`max` characters once trimmed; tabs and line breaks, no other control characters. */
function checkBasis(value: unknown): Checked<string> {
  if (typeof value !== "string") return bad("basis", "required");
  if (!value.isWellFormed()) return bad("basis", NOT_WELL_FORMED);
  const text = value.trim();
  if (!text) return bad("basis", `required (1-${MAX_BASIS} characters)`);
  if (characterCount(text) > MAX_BASIS) return bad("basis", `longer than ${MAX_BASIS} characters`);
  if (CONTROL_BUT_BREAKS.test(text)) return bad("basis", "contains control characters (only tab and line breaks are allowed)");
  return { ok: true, value: text };
}

/**
 * Checks an exemption without touching the database: the scope and the one target it needs (a kind
 * for ACCOUNT_KIND, a product for PRODUCT, neither for PROVIDER), the basis, a grant date that has come
 * (today or earlier, UTC) and an expiry after it. Every error names its field.
 */
export function checkExemption(input: ExemptionInput, now: Date): Checked<ValidExemption> {
  const malformed = malformedTextAt(input);
  if (malformed !== null) return bad(malformed, NOT_WELL_FORMED);
  if (!EXEMPTION_SCOPES.includes(input.scope)) return bad("scope", `must be one of ${EXEMPTION_SCOPES.join(", ")}`);

  let accountKind: ExemptAccountKind | null = null;
  if (input.scope === "ACCOUNT_KIND") {
    if (input.accountKind == null) return bad("accountKind", "required with scope ACCOUNT_KIND");
    if (!ACCOUNT_KINDS.includes(input.accountKind)) return bad("accountKind", `must be one of ${ACCOUNT_KINDS.join(", ")}`);
    accountKind = input.accountKind;
  } else if (input.accountKind != null) {
    return bad("accountKind", "only with scope ACCOUNT_KIND");
  }

  let product: string | null = null;
  if (input.scope === "PRODUCT") {
    if (input.product == null) return bad("product", "required with scope PRODUCT");
    const text = checkText("product", input.product, MAX_PRODUCT);
    if (!text.ok) return text;
    product = text.value;
  } else if (input.product != null) {
    return bad("product", "only with scope PRODUCT");
  }

  const basis = checkBasis(input.basis);
  if (!basis.ok) return basis;

  const tomorrow = Date.parse(`${utcDay(now)}T00:00:00Z`) + DAY_MS;
  const grantedOn = checkCalendarDate("grantedOn", input.grantedOn, EARLIEST_GRANT, tomorrow, "in the future: record an exemption once it is granted");
  if (!grantedOn.ok) return grantedOn;
  const granted = parseCalendarDate(grantedOn.value)!.getTime();
  const expiresOn = checkCalendarDate("expiresOn", input.expiresOn, EARLIEST_GRANT, LATEST_EXPIRY, "after 2199-12-31");
  if (!expiresOn.ok) return expiresOn;
  if (parseCalendarDate(expiresOn.value)!.getTime() <= granted) return bad("expiresOn", "must be after grantedOn");

  return { ok: true, value: { scope: input.scope, accountKind, product, basis: basis.value, grantedOn: grantedOn.value, expiresOn: expiresOn.value } };
}
