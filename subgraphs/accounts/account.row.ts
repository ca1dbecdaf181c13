import { asDate } from "../../src/db/sql.js";
import type { Viewer } from "../../src/auth/viewer.js";
import { listCursors, parseStixId } from "../../src/graphql/ids.js";
import type { AccountKind, AccountStatus, HolderType } from "./account.entity.js";
import type { Account } from "./account.type.js";

/** Rows of accounts.account as reads return them, their ids and list cursors, and the GraphQL view. */
export interface AccountRow {
  id: string;
  seq: number;
  provider: string;
  external_ref: string;
  kind: AccountKind;
  holder_type: HolderType;
  holder_jurisdiction: string;
  us_person: boolean;
  status: AccountStatus;
  opened_at: Date | string;
  closed_at: Date | string | null;
  created_at: Date | string;
  modified_at: Date | string;
}

/** As visible reads return it: `shared` says whether the provider shares its reference with this viewer. */
export interface VisibleAccountRow extends AccountRow {
  shared: boolean;
}

/** Timestamps come back from SQL reads as text. */

export const accountId = (uuid: string) => `account--${uuid}`;

/** `account--<uuid>` to the stored uuid; anything else names no account. */
export const parseAccountId = (id: unknown) => parseStixId("account", id);

/**
 * The view of an account for this viewer: everything for its provider; for anyone else (who sees it
 * through a flag) the kind, the jurisdiction and, when the provider raised a flag they see, who the
 * provider is and its reference.
 */
export function toAccount(row: AccountRow, viewer: Pick<Viewer, "org">, shared: boolean): Account {
  const own = row.provider === viewer.org;
  const disclosed = own || shared;
  return {
    id: accountId(row.id),
    uuid: row.id,
    provider: disclosed ? row.provider : null,
    externalRef: disclosed ? row.external_ref : null,
    kind: row.kind,
    holderJurisdiction: row.holder_jurisdiction,
    holderType: own ? row.holder_type : null,
    usPerson: own ? row.us_person : null,
    status: own ? row.status : null,
    openedAt: own ? asDate(row.opened_at) : null,
    closedAt: own && row.closed_at !== null ? asDate(row.closed_at) : null,
    createdAt: own ? asDate(row.created_at) : null,
    modifiedAt: own ? asDate(row.modified_at) : null,
  };
}

const cursors = listCursors("ac");
export const pageCursor = cursors.encode;
export const parsePageCursor = cursors.decode;
