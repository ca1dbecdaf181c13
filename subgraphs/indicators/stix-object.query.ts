import { visibleToSql, type Tlp } from "../../src/auth/tlp.js";
import { Params, query } from "../../src/db/sql.js";
import type { Context } from "../../src/graphql/context.js";
import { exportedObject } from "./stix-object.export.js";

/**
 * The read side of the STIX store, shared by TAXII and GraphQL `stixObjects`: the versions a viewer
 * may see (src/auth/tlp.ts decides, in the query), filtered, in the order they were added, keyset
 * paged on (date_added, seq) so that a page boundary inside a run of objects added at the same
 * instant neither repeats nor skips one.
 */

/** Which versions of each object: the newest, the oldest, every one, or those of these version keys. */
export type VersionMatch = "last" | "first" | "all" | { keys: string[] };

export interface StixObjectFilter {
  /** Only this org's own copies. */
  owner?: string | null;
  tlp?: Tlp[] | null;
  types?: string[] | null;
  ids?: string[] | null;
  specVersions?: string[] | null;
  /** Added strictly after this instant (ISO 8601, up to microseconds). */
  addedAfter?: string | null;
  versions: VersionMatch;
}

/** Where a page ended: the last row's date_added (ISO 8601 with microseconds) and seq. */
export interface StixPosition {
  dateAdded: string;
  seq: string;
}

export interface StoredStixObject {
  seq: string;
  owner: string;
  id: string;
  type: string;
  /** modified, else created, as sent; '' for objects without either. */
  version: string;
  specVersion: string;
  tlp: Tlp;
  dateAdded: string;
  /** As exported (see stix-object.export.ts). */
  object: Record<string, unknown>;
}

interface Row {
  seq: string;
  owner: string;
  id: string;
  type: string;
  version: string;
  spec_version: string;
  tlp: Tlp;
  tlp_marked: boolean;
  object: Record<string, unknown>;
  date_added: string;
}

/** Microseconds, as Postgres keeps them: a position written back into a query means the same instant. */
const DATE_ADDED = `to_char(o.date_added at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

export class StixObjectQuery {
  constructor(private readonly ctx: Context) {}

  /** The conditions of `filter` on `o`, the viewer's visibility first. */
  private where(filter: StixObjectFilter, params: Params): string {
    const visible = (alias: string) => visibleToSql(this.ctx.viewer, params, { owner: `${alias}.owner`, tlp: `${alias}.tlp`, sharedWith: `${alias}.shared_with` });
    const owner = params.add(filter.owner ?? null);
    const tlp = params.add(filter.tlp?.length ? filter.tlp : null);
    // Another version of the same object within the same bounds: "last" and "first" keep a row only
    // when no newer (older) one exists there, which holds from page to page without any state.
    const other = (cmp: ">" | "<") => `not exists (select 1 from indicators.stix_object v
        where v.id = o.id and ${visible("v")}
          and (${owner}::text is null or v.owner = ${owner}::text) and (${tlp}::text[] is null or v.tlp = any(${tlp}::text[]))
          and (v.version_key ${cmp} o.version_key or (v.version_key = o.version_key and v.seq ${cmp} o.seq)))`;
    const versions = filter.versions;
    const versionCondition =
      versions === "all" ? "true" : versions === "last" ? other(">") : versions === "first" ? other("<") : `o.version_key = any(${params.add(versions.keys)}::text[])`;
    const list = (values: string[] | null | undefined, column: string) =>
      values?.length ? `${column} = any(${params.add(values)}::text[])` : "true";
    return `${visible("o")}
      and (${owner}::text is null or o.owner = ${owner}::text)
      and (${tlp}::text[] is null or o.tlp = any(${tlp}::text[]))
      and ${list(filter.types, "o.type")}
      and ${list(filter.ids, "o.id")}
      and ${list(filter.specVersions, "o.spec_version")}
      and (${params.add(filter.addedAfter ?? null)}::timestamptz is null or o.date_added > $${params.values.length}::timestamptz)
      and ${versionCondition}`;
  }

  /** Up to `limit` rows after `after`, oldest first; `more` when further rows follow. */
  async page(filter: StixObjectFilter, limit: number, after: StixPosition | null): Promise<{ objects: StoredStixObject[]; more: boolean }> {
    const params = new Params();
    const where = this.where(filter, params);
    const position = after
      ? `and (o.date_added, o.seq) > (${params.add(after.dateAdded)}::timestamptz, ${params.add(after.seq)}::bigint)`
      : "";
    const rows = await query<Row>(
      this.ctx.em,
      `select o.seq::text as seq, o.owner, o.id, o.type, o.version, o.spec_version, o.tlp, o.tlp_marked, o.object, ${DATE_ADDED} as date_added
         from indicators.stix_object o
        where ${where} ${position}
        order by o.date_added, o.seq
        limit ${params.add(limit + 1)}::int`,
      params.values,
    );
    return {
      more: rows.length > limit,
      objects: rows.slice(0, limit).map((r) => ({
        seq: r.seq,
        owner: r.owner,
        id: r.id,
        type: r.type,
        version: r.version,
        specVersion: r.spec_version,
        tlp: r.tlp,
        dateAdded: r.date_added,
        object: exportedObject({ object: r.object, tlp: r.tlp, tlpMarked: r.tlp_marked }),
      })),
    };
  }

  /** How many rows match, counting only those the viewer may see. */
  async count(filter: StixObjectFilter): Promise<number> {
    const params = new Params();
    const [row] = await query<{ n: number }>(
      this.ctx.em,
      `select count(*)::int as n from indicators.stix_object o where ${this.where(filter, params)}`,
      params.values,
    );
    return row?.n ?? 0;
  }

  /**
   * Deletes the viewer's own versions of `id` held at `tlp` (those of `versions`), answering how many.
   * Others' copies are never touched: the condition is on the viewer's org, not on what they may see.
   */
  async deleteOwn(id: string, tlp: Tlp, versions: VersionMatch): Promise<number> {
    const params = new Params();
    const where = this.where({ owner: this.ctx.viewer.org, tlp: [tlp], ids: [id], versions }, params);
    const rows = await query<{ seq: string }>(
      this.ctx.em,
      `delete from indicators.stix_object d where d.seq in (select o.seq from indicators.stix_object o where ${where}) returning d.seq::text as seq`,
      params.values,
    );
    return rows.length;
  }
}
