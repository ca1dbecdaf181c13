import type { Params } from "../db/sql.js";
import { visibleToSql, type VisibilityColumns } from "./tlp.js";
import type { Viewer } from "./viewer.js";

/**
 * Who may see an account, in SQL: its provider, and whoever may see (by the TLP rule) a flag in force
 * on it; no one else. The accounts subgraph applies it to its own tables and the incidents subgraph to
 * its projection of them, so the rule is written once, here, over the columns both keep: an account
 * `id`, `provider`; a flag `account_id`, `owner`, `tlp`, `audience` (shared_with plus the provider),
 * `status`, `expires_at`. Table names and aliases come from code, never from input.
 */
export const flagColumns = (alias: string): VisibilityColumns => ({ owner: `${alias}.owner`, tlp: `${alias}.tlp`, sharedWith: `${alias}.audience` });

/** A flag counts against an account while it is neither cleared nor expired. */
export const flagInForceSql = (alias: string) => `(${alias}.status <> 'CLEARED' and (${alias}.expires_at is null or ${alias}.expires_at > now()))`;

export function flagVisibleToSql(viewer: Pick<Viewer, "org">, params: Params, alias: string): string {
  return visibleToSql(viewer, params, flagColumns(alias));
}

/** `alias` names a row with the account's `id` and `provider`; `flagTable` holds its flags. */
export function accountVisibleToSql(viewer: Pick<Viewer, "org">, params: Params, alias: string, flagTable: string): string {
  const org = params.add(viewer.org);
  return `(${alias}.provider = ${org} or exists (select 1 from ${flagTable} vf
    where vf.account_id = ${alias}.id and ${flagInForceSql("vf")} and ${flagVisibleToSql(viewer, params, "vf")}))`;
}
