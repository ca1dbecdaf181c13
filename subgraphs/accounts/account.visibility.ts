import { visibleToSql, type VisibilityColumns } from "../../src/auth/tlp.js";
import type { Viewer } from "../../src/auth/viewer.js";
import type { Params } from "../../src/db/sql.js";

/**
 * Who may see accounts and flags, in SQL, on every path (by id, lists, counts, `_entities`, the feed,
 * match counts). The TLP rule itself is the kernel's (`src/auth/tlp.ts`); this says which columns it
 * reads: a flag is the flagging org's, shared with `shared_with` and with the provider holding the
 * account (`audience`).
 */
export const flagColumns = (alias: string): VisibilityColumns => ({ owner: `${alias}.owner`, tlp: `${alias}.tlp`, sharedWith: `${alias}.audience` });

/** A flag counts against an account while it is neither cleared nor expired. */
export const flagInForce = (alias: string) => `(${alias}.status <> 'CLEARED' and (${alias}.expires_at is null or ${alias}.expires_at > now()))`;

export function flagVisibleSql(viewer: Pick<Viewer, "org">, params: Params, alias = "f"): string {
  return visibleToSql(viewer, params, flagColumns(alias));
}

/** An account is visible to its provider, and to whoever may see a flag in force on it; to no one else. */
export function accountVisibleSql(viewer: Pick<Viewer, "org">, params: Params, alias = "a"): string {
  const org = params.add(viewer.org);
  return `(${alias}.provider = ${org} or exists (select 1 from accounts.flag vf
    where vf.account_id = ${alias}.id and ${flagInForce("vf")} and ${flagVisibleSql(viewer, params, "vf")}))`;
}
