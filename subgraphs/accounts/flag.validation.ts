import { TLP_LEVELS, type Tlp } from "../../src/auth/tlp.js";
import { ORG_ID_PATTERN } from "../../src/auth/viewer.js";
import { parseStixId } from "../../src/graphql/ids.js";
import { characterCount, malformedTextAt, NOT_WELL_FORMED } from "../../src/text.js";
import { parseAccountId } from "./account.row.js";
import { bad, type Checked } from "./account.validation.js";
import { FLAG_CATEGORIES, type FlagCategory } from "./flag.entity.js";
import type { FlagInput } from "./flag.input.js";

export const MAX_SHARED_WITH = 100;
export const MAX_EVIDENCE = 100;
export const MAX_REASON = 2000;
const TEN_YEARS_MS = 10 * 365 * 24 * 3600 * 1000;

export interface ValidFlag {
  accountUuid: string;
  category: FlagCategory;
  confidence: number;
  tlp: Tlp;
  sharedWith: string[];
  indicatorUuids: string[];
  incidentUuids: string[];
  expiresAt: Date | null;
}

/** Evidence ids of one kind as uuids, each once; an id of another form names nothing (NOT_FOUND). */
function evidence(field: string, type: "indicator" | "incident", ids: readonly string[] | null | undefined): Checked<string[]> {
  const list = ids ?? [];
  if (list.length > MAX_EVIDENCE) return bad(field, `at most ${MAX_EVIDENCE} ids`);
  const out: string[] = [];
  for (const [i, id] of list.entries()) {
    const uuid = parseStixId(type, id);
    if (!uuid) return bad(`${field}[${i}]`, `no ${type} with this id`, "NOT_FOUND");
    if (!out.includes(uuid)) out.push(uuid);
  }
  return { ok: true, value: out };
}

/** Checks a flag without touching the database; who may see the account and the evidence is the service's. */
export function checkFlag(input: FlagInput, owner: string, now: Date): Checked<ValidFlag> {
  const malformed = malformedTextAt(input);
  if (malformed !== null) return bad(malformed, NOT_WELL_FORMED);
  const accountUuid = parseAccountId(input.accountId);
  if (!accountUuid) return bad("accountId", "no account with this id", "NOT_FOUND");
  if (!FLAG_CATEGORIES.includes(input.category)) return bad("category", `must be one of ${FLAG_CATEGORIES.join(", ")}`);
  if (!Number.isInteger(input.confidence) || input.confidence < 0 || input.confidence > 100) return bad("confidence", "must be an integer from 0 to 100");
  if (!TLP_LEVELS.includes(input.tlp)) return bad("tlp", `must be one of ${TLP_LEVELS.join(", ")}`);

  const shared = input.sharedWith ?? [];
  if (shared.length > MAX_SHARED_WITH) return bad("sharedWith", `at most ${MAX_SHARED_WITH} orgs`);
  for (const [i, org] of shared.entries()) {
    if (typeof org !== "string" || !ORG_ID_PATTERN.test(org)) return bad(`sharedWith[${i}]`, "not an org id");
  }
  const sharedWith = [...new Set(shared)].filter((org) => org !== owner).sort();

  const indicators = evidence("indicatorIds", "indicator", input.indicatorIds);
  if (!indicators.ok) return indicators;
  const incidents = evidence("incidentIds", "incident", input.incidentIds);
  if (!incidents.ok) return incidents;

  const expiresAt = input.expiresAt ?? null;
  if (expiresAt !== null) {
    if (!(expiresAt instanceof Date) || Number.isNaN(expiresAt.getTime())) return bad("expiresAt", "not a date-time");
    if (expiresAt <= now) return bad("expiresAt", "must be in the future");
    if (expiresAt.getTime() - now.getTime() > TEN_YEARS_MS) return bad("expiresAt", "more than ten years from now");
  }
  return {
    ok: true,
    value: {
      accountUuid,
      category: input.category,
      confidence: input.confidence,
      tlp: input.tlp,
      sharedWith,
      indicatorUuids: indicators.value,
      incidentUuids: incidents.value,
      expiresAt,
    },
  };
}

/** Why a flag was cleared or disputed: 1-2,000 characters once trimmed, no control characters but tab and line breaks. */
export function checkReason(reason: unknown): Checked<string> {
  if (typeof reason !== "string") return bad("reason", "required");
  if (!reason.isWellFormed()) return bad("reason", NOT_WELL_FORMED);
  const text = reason.trim();
  if (!text) return bad("reason", "required (1-2000 characters)");
  if (characterCount(text) > MAX_REASON) return bad("reason", `longer than ${MAX_REASON} characters`);
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text)) return bad("reason", "contains control characters (only tab and line breaks are allowed)");
  return { ok: true, value: text };
}
