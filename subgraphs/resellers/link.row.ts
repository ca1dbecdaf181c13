import { asDate } from "../../src/db/sql.js";
import { badInput } from "../../src/errors.js";
import { parseStixId } from "../../src/graphql/ids.js";
import type { AccountRef, ResellerLink } from "./link.type.js";

/** A row of resellers.link as SQL returns it. */
export interface LinkRow {
  id: string;
  parent_id: string;
  child_id: string;
  since: Date | string;
  until: Date | string | null;
  recorded_by: string;
  operator_org: string | null;
}

export const parseAccountRef = (id: unknown) => parseStixId("account", id);
export const accountRef = (uuid: string): AccountRef => ({ id: `account--${uuid}` });

export function toLink(row: LinkRow): ResellerLink {
  return {
    id: `reseller-link--${row.id}`,
    parent: accountRef(row.parent_id),
    child: accountRef(row.child_id),
    since: asDate(row.since),
    until: row.until === null ? null : asDate(row.until),
    recordedBy: row.recorded_by,
    operatorOrg: row.operator_org,
  };
}

/** Cursors of lists ordered by account id: the last id of a page, tagged by list. */
export function idCursors(tag: string) {
  const prefix = `${tag}:`;
  return {
    encode: (uuid: string) => Buffer.from(`${prefix}${uuid}`).toString("base64url"),
    decode(cursor: string): string {
      const text = cursor.length <= 128 ? Buffer.from(cursor, "base64url").toString("utf8") : "";
      const uuid = text.startsWith(prefix) ? parseStixId("x", `x--${text.slice(prefix.length)}`) : null;
      if (!uuid) throw badInput("after: not a cursor from this list", "after");
      return uuid;
    },
  };
}
