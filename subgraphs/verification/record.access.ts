import type { EntityManager } from "@mikro-orm/postgresql";
import { hasScope, type Viewer } from "../../src/auth/viewer.js";
import { query } from "../../src/db/sql.js";

/** Why a viewer may read a record: it is theirs, or an approved disclosure lets them for a while. */
export type RecordAccess = { kind: "OWNER" } | { kind: "DISCLOSURE"; requestId: string; until: Date };

/**
 * The one place that decides who reads a customer identification record (EO 13984 §1(a)(iii): third
 * parties are limited). The provider that holds the account, with verification:read; or an agency
 * with verification:disclose whose disclosure request for that account the provider approved, until
 * the grant ends, and only the record it was approved for. Nobody else: not another provider, not an operator, not an unapproved request.
 */
export async function recordAccess(em: EntityManager, viewer: Viewer, record: { owner: string; accountId: string; id: string | null }, now: Date): Promise<RecordAccess | null> {
  const rights = readRights(viewer);
  if (viewer.org === record.owner) return rights.own ? { kind: "OWNER" } : null;
  if (!rights.disclosed) return null;
  // An approval is for the record the account had when it was approved: not a later one, nor the
  // account without it (a null id matches no grant, by the same statement: no record costs the same).
  const [grant] = await query<{ id: string; access_until: Date }>(
    em,
    `select id, access_until from verification.disclosure_request
      where requester = $1 and account_id = $2 and owner = $3 and record_id = $5 and status = 'APPROVED' and access_until > $4
      order by access_until desc limit 1`,
    [viewer.org, record.accountId, record.owner, now, record.id],
    "verification_disclosure_grant",
  );
  return grant ? { kind: "DISCLOSURE", requestId: grant.id, until: grant.access_until } : null;
}

/** What the viewer's token allows at all: its own org's records, and records disclosed to it as an agency. */
export function readRights(viewer: Viewer): { own: boolean; disclosed: boolean } {
  return { own: hasScope(viewer, "verification:read"), disclosed: viewer.orgKind === "AGENCY" && hasScope(viewer, "verification:disclose") };
}

/**
 * The same rule in SQL, for lookups and lists: the records (alias `r`) the viewer may read at `now`.
 * `p` names the statement's parameters holding the viewer's org, the time and the two `readRights`
 * (booleans), so that the statement's text is the same for every viewer.
 */
export function readableRecordsSql(alias: string, p: { org: string; now: string; own: string; disclosed: string }): string {
  return `((${p.own}::boolean and ${alias}.owner = ${p.org}) or (${p.disclosed}::boolean and exists (
    select 1 from verification.disclosure_request d
     where d.requester = ${p.org} and d.account_id = ${alias}.account_id and d.owner = ${alias}.owner and d.record_id = ${alias}.id
       and d.status = 'APPROVED' and d.access_until > ${p.now})))`;
}
