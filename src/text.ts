/**
 * Text from clients is checked, never silently changed. JSON may carry a lone surrogate (`"\ud800"`),
 * which is no Unicode text at all: PostgreSQL refuses it inside jsonb (a whole request failed as an
 * internal error) and pg's UTF-8 encoding of a text parameter replaced it with U+FFFD (stored changed).
 * Every service checks its input with `malformedTextAt` first and names the field at fault.
 */

export const NOT_WELL_FORMED = "not well-formed Unicode text (it holds a lone surrogate)";

/**
 * The path of the first string in `value`, at any depth (object keys included), that is not
 * well-formed Unicode; null when every string is. `path` is where `value` sits: `labels[1]`,
 * `filter.label`, `objects[3].description`.
 */
export function malformedTextAt(value: unknown, path = ""): string | null {
  if (typeof value === "string") return value.isWellFormed() ? null : path;
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const at = malformedTextAt(item, `${path}[${i}]`);
      if (at !== null) return at;
    }
    return null;
  }
  if (value !== null && typeof value === "object" && !(value instanceof Date)) {
    for (const [key, item] of Object.entries(value)) {
      const at = key.isWellFormed() ? malformedTextAt(item, path ? `${path}.${key}` : key) : path || "input";
      if (at !== null) return at;
    }
  }
  return null;
}

/**
 * Characters as people and PostgreSQL's `length()` count them (code points), not UTF-16 code units:
 * 3,999 letters and an emoji are 4,000 characters.
 */
export function characterCount(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/** At most `max` characters of `text` for a message, never cutting a surrogate pair in two. */
export function excerpt(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length > max ? `${chars.slice(0, max).join("")}…` : text;
}
