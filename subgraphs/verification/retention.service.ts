import type { EntityManager } from "@mikro-orm/postgresql";
import type { Viewer } from "../../src/auth/viewer.js";
import { asDate, query } from "../../src/db/sql.js";
import { InputError } from "../../src/graphql/common.types.js";
import type { Context } from "../../src/graphql/context.js";
import { parseStixId } from "../../src/graphql/ids.js";
import { audit } from "./audit.trail.js";
import { checkReason } from "./disclosure.validation.js";
import type { PurgeResult } from "./retention.type.js";

/** Records removed per transaction: a long purge holds no lock for long, and each batch is audited with what it removed. */
export const PURGE_BATCH = 1000;
const RECORD_ID_PREFIX = "customer-record";

/** Who runs the hourly purge in the audit trail: the hub itself, not a member. */
export const RETENTION_ACTOR = { org: "hub", sub: "retention-purge" } as const;

/** The account of the record held or released (to answer with the record), or why not. */
export type HoldOutcome = { accountUuid: string; error: null } | { accountUuid: null; error: InputError };

/**
 * Retention of customer identification records: a closed record is kept until its retention date
 * (the later of closure and last access, plus CIP_RETENTION_DAYS, kept by the record and access
 * services), then purged with everything that hangs off it, unless a legal hold keeps it. The audit
 * trail keeps its links about purged records: they hold ids, counts and statuses only.
 */
export class RetentionService {
  constructor(private readonly ctx: Context) {}

  private get viewer(): Viewer {
    return this.ctx.viewer;
  }

  /** Keeps a record of the caller's past its retention date until the hold is released; a second hold replaces the reason. */
  placeHold(recordIdArg: string, reasonArg: string): Promise<HoldOutcome> {
    return this.setHold(recordIdArg, reasonArg);
  }

  releaseHold(recordIdArg: string): Promise<HoldOutcome> {
    return this.setHold(recordIdArg, null);
  }

  private async setHold(recordIdArg: string, reasonArg: string | null): Promise<HoldOutcome> {
    const uuid = parseStixId(RECORD_ID_PREFIX, recordIdArg);
    if (!uuid) return { accountUuid: null, error: new InputError(`recordId: not a customer record id (${RECORD_ID_PREFIX}--<uuid>)`, "recordId") };
    let reason: string | null = null;
    if (reasonArg !== null) {
      const checked = checkReason(reasonArg);
      if (!checked.ok) return { accountUuid: null, error: new InputError(checked.message, "reason") };
      reason = checked.value;
    }
    const now = this.ctx.hub.clock();
    return this.ctx.em.transactional(async (em): Promise<HoldOutcome> => {
      const [row] = await query<{ id: string; account_id: string; legal_hold: boolean; retain_until: Date | string | null }>(
        em,
        "select id, account_id, legal_hold, retain_until from verification.customer_record where id = $1 and owner = $2 for update",
        [uuid, this.viewer.org],
        "legal_hold_record",
      );
      if (!row) return { accountUuid: null, error: new InputError("recordId: no customer record of yours with this id", "recordId", "NOT_FOUND") };
      if (reason === null && !row.legal_hold) return { accountUuid: null, error: new InputError("recordId: this record is not on legal hold", "recordId") };
      await query(
        em,
        "update verification.customer_record set legal_hold = $2, legal_hold_reason = $3 where id = $1",
        [uuid, reason !== null, reason],
        "legal_hold_set",
      );
      await audit(
        em,
        this.viewer,
        {
          org: this.viewer.org,
          action: reason !== null ? "LEGAL_HOLD_PLACED" : "LEGAL_HOLD_RELEASED",
          recordId: uuid,
          accountId: row.account_id,
          detail: reason !== null ? { replaced: row.legal_hold, pastRetention: row.retain_until !== null && asDate(row.retain_until) < now } : {},
        },
        now,
      );
      return { accountUuid: row.account_id, error: null };
    });
  }

  /** The caller's records past their retention date and not on hold, removed now. */
  purge(): Promise<PurgeResult> {
    return purgeExpiredRecords(this.ctx.em, this.viewer, this.viewer.org, this.ctx.hub.clock());
  }
}

/**
 * Removes `owner`'s records whose retention date is before `now` and that no legal hold keeps, in
 * batches of PURGE_BATCH, each batch one transaction with its RECORDS_PURGED link: checks, index
 * entries and status changes go with their record (foreign keys cascade); the account's access events
 * by one statement in the same transaction. A purge that finds nothing is audited all the same when a
 * member asked for it (`auditEmpty`).
 */
export async function purgeExpiredRecords(em: EntityManager, actor: Pick<Viewer, "org" | "sub">, owner: string, now: Date, auditEmpty = true): Promise<PurgeResult> {
  const total: PurgeResult = { purged: 0, accessEventsPurged: 0, heldBack: 0 };
  for (let batch = 1; ; batch++) {
    const counts = await em.fork().transactional(async (tx) => {
      const [row] = await query<{ purged: number; access_events: number; held_back: number }>(
        tx,
        `with expired as (
           select id, account_id from verification.customer_record
            where owner = $1 and retain_until < $2 and not legal_hold
            order by retain_until, id
            limit $3
            for update),
         events as (
           delete from verification.access_event e using expired x
            where e.owner = $1 and e.account_id = x.account_id
           returning 1),
         gone as (
           delete from verification.customer_record r using expired x where r.id = x.id returning r.id)
         select (select count(*) from gone)::int as purged,
                (select count(*) from events)::int as access_events,
                (select count(*) from verification.customer_record
                  where owner = $1 and retain_until < $2 and legal_hold)::int as held_back`,
        [owner, now, PURGE_BATCH],
        "retention_purge_batch",
      );
      const counts = { purged: row!.purged, accessEventsPurged: row!.access_events, heldBack: row!.held_back };
      if (counts.purged || (batch === 1 && auditEmpty)) {
        await audit(tx, actor, { org: owner, action: "RECORDS_PURGED", detail: { ...counts, batch, before: now.toISOString() } }, now);
      }
      return counts;
    });
    total.purged += counts.purged;
    total.accessEventsPurged += counts.accessEventsPurged;
    total.heldBack = counts.heldBack;
    if (counts.purged < PURGE_BATCH) return total;
  }
}

/** The hourly timer's purge: every provider's expired records, audited in each provider's chain as the hub's act. */
export async function purgeEveryProvider(em: EntityManager, now: Date): Promise<PurgeResult> {
  const owners = await query<{ owner: string }>(
    em,
    "select distinct owner from verification.customer_record where retain_until < $1 and not legal_hold",
    [now],
    "retention_purge_owners",
  );
  const total: PurgeResult = { purged: 0, accessEventsPurged: 0, heldBack: 0 };
  for (const { owner } of owners) {
    const n = await purgeExpiredRecords(em, RETENTION_ACTOR, owner, now, false);
    total.purged += n.purged;
    total.accessEventsPurged += n.accessEventsPurged;
    total.heldBack += n.heldBack;
  }
  return total;
}
