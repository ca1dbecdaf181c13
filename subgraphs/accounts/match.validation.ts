import { InputError } from "../../src/graphql/common.types.js";
import { NOT_WELL_FORMED } from "../../src/text.js";
import { canonical, hashInput, IDENTIFIER_TYPES, type IdentifierType } from "./identifier.canonical.js";
import type { IdentifierInput } from "./account.input.js";

export type CheckedIdentifier = { ok: true; type: IdentifierType; text: string } | { ok: false; error: InputError };

/**
 * One submitted identifier at `path` (`identifiers[3]`): its type, then its value put in canonical form. The
 * result is the text to hash (`hashInput`); the raw value goes no further. Messages never repeat it.
 */
export function checkIdentifier(input: IdentifierInput, path: string): CheckedIdentifier {
  const bad = (field: string, message: string): CheckedIdentifier => ({ ok: false, error: new InputError(`${path}.${field}: ${message}`, `${path}.${field}`) });
  if (!IDENTIFIER_TYPES.includes(input?.type)) return bad("type", `must be one of ${IDENTIFIER_TYPES.join(", ")}`);
  if (typeof input.value !== "string") return bad("value", "must be text");
  if (!input.value.isWellFormed()) return bad("value", NOT_WELL_FORMED);
  const form = canonical(input.type, input.value);
  if (!form.ok) return bad("value", form.why);
  return { ok: true, type: input.type, text: hashInput(input.type, form.value) };
}
