import { hasScope, type Viewer } from "../../src/auth/viewer.js";
import type { Params } from "../../src/db/sql.js";

/**
 * Who sees which part of the reseller forest, decided here and applied on every path (resellerChain,
 * downstream, exposure, resellerGraph, resellerChainsThrough, riskiestResellers, `_entities`):
 * - an AGENCY with `resellers:read` sees every chain;
 * - a PROVIDER sees an account's chain, downstream, exposure and graph when the account or one of its
 *   ancestors is one of its own accounts (so every chain holding an account of its);
 * - a RESELLER org sees below the accounts it operates (the parents of active links naming it as
 *   `operator_org`): their subtrees, and chains from there down, never above;
 * - anyone else sees nothing, which answers exactly as an account with no links does.
 * A viewer's "anchors" are the accounts that open a view to it; an account is visible when one of its
 * ancestors-or-self is an anchor.
 */
export type ForestView = "ALL" | "OWN_CHAINS" | "OPERATED_BELOW" | "NONE";

export function forestView(viewer: Viewer): ForestView {
  if (!hasScope(viewer, "resellers:read")) return "NONE";
  switch (viewer.orgKind) {
    case "AGENCY":
      return "ALL";
    case "PROVIDER":
      return "OWN_CHAINS";
    case "RESELLER":
      return "OPERATED_BELOW";
    default:
      return "NONE";
  }
}

/** Whether the account `id` (an SQL uuid expression) opens a view to the viewer. Names come from code. */
export function anchorSql(viewer: Viewer, params: Params, id: string): string {
  const view = forestView(viewer);
  if (view === "ALL") return "true";
  if (view === "NONE") return "false";
  const org = params.add(viewer.org);
  if (view === "OWN_CHAINS") return `exists (select 1 from resellers.account va where va.id = ${id} and va.provider = ${org})`;
  return `exists (select 1 from resellers.link vl where vl.operator_org = ${org} and vl.parent_id = ${id} and vl.until is null)`;
}

/** Whether the viewer may see the forest around the account `id`: an ancestor-or-self of it is an anchor. */
export function visibleSql(viewer: Viewer, params: Params, id: string): string {
  const view = forestView(viewer);
  if (view === "ALL" || view === "NONE") return anchorSql(viewer, params, id);
  return `(${anchorSql(viewer, params, id)} or exists (select 1 from resellers.ancestry vx
            where vx.descendant = ${id} and ${anchorSql(viewer, params, "vx.ancestor")}))`;
}

/**
 * The hops of a chain (nearest first, each marked whether it is an anchor) that the viewer may see:
 * all of them, or none when no hop and not the account itself is an anchor; a RESELLER org sees the
 * hops up to its highest operated account and none above.
 */
export function visibleHops<T extends { anchor: boolean }>(viewer: Viewer, selfAnchor: boolean, hops: T[]): T[] {
  const view = forestView(viewer);
  if (view === "ALL") return hops;
  if (view === "NONE") return [];
  const highest = hops.findLastIndex((h) => h.anchor);
  if (highest < 0 && !selfAnchor) return [];
  return view === "OWN_CHAINS" ? hops : hops.slice(0, highest + 1);
}
