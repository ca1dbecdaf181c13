import type { AuditLinkRow } from "../../src/audit/hash-chain.js";
import { badInput } from "../../src/errors.js";
import { asDate, query } from "../../src/db/sql.js";
import type { Context } from "../../src/graphql/context.js";
import { listCursors, pageSize } from "../../src/graphql/ids.js";
import type { AuditLinkConnection } from "./audit.type.js";
import { accountId, parseRecordId, recordId } from "./record.row.js";

const DEFAULT_PAGE = 100;
const MAX_PAGE = 1000;
const cursors = listCursors("audit");

/**
 * The caller's audit trail as an auditor reads it: its chain's links in chain order (the order the
 * hash covers), in keyset pages, optionally those of one record. The chain is the provider's: it holds
 * what anyone (the provider, an agency under a disclosure) did with the provider's records. Reading it
 * is not itself a link: the trail records what was done with records, and a read of the trail touches none.
 */
export class AuditService {
  constructor(private readonly ctx: Context) {}

  async trail(first: number | null | undefined, after: string | null | undefined, record: string | null | undefined): Promise<AuditLinkConnection> {
    const size = pageSize(first, DEFAULT_PAGE, MAX_PAGE);
    const afterSeq = after == null ? 0 : cursors.decode(after);
    let recordUuid: string | null = null;
    if (record != null) {
      recordUuid = parseRecordId(record);
      if (!recordUuid) throw badInput("recordId: not a customer record id (customer-record--<uuid>)", "recordId");
    }
    const rows = await query<Omit<AuditLinkRow, "prev_hash" | "hash">>(
      this.ctx.em,
      `select seq, at, actor_org, actor_subject, action, record_id, account_id, detail from verification.audit_trail
        where org = $1 and seq > $2 and ($3::uuid is null or record_id = $3::uuid)
        order by seq limit $4`,
      [this.ctx.viewer.org, afterSeq, recordUuid, size + 1],
      "verification_audit_page",
    );
    const edges = rows.slice(0, size).map((r) => ({
      cursor: cursors.encode(Number(r.seq)),
      node: {
        seq: Number(r.seq),
        at: asDate(r.at),
        actorOrg: r.actor_org,
        actorSubject: r.actor_subject,
        action: r.action,
        recordId: r.record_id === null ? null : recordId(r.record_id),
        accountId: r.account_id === null ? null : accountId(r.account_id),
        detail: JSON.stringify(r.detail),
      },
    }));
    return { edges, pageInfo: { hasNextPage: rows.length > size, endCursor: edges.at(-1)?.cursor ?? null } };
  }
}
