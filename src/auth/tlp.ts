import type { Params } from "../db/sql.js";
import type { Viewer } from "./viewer.js";

/**
 * TLP 2.0, decided here and nowhere else. CLEAR and GREEN records are visible to every member; AMBER,
 * AMBER+STRICT and RED only to the owner org and to the orgs the record is shared with (for incidents,
 * the agencies it is referred to count as shared with). Every read path uses `canSee` for a record in
 * hand, or `visibleToSql` to filter in the query, so that a record a viewer may not see is never
 * loaded, counted or streamed to them.
 */
export const TLP_LEVELS = ["CLEAR", "GREEN", "AMBER", "AMBER_STRICT", "RED"] as const;
export type Tlp = (typeof TLP_LEVELS)[number];

const OPEN: ReadonlySet<string> = new Set<Tlp>(["CLEAR", "GREEN"]);

export interface Marked {
  owner: string;
  tlp: Tlp | string;
  sharedWith: readonly string[];
}

export function canSee(viewer: Pick<Viewer, "org">, record: Marked): boolean {
  return OPEN.has(record.tlp) || record.owner === viewer.org || record.sharedWith.includes(viewer.org);
}

export interface VisibilityColumns {
  owner: string;
  tlp: string;
  sharedWith: string;
}

/**
 * The same rule as `canSee`, as an SQL condition whose value goes into `params`. Column names come
 * from code, never from input.
 */
export function visibleToSql(
  viewer: Pick<Viewer, "org">,
  params: Params,
  columns: VisibilityColumns = { owner: "owner", tlp: "tlp", sharedWith: "shared_with" },
): string {
  const org = params.add(viewer.org);
  return `(${columns.tlp} in ('CLEAR', 'GREEN') or ${columns.owner} = ${org} or ${columns.sharedWith} @> array[${org}::text])`;
}
