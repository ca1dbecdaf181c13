import { TLP_LEVELS, type Tlp } from "../../src/auth/tlp.js";
import { ORG_ID_PATTERN } from "../../src/auth/viewer.js";
import { InputError } from "../../src/graphql/common.types.js";
import { characterCount, malformedTextAt, NOT_WELL_FORMED } from "../../src/text.js";
import type { IndicatorInput } from "./indicator.input.js";
import { normalizeValue, OBSERVABLE_TYPES, type ObservableType } from "./indicator.normalize.js";

export const MAX_BATCH = 1000;
export const MAX_SHARED_WITH = 100;
export const MAX_LABELS = 20;
export const MAX_DESCRIPTION = 4000;
export const LABEL_PATTERN = /^[a-z0-9][a-z0-9._:-]{0,63}$/;
export const LABEL_RULE = "1-64 characters of a-z, 0-9, '.', '_', ':' or '-', starting with a letter or digit (lower case, no spaces)";
const TEN_YEARS_MS = 10 * 365 * 24 * 3600 * 1000;
/** Imported feeds carry indicators valid from years back; nothing in scope is older than this. */
const EARLIEST = Date.UTC(1990, 0, 1);

/** An input item that passed every check, in the form it is stored. */
export interface ValidIndicator {
  type: ObservableType;
  value: string;
  tlp: Tlp;
  confidence: number;
  sharedWith: string[];
  labels: string[];
  description: string | null;
  /** Null when not given: now for a new indicator; an existing one keeps its own (see the upsert). */
  validFrom: Date | null;
  validUntil: Date | null;
}

export type Checked = { ok: true; item: ValidIndicator } | { ok: false; error: InputError };

const bad = (field: string, message: string): Checked => ({ ok: false, error: new InputError(`${field}: ${message}`, field) });

function validDate(d: unknown): d is Date {
  return d instanceof Date && !Number.isNaN(d.getTime());
}

/**
 * Checks one item without touching the database; `sharedWith` members are checked afterwards
 * against the directory, for the whole batch in one query.
 */
export function checkIndicator(input: IndicatorInput, owner: string, now: Date): Checked {
  const malformed = malformedTextAt(input);
  if (malformed !== null) return bad(malformed, NOT_WELL_FORMED);
  if (!OBSERVABLE_TYPES.includes(input.type)) return bad("type", `must be one of ${OBSERVABLE_TYPES.join(", ")}`);
  if (!TLP_LEVELS.includes(input.tlp)) return bad("tlp", `must be one of ${TLP_LEVELS.join(", ")}`);

  const normalized = normalizeValue(input.type, input.value);
  if (!normalized.ok) return bad("value", normalized.message);

  const confidence = input.confidence ?? 50;
  if (!Number.isInteger(confidence) || confidence < 0 || confidence > 100) return bad("confidence", "must be an integer from 0 to 100");

  const shared = input.sharedWith ?? [];
  if (shared.length > MAX_SHARED_WITH) return bad("sharedWith", `at most ${MAX_SHARED_WITH} orgs`);
  for (const [i, org] of shared.entries()) {
    if (typeof org !== "string" || !ORG_ID_PATTERN.test(org)) return bad(`sharedWith[${i}]`, "not an org id");
  }
  const sharedWith = [...new Set(shared)].filter((org) => org !== owner).sort();

  const rawLabels = input.labels ?? [];
  if (rawLabels.length > MAX_LABELS) return bad("labels", `at most ${MAX_LABELS} labels`);
  // Labels are stored as given or refused: never lower-cased, trimmed or cut. A repeated label counts once.
  const labels: string[] = [];
  for (const [i, label] of rawLabels.entries()) {
    if (typeof label !== "string" || !LABEL_PATTERN.test(label)) return bad(`labels[${i}]`, LABEL_RULE);
    if (!labels.includes(label)) labels.push(label);
  }

  // Surrounding white space is no part of a description; one of white space only is none.
  const description = input.description == null ? null : input.description.trim() || null;
  if (description && characterCount(description) > MAX_DESCRIPTION) return bad("description", `longer than ${MAX_DESCRIPTION} characters`);
  // Postgres cannot store NUL in text: unchecked, it failed the whole batch as an internal error.
  if (description && /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(description)) {
    return bad("description", "contains control characters (only tab and line breaks are allowed)");
  }

  const validFrom = input.validFrom ?? null;
  if (validFrom !== null) {
    if (!validDate(validFrom)) return bad("validFrom", "not a date-time");
    if (validFrom.getTime() - now.getTime() > TEN_YEARS_MS) return bad("validFrom", "more than ten years ahead");
    if (validFrom.getTime() < EARLIEST) return bad("validFrom", "before 1990");
  }
  const validUntil = input.validUntil ?? null;
  if (validUntil !== null) {
    if (!validDate(validUntil)) return bad("validUntil", "not a date-time");
    if (validUntil <= (validFrom ?? now)) return bad("validUntil", "must be after validFrom");
    if (validUntil.getTime() - now.getTime() > TEN_YEARS_MS) return bad("validUntil", "more than ten years from now");
  }

  return {
    ok: true,
    item: { type: input.type, value: normalized.value, tlp: input.tlp, confidence, sharedWith, labels, description, validFrom, validUntil },
  };
}
