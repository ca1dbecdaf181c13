import { accountVisibleToSql, flagInForceSql, flagVisibleToSql } from "../../src/auth/account-visibility.js";
import type { Viewer } from "../../src/auth/viewer.js";
import type { Params } from "../../src/db/sql.js";

/**
 * Who may see accounts and flags, in SQL, on every path (by id, lists, counts, `_entities`, the feed,
 * match counts). The rule is the kernel's (`src/auth/account-visibility.ts`, on the TLP rule of
 * `src/auth/tlp.ts`), shared with the incidents subgraph's projection of accounts; here it reads this
 * subgraph's tables: a flag is the flagging org's, shared with `shared_with` and with the provider
 * holding the account (`audience`).
 */

/** A flag counts against an account while it is neither cleared nor expired. */
export const flagInForce = flagInForceSql;

export function flagVisibleSql(viewer: Pick<Viewer, "org">, params: Params, alias = "f"): string {
  return flagVisibleToSql(viewer, params, alias);
}

/** An account is visible to its provider, and to whoever may see a flag in force on it; to no one else. */
export function accountVisibleSql(viewer: Pick<Viewer, "org">, params: Params, alias = "a"): string {
  return accountVisibleToSql(viewer, params, alias, "accounts.flag");
}
