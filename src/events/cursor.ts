import { badInput } from "../errors.js";

/** Cursors are opaque to clients: a version tag and the log sequence, base64url encoded. */
const PREFIX = "wf1:";

export function encodeCursor(seq: number): string {
  return Buffer.from(`${PREFIX}${seq}`).toString("base64url");
}

export function decodeCursor(cursor: string, field = "after"): number {
  if (cursor.length > 64) throw badInput(`${field}: not a cursor this hub issued`, field);
  const text = Buffer.from(cursor, "base64url").toString("utf8");
  const seq = text.startsWith(PREFIX) ? Number(text.slice(PREFIX.length)) : NaN;
  if (!Number.isSafeInteger(seq) || seq < 0) throw badInput(`${field}: not a cursor this hub issued`, field);
  return seq;
}
