import { characterCount } from "../../src/text.js";

/**
 * The words of a disclosure: the agency's legal basis and the provider's reasons. Free text that both
 * sides read and auditors follow, so bounded and plain: no control characters but line breaks and
 * tabs, not blank. A refusal names the field and never repeats the text.
 */

export const LEGAL_BASIS_MIN = 8;
export const TEXT_MAX = 1000;
/** C0 and C1 controls, DEL, and the bidirectional overrides that make text read other than it is stored. */
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u;

export type TextCheck = { ok: true; value: string } | { ok: false; message: string };

function checkText(field: string, text: string, min: number): TextCheck {
  const value = text.trim();
  const n = characterCount(value);
  if (n === 0) return { ok: false, message: `${field}: required (not blank)` };
  if (n < min) return { ok: false, message: `${field}: at least ${min} characters (the authority relied on, e.g. a statute, warrant or order and its reference)` };
  if (n > TEXT_MAX) return { ok: false, message: `${field}: at most ${TEXT_MAX} characters (got ${n})` };
  if (!value.isWellFormed()) return { ok: false, message: `${field}: not well-formed Unicode text` };
  if (CONTROL.test(value)) return { ok: false, message: `${field}: holds a control character (only line breaks and tabs are allowed)` };
  return { ok: true, value };
}

/** The legal basis an agency cites: 8 to 1,000 characters, trimmed. */
export const checkLegalBasis = (text: string): TextCheck => checkText("legalBasis", text, LEGAL_BASIS_MIN);

/** A provider's reason for a decision, a revocation or a legal hold: 1 to 1,000 characters, trimmed. */
export const checkReason = (text: string, field = "reason"): TextCheck => checkText(field, text, 1);
