import { badInput } from "../errors.js";

/** The hub's ids and list cursors, the same for every subgraph. */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A STIX id (`<type>--<uuid>`) to its uuid, lower-case; anything else names nothing of that type. */
export function parseStixId(type: string, id: unknown): string | null {
  const prefix = `${type}--`;
  if (typeof id !== "string" || !id.startsWith(prefix)) return null;
  const uuid = id.slice(prefix.length).toLowerCase();
  return UUID.test(uuid) ? uuid : null;
}

/**
 * Cursors of one keyset-paged list: a row's position (its `seq`), tagged so that a cursor of one list
 * (or an event cursor) is refused by another.
 */
export function listCursors(tag: string) {
  const prefix = `${tag}:`;
  return {
    encode: (seq: number) => Buffer.from(`${prefix}${seq}`).toString("base64url"),
    decode(cursor: string): number {
      const text = cursor.length <= 64 ? Buffer.from(cursor, "base64url").toString("utf8") : "";
      const seq = text.startsWith(prefix) ? Number(text.slice(prefix.length)) : NaN;
      if (!Number.isSafeInteger(seq) || seq < 0) throw badInput("after: not a cursor from this list", "after");
      return seq;
    },
  };
}

/** A list's page size: `first`, or the list's default; anything but a whole number from 1 to `max` is bad input on `first`. */
export function pageSize(first: number | null | undefined, fallback: number, max: number): number {
  const size = first ?? fallback;
  if (!Number.isInteger(size) || size < 1 || size > max) throw badInput(`first: must be from 1 to ${max}`, "first");
  return size;
}
