import { randomUUID } from "node:crypto";
import type { EntityManager } from "@mikro-orm/postgresql";
import { hasScope, type Viewer } from "../../src/auth/viewer.js";
import { asDate, Params, query } from "../../src/db/sql.js";
import { badInput, forbidden } from "../../src/errors.js";
import { InputError } from "../../src/graphql/common.types.js";
import type { Context } from "../../src/graphql/context.js";
import { listCursors, parseStixId } from "../../src/graphql/ids.js";
import { VERIFICATION_ACCOUNTS } from "./account.projection.js";
import { audit } from "./audit.trail.js";
import type { DisclosureFilter } from "./disclosure.input.js";
import type { DisclosureConnection, DisclosureRequest, DisclosureResult, DisclosureStatus } from "./disclosure.type.js";
import { checkLegalBasis, checkReason } from "./disclosure.validation.js";

export const DISCLOSURE_ID_PREFIX = "disclosure-request";
const DAY_MS = 24 * 3600 * 1000;
const DEFAULT_PAGE = 20;
const MAX_PAGE = 100;
const cursors = listCursors("disclosure");

interface DisclosureRow {
  seq: string;
  id: string;
  owner: string;
  account_id: string;
  record_id: string | null;
  requester: string;
  requested_by: string;
  legal_basis: string;
  status: "REQUESTED" | "APPROVED" | "REFUSED" | "REVOKED";
  requested_at: Date | string;
  decided_at: Date | string | null;
  decided_by: string | null;
  decision_reason: string | null;
  access_until: Date | string | null;
  revoked_at: Date | string | null;
  revoked_by: string | null;
  revocation_reason: string | null;
}

const COLUMNS = `seq, id, owner, account_id, record_id, requester, requested_by, legal_basis, status, requested_at, decided_at,
  decided_by, decision_reason, access_until, revoked_at, revoked_by, revocation_reason`;

export const disclosureId = (uuid: string) => `${DISCLOSURE_ID_PREFIX}--${uuid}`;

/** An approval past its time reads as EXPIRED: the row keeps APPROVED, the clock decides. */
function statusAt(row: DisclosureRow, now: Date): DisclosureStatus {
  return row.status === "APPROVED" && row.access_until !== null && asDate(row.access_until) <= now ? "EXPIRED" : row.status;
}

/** Timestamps as the ORM's connections bring them (text), or null. */
const dateOrNull = (d: Date | string | null) => (d === null ? null : asDate(d));

function toRequest(row: DisclosureRow, now: Date): DisclosureRequest {
  return {
    id: disclosureId(row.id),
    accountId: `account--${row.account_id}`,
    provider: row.owner,
    requester: row.requester,
    requestedBy: row.requested_by,
    legalBasis: row.legal_basis,
    status: statusAt(row, now),
    requestedAt: asDate(row.requested_at),
    decidedAt: dateOrNull(row.decided_at),
    decidedBy: row.decided_by,
    decisionReason: row.decision_reason,
    accessUntil: dateOrNull(row.access_until),
    revokedAt: dateOrNull(row.revoked_at),
    revokedBy: row.revoked_by,
    revocationReason: row.revocation_reason,
  };
}

const refused = (message: string, field: string, code: "BAD_USER_INPUT" | "NOT_FOUND" | "FORBIDDEN" = "BAD_USER_INPUT"): DisclosureResult => ({
  request: null,
  error: new InputError(message, field, code),
});

/**
 * Third-party access to customer identification records (EO 13984 §1(a)(iii)): an agency asks for one
 * account's record citing its legal basis; the provider that holds the account approves or refuses;
 * an approval lets that agency read that record (record.access.ts) until DISCLOSURE_ACCESS_DAYS have
 * passed or the provider revokes it. Every step is a link in the provider's audit trail, written in
 * the step's transaction.
 *
 * What an agency learns from asking: that the account id names an account registered in the hub, and
 * which provider holds it (it asks that provider). Not whether a record exists, nor its status, until
 * an approval lets it read the record.
 */
export class DisclosureService {
  constructor(private readonly ctx: Context) {}

  private get viewer(): Viewer {
    return this.ctx.viewer;
  }

  async request(accountIdArg: string, legalBasisArg: string): Promise<DisclosureResult> {
    if (this.viewer.orgKind !== "AGENCY") throw forbidden("only an AGENCY org files disclosure requests");
    const uuid = parseStixId("account", accountIdArg);
    if (!uuid) return refused("accountId: not an account id (account--<uuid>)", "accountId");
    const basis = checkLegalBasis(legalBasisArg);
    if (!basis.ok) return refused(basis.message, "legalBasis");
    const owner = await this.accountProvider(uuid);
    if (owner === null) return refused("accountId: no account with this id", "accountId", "NOT_FOUND");
    const now = this.ctx.hub.clock();
    return this.ctx.em.transactional(async (em) => {
      const id = randomUUID();
      // At most one undecided request per agency and account (a unique index): a second waits for nothing.
      const [row] = await query<DisclosureRow>(
        em,
        `insert into verification.disclosure_request (id, owner, account_id, requester, requested_by, legal_basis, status, requested_at)
         values ($1, $2, $3, $4, $5, $6, 'REQUESTED', $7)
         on conflict (requester, account_id) where status = 'REQUESTED' do nothing
         returning ${COLUMNS}`,
        [id, owner, uuid, this.viewer.org, this.viewer.sub, basis.value, now],
        "disclosure_insert",
      );
      if (!row) return refused("accountId: a request of yours for this account already awaits its provider's decision", "accountId");
      await audit(em, this.viewer, { org: owner, action: "DISCLOSURE_REQUESTED", accountId: uuid, detail: { request: disclosureId(id), requester: this.viewer.org } }, now);
      return { request: toRequest(row, now), error: null };
    });
  }

  /** The owning provider approves (a read grant of DISCLOSURE_ACCESS_DAYS) or refuses; once. */
  async decide(idArg: string, approve: boolean, reasonArg: string): Promise<DisclosureResult> {
    const uuid = parseStixId(DISCLOSURE_ID_PREFIX, idArg);
    if (!uuid) return refused(`id: not a disclosure request id (${DISCLOSURE_ID_PREFIX}--<uuid>)`, "id");
    const reason = checkReason(reasonArg);
    if (!reason.ok) return refused(reason.message, "reason");
    const now = this.ctx.hub.clock();
    return this.ctx.em.transactional(async (em) => {
      const row = await this.ownRequestForUpdate(em, uuid);
      if (!row) return refused("id: no disclosure request to you with this id", "id", "NOT_FOUND");
      if (row.status !== "REQUESTED") return refused(`id: already decided (${statusAt(row, now)}); a decision is made once`, "id");
      let recordId: string | null = null;
      let accessUntil: Date | null = null;
      if (approve) {
        const [record] = await query<{ id: string }>(
          em,
          "select id from verification.customer_record where owner = $1 and account_id = $2",
          [row.owner, row.account_id],
          "disclosure_record_of_account",
        );
        // An approval with nothing to read would grant nothing; the refusal's reason can say so.
        if (!record) return refused("approve: this account has no customer record to disclose; refuse the request, saying so in the reason", "approve");
        recordId = record.id;
        accessUntil = new Date(now.getTime() + this.ctx.hub.config.verification.DISCLOSURE_ACCESS_DAYS * DAY_MS);
      }
      const [updated] = await query<DisclosureRow>(
        em,
        `update verification.disclosure_request
            set status = $2, record_id = $3, decided_at = $4, decided_by = $5, decision_reason = $6, access_until = $7
          where id = $1
          returning ${COLUMNS}`,
        [uuid, approve ? "APPROVED" : "REFUSED", recordId, now, this.viewer.sub, reason.value, accessUntil],
        "disclosure_decide",
      );
      await audit(
        em,
        this.viewer,
        {
          org: row.owner,
          action: "DISCLOSURE_DECIDED",
          recordId,
          accountId: row.account_id,
          detail: { request: disclosureId(uuid), decision: approve ? "APPROVED" : "REFUSED", requester: row.requester, accessUntil: accessUntil?.toISOString() ?? null },
        },
        now,
      );
      return { request: toRequest(updated!, now), error: null };
    });
  }

  /** The owning provider ends an approval in force before its time. */
  async revoke(idArg: string, reasonArg: string): Promise<DisclosureResult> {
    const uuid = parseStixId(DISCLOSURE_ID_PREFIX, idArg);
    if (!uuid) return refused(`id: not a disclosure request id (${DISCLOSURE_ID_PREFIX}--<uuid>)`, "id");
    const reason = checkReason(reasonArg);
    if (!reason.ok) return refused(reason.message, "reason");
    const now = this.ctx.hub.clock();
    return this.ctx.em.transactional(async (em) => {
      const row = await this.ownRequestForUpdate(em, uuid);
      if (!row) return refused("id: no disclosure request to you with this id", "id", "NOT_FOUND");
      if (statusAt(row, now) !== "APPROVED") return refused(`id: only an approval in force can be revoked (this one is ${statusAt(row, now)})`, "id");
      const [updated] = await query<DisclosureRow>(
        em,
        `update verification.disclosure_request
            set status = 'REVOKED', access_until = $2, revoked_at = $2, revoked_by = $3, revocation_reason = $4
          where id = $1
          returning ${COLUMNS}`,
        [uuid, now, this.viewer.sub, reason.value],
        "disclosure_revoke",
      );
      await audit(
        em,
        this.viewer,
        { org: row.owner, action: "DISCLOSURE_DECIDED", recordId: row.record_id, accountId: row.account_id, detail: { request: disclosureId(uuid), decision: "REVOKED", requester: row.requester } },
        now,
      );
      return { request: toRequest(updated!, now), error: null };
    });
  }

  /**
   * The requests the viewer is party to: with verification:read, those to its org (it holds the
   * accounts); with verification:disclose, those its org filed. Newest first.
   */
  async list(filter: DisclosureFilter | null | undefined, first: number | null | undefined, after: string | null | undefined): Promise<DisclosureConnection> {
    const asProvider = hasScope(this.viewer, "verification:read");
    const asAgency = hasScope(this.viewer, "verification:disclose");
    if (!asProvider && !asAgency) throw forbidden("this operation needs the scope 'verification:read' or 'verification:disclose'");
    const size = first ?? DEFAULT_PAGE;
    if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE) throw badInput(`first: from 1 to ${MAX_PAGE}`, "first");
    const now = this.ctx.hub.clock();
    const p = new Params();
    const org = p.add(this.viewer.org);
    const parties = [asProvider ? `owner = ${org}` : null, asAgency ? `requester = ${org}` : null].filter(Boolean).join(" or ");
    const where = [`(${parties})`];
    if (filter?.accountId != null) {
      const account = parseStixId("account", filter.accountId);
      if (!account) throw badInput("filter.accountId: not an account id (account--<uuid>)", "filter.accountId");
      where.push(`account_id = ${p.add(account)}`);
    }
    if (filter?.status) {
      where.push(
        filter.status === "APPROVED"
          ? `status = 'APPROVED' and access_until > ${p.add(now)}`
          : filter.status === "EXPIRED"
            ? `status = 'APPROVED' and access_until <= ${p.add(now)}`
            : `status = ${p.add(filter.status)}`,
      );
    }
    if (after) where.push(`seq < ${p.add(cursors.decode(after))}`);
    const rows = await query<DisclosureRow>(
      this.ctx.em,
      `select ${COLUMNS} from verification.disclosure_request where ${where.join(" and ")} order by seq desc limit ${p.add(size + 1)}`,
      p.values,
    );
    const edges = rows.slice(0, size).map((r) => ({ cursor: cursors.encode(Number(r.seq)), node: toRequest(r, now) }));
    return { edges, pageInfo: { hasNextPage: rows.length > size, endCursor: edges.at(-1)?.cursor ?? null } };
  }

  /** The request, locked, if the viewer's org holds its account (anyone else: as if there were none). */
  private async ownRequestForUpdate(em: EntityManager, uuid: string): Promise<DisclosureRow | null> {
    const [row] = await query<DisclosureRow>(
      em,
      `select ${COLUMNS} from verification.disclosure_request where id = $1 and owner = $2 for update`,
      [uuid, this.viewer.org],
      "disclosure_own_for_update",
    );
    return row ?? null;
  }

  /** The provider that holds an account, by the projection of the account registry (synced if it is behind). */
  private async accountProvider(uuid: string): Promise<string | null> {
    const read = async () =>
      (await query<{ provider: string }>(this.ctx.em, "select provider from verification.account where id = $1", [uuid], "disclosure_account_provider"))[0]?.provider ?? null;
    const found = await read();
    if (found !== null) return found;
    await this.ctx.projections.get(VERIFICATION_ACCOUNTS)!.sync();
    return read();
  }
}
