import { ORG_ID_PATTERN } from "../../src/auth/viewer.js";
import { InputError } from "../../src/graphql/common.types.js";
import type { ResellerLinkInput } from "./link.input.js";
import { parseAccountRef } from "./link.row.js";

export const MAX_LINKS = 5000;
/** How far ahead of the hub's clock a client's "now" may run. */
export const CLOCK_SKEW_MS = 60_000;

export interface ValidLink {
  parent: string;
  child: string;
  since: Date;
  operatorOrg: string | null;
}

const validDate = (d: unknown): d is Date => d instanceof Date && !Number.isNaN(d.getTime());

/** Every check of one item that needs no stored state; the error names the field. */
export function checkLink(input: ResellerLinkInput, now: Date): { ok: true; value: ValidLink } | { ok: false; error: InputError } {
  const bad = (field: string, message: string) => ({ ok: false as const, error: new InputError(`${field}: ${message}`, field) });
  const parent = parseAccountRef(input?.parentAccountId);
  if (!parent) return bad("parentAccountId", "not an account id (account--<uuid>)");
  const child = parseAccountRef(input.childAccountId);
  if (!child) return bad("childAccountId", "not an account id (account--<uuid>)");
  if (child === parent) return bad("childAccountId", "the same account as parentAccountId: an account cannot resell to itself");
  let since = now;
  if (input.since != null) {
    if (!validDate(input.since)) return bad("since", "not a date-time");
    if (input.since.getTime() > now.getTime() + CLOCK_SKEW_MS) return bad("since", "in the future");
    // A client's clock a little ahead of the hub's: its "now" is the hub's now.
    since = input.since.getTime() > now.getTime() ? now : input.since;
  }
  const operatorOrg = input.operatorOrg ?? null;
  if (operatorOrg !== null && (typeof operatorOrg !== "string" || !ORG_ID_PATTERN.test(operatorOrg))) {
    return bad("operatorOrg", "not an org id (lower-case letters, digits and hyphens, up to 63)");
  }
  return { ok: true, value: { parent, child, since, operatorOrg } };
}

/** `at` of endResellerLink: now when omitted, never in the future. */
export function checkEndAt(at: Date | null | undefined, now: Date): { ok: true; value: Date } | { ok: false; error: InputError } {
  if (at == null) return { ok: true, value: now };
  if (!validDate(at)) return { ok: false, error: new InputError("at: not a date-time", "at") };
  if (at.getTime() > now.getTime() + CLOCK_SKEW_MS) return { ok: false, error: new InputError("at: in the future; a link ends now or in the past", "at") };
  return { ok: true, value: at.getTime() > now.getTime() ? now : at };
}
