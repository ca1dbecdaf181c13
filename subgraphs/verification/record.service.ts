import { randomUUID } from "node:crypto";
import type { EntityManager } from "@mikro-orm/postgresql";
import { hasScope, type Viewer } from "../../src/auth/viewer.js";
import { asDate, query } from "../../src/db/sql.js";
import { badInput, forbidden } from "../../src/errors.js";
import { pageSize } from "../../src/graphql/ids.js";
import { appendEvents } from "../../src/events/outbox.js";
import { Topics, type VerificationStatusPayload } from "../../src/events/topics.js";
import { InputError } from "../../src/graphql/common.types.js";
import type { Context } from "../../src/graphql/context.js";
import { canonical, hashInput, type IdentifierType } from "../../src/identifiers/canonical.js";
import { VERIFICATION_ACCOUNTS } from "./account.projection.js";
import { audit, type AuditAction } from "./audit.trail.js";
import { readableRecordsSql, readRights, recordAccess, type RecordAccess } from "./record.access.js";
import { RecordSealer } from "./record.crypto.js";
import { LOOKUP_TYPES, type LookupType, type StoredStatus, type VerificationStatus } from "./record.enums.js";
import type { CustomerRecordInput, PartyInput, VerificationCheckInput } from "./record.input.js";
import {
  accountId,
  CHECK_COLUMNS,
  checkRow,
  parseRecordId,
  recordId,
  recordRow,
  sealedContacts,
  sealedParty,
  type CheckRow,
  type RecordRow,
  type SealedCheck,
  type SealedContacts,
  type SealedParty,
  type SealedPayment,
  type StatusChangeRow,
} from "./record.row.js";
import type { CustomerRecord, CustomerRecordResult, Party, ReverificationConnection, VerificationCheck } from "./record.type.js";
import { checkBeneficialOwners, checkCustomerRecord, checkReason, checkVerificationCheck, parseAccountId, type ValidParty } from "./record.validation.js";
import { moveStatus } from "./record.workflow.js";
import { exemptAccountsOf } from "./exemption.service.js";

const DAY_MS = 24 * 3600 * 1000;
const TABLE = "customer_record";
const MAX_LOOKUP_RESULTS = 100;
const DEFAULT_PAGE = 50;
const MAX_PAGE = 500;

/** The identifier type whose canonical form each lookup compares. */
const LOOKUP_IDENTIFIER: Record<LookupType, IdentifierType> = { NATIONAL_ID: "NATIONAL_ID", EMAIL: "EMAIL", PHONE: "PHONE", CARD: "PAYMENT_CARD" };

/** The parameters after the statement's own first one: the viewer's org, the time and its two read rights. */
const READ_PARAMS = { org: "$2", now: "$3", own: "$4", disclosed: "$5" };
const readFlags = (viewer: Viewer) => {
  const rights = readRights(viewer);
  return [rights.own, rights.disclosed];
};

const fail = (error: InputError): CustomerRecordResult => ({ record: null, error });
const noRecord = () => fail(new InputError("recordId: no customer record of yours with this id", "recordId", "NOT_FOUND"));

/**
 * What the blind index hashes: the provider, the type and the canonical value. The provider is part
 * of it so that the same national id held by two providers gives two unrelated digests: the index
 * links nothing across providers, even for someone holding a copy of the table.
 */
const indexText = (owner: string, kind: LookupType, value: string) => `${owner}\u0000${hashInput(LOOKUP_IDENTIFIER[kind], value)}`;

/** The values of a record that exact lookups find it by. */
function indexEntries(record: { customer: SealedParty; beneficialOwners: SealedParty[]; payments: SealedPayment[]; contacts: SealedContacts }): { kind: LookupType; value: string }[] {
  const entries = new Map<string, { kind: LookupType; value: string }>();
  const add = (kind: LookupType, value: string | null) => value && entries.set(`${kind}\u0000${value}`, { kind, value });
  for (const party of [record.customer, ...record.beneficialOwners]) add("NATIONAL_ID", party.nationalId);
  for (const c of record.contacts.emails) add("EMAIL", c.value);
  for (const c of record.contacts.phones) add("PHONE", c.value);
  for (const p of record.payments) add("CARD", p.cardNumber);
  return [...entries.values()];
}

/** Where each foreign beneficial owner is, for counting foreign owners by country. */
const foreignOwnerCountries = (owners: ValidParty[]) => owners.filter((o) => !o.usPerson && o.country).map((o) => o.country!);

const toParty = (p: SealedParty): Party => ({ ...p, addresses: p.addresses.map((a) => ({ ...a })) });

/**
 * Customer identification records: opened by the provider that holds the account, sealed field by
 * field before they reach PostgreSQL, found again by exact values through a keyed blind index, moved
 * through the verification workflow, and read only as record.access.ts allows. Every read and change
 * is audited in its own transaction; every status change goes on the event log (status only).
 */
export class RecordService {
  constructor(private readonly ctx: Context) {}

  private get viewer(): Viewer {
    return this.ctx.viewer;
  }

  private now(): Date {
    return this.ctx.hub.clock();
  }

  private get settings() {
    return this.ctx.hub.config.verification;
  }

  // ---- reads ----

  /** The record of an account, decrypted, if the viewer may read it; each read is audited. */
  async byAccount(id: string): Promise<CustomerRecord | null> {
    if (!hasScope(this.viewer, "verification:read") && !hasScope(this.viewer, "verification:disclose")) {
      throw forbidden("this operation needs the scope 'verification:read' (or 'verification:disclose' for an agency)");
    }
    const uuid = parseAccountId(id);
    if (!uuid) return null;
    const now = this.now();
    return this.ctx.em.transactional(async (em) => {
      // The access rule is in the lookup itself: another provider's record and no record at all then
      // cost the same one statement, and the work done reveals nothing about whether a record exists.
      const [raw] = await query<RecordRow>(
        em,
        `select r.* from verification.customer_record r where r.account_id = $1 and ${readableRecordsSql("r", READ_PARAMS)}`,
        [uuid, this.viewer.org, now, ...readFlags(this.viewer)],
        "verification_record_by_account",
      );
      if (!raw) return null;
      const row = recordRow(raw);
      const access = await recordAccess(em, this.viewer, { owner: row.owner, accountId: row.account_id, id: row.id }, now);
      if (!access) return null;
      await this.audit(em, row, "RECORD_READ", now, accessDetail(access));
      return this.decode(em, row, now);
    });
  }

  /** The caller's own records holding exactly this value (in canonical form), through the blind index. */
  async byIdentifier(type: LookupType, value: string): Promise<CustomerRecord[]> {
    if (!LOOKUP_TYPES.includes(type)) throw badInput(`type: must be one of ${LOOKUP_TYPES.join(", ")}`, "type");
    const form = typeof value === "string" ? canonical(LOOKUP_IDENTIFIER[type], value) : { ok: false as const, why: "must be a string" };
    if (!form.ok) throw badInput(`value: ${form.why}`, "value");
    const owner = this.viewer.org;
    const digests = this.ctx.hub.recordKeys.index.hashesForMatching(indexText(owner, type, form.value)).map((h) => h.digest);
    const now = this.now();
    return this.ctx.em.transactional(async (em) => {
      const rows = await query<RecordRow>(
        em,
        `select r.* from verification.customer_record r
          where r.owner = $1 and r.id in (select i.record_id from verification.record_index i where i.owner = $1 and i.kind = $2 and i.digest = any($3::bytea[]))
          order by r.opened_at, r.id limit ${MAX_LOOKUP_RESULTS}`,
        [owner, type, digests],
        "verification_records_by_identifier",
      ).then((found) => found.map(recordRow));
      // One link for the search (what kind, how many found), then one per record read.
      await audit(em, this.viewer, { org: owner, action: "RECORD_SEARCHED", detail: { kind: type, found: rows.length } }, now);
      const out: CustomerRecord[] = [];
      for (const row of rows) {
        await this.audit(em, row, "RECORD_READ", now, { via: "OWNER", search: type });
        out.push(await this.decode(em, row, now));
      }
      return out;
    });
  }

  /** The caller's VERIFIED records whose re-verification is due, the longest overdue first: ids and dates only. */
  async dueForReverification(first: number | null | undefined, after: string | null | undefined): Promise<ReverificationConnection> {
    const size = pageSize(first, DEFAULT_PAGE, MAX_PAGE);
    const position = after == null ? null : parseDueCursor(after);
    const now = this.now();
    const rows = await query<{ id: string; account_id: string; verified_at: Date; reverify_due_at: Date }>(
      this.ctx.em,
      `select id, account_id, verified_at, reverify_due_at from verification.customer_record
        where owner = $1 and status = 'VERIFIED' and reverify_due_at <= $2
          and ($3::timestamptz is null or (reverify_due_at, id) > ($3::timestamptz, $4::uuid))
        order by reverify_due_at, id limit $5`,
      [this.viewer.org, now, position?.at ?? null, position?.id ?? null, size + 1],
      "verification_due_page",
    );
    const edges = rows.slice(0, size).map((r) => ({
      cursor: dueCursor(asDate(r.reverify_due_at), r.id),
      node: { recordId: recordId(r.id), accountId: accountId(r.account_id), verifiedAt: asDate(r.verified_at), reverifyDueAt: asDate(r.reverify_due_at) },
    }));
    return { edges, pageInfo: { hasNextPage: rows.length > size, endCursor: edges.at(-1)?.cursor ?? null } };
  }

  /**
   * `Account.verificationStatus`: EXEMPT to the provider of an account an exemption covers; else the
   * status of the account's record to whoever may read the record; else null.
   */
  async statusOf(accountUuids: readonly string[]): Promise<(VerificationStatus | null)[]> {
    const now = this.now();
    // Only the records the viewer may read are fetched (as in byAccount): the others answer as no record.
    const rows = await query<{ account_id: string; status: StoredStatus }>(
      this.ctx.em,
      `select r.account_id, r.status from verification.customer_record r where r.account_id = any($1::uuid[]) and ${readableRecordsSql("r", READ_PARAMS)}`,
      [accountUuids, this.viewer.org, now, ...readFlags(this.viewer)],
      "verification_status_by_accounts",
    );
    const status = new Map(rows.map((r) => [r.account_id, r.status]));
    // An account an exemption covers needs no verification (§1(c)): its provider sees EXEMPT, record or not.
    const exempt = await exemptAccountsOf(this.ctx.em, this.viewer, accountUuids, now);
    return accountUuids.map((uuid) => (exempt.has(uuid) ? "EXEMPT" : (status.get(uuid) ?? null)));
  }

  // ---- changes ----

  async open(input: CustomerRecordInput): Promise<CustomerRecordResult> {
    const now = this.now();
    const checked = checkCustomerRecord(input, now, this.settings.CIP_OWNERSHIP_PERCENT);
    if (!checked.ok) return fail(checked.error);
    const valid = checked.value;
    if (!(await this.ownAccount(valid.accountUuid))) return fail(new InputError("accountId: no account of yours with this id", "accountId", "NOT_FOUND"));

    const id = randomUUID();
    const owner = this.viewer.org;
    const sealer = RecordSealer.create(this.ctx.hub.recordKeys, id);
    const customer = sealedParty(valid.customer);
    const owners = valid.beneficialOwners.map(sealedParty);
    const contacts = sealedContacts(valid.emails, valid.phones);
    return this.ctx.em.transactional(async (em) => {
      const [inserted] = await query<RecordRow>(
        em,
        `insert into verification.customer_record (id, owner, account_id, product, status, us_person, us_person_reason, customer_country, foreign_owner_countries,
                                                   master_key_id, data_key, customer, beneficial_owners, payments, contacts, opened_at, status_changed_at, last_access_at)
         values ($1, $2, $3, $4, 'PENDING', $5, $6, $7, $8::text[], $9, $10, $11, $12, $13, $14, $15, $15,
                 -- Access logged before the record was opened counts as its last access too.
                 (select max(e.at) from verification.access_event e where e.owner = $2 and e.account_id = $3))
         on conflict (account_id) do nothing
         returning *`,
        [
          id,
          owner,
          valid.accountUuid,
          valid.product,
          valid.customer.usPerson,
          valid.customer.usPersonReason,
          valid.customer.country,
          foreignOwnerCountries(valid.beneficialOwners),
          sealer.keyId,
          sealer.wrapped,
          sealer.seal(TABLE, "customer", id, customer),
          sealer.seal(TABLE, "beneficial_owners", id, owners),
          sealer.seal(TABLE, "payments", id, valid.payments),
          sealer.seal(TABLE, "contacts", id, contacts),
          now,
        ],
        "verification_record_insert",
      );
      if (!inserted) return fail(new InputError("accountId: this account already has a customer record", "accountId"));
      const row = recordRow(inserted);
      await this.writeIndex(em, id, owner, indexEntries({ customer, beneficialOwners: owners, payments: valid.payments, contacts }));
      await this.audit(em, row, "RECORD_OPENED", now, { status: "PENDING", beneficialOwners: owners.length, payments: valid.payments.length });
      await this.logStatus(em, row, sealer, null, "PENDING", "record opened", now);
      const record = await this.decode(em, row, now, sealer);
      await this.statusEvent(em, row, null, "PENDING", now);
      return { record, error: null };
    });
  }

  async addCheck(id: string, input: VerificationCheckInput): Promise<CustomerRecordResult> {
    const now = this.now();
    const checked = checkVerificationCheck(input, now);
    const uuid = parseRecordId(id);
    if (!uuid) return noRecord();
    if (!checked.ok) return fail(checked.error);
    const check = checked.value;
    return this.ctx.em.transactional(async (em) => {
      const row = await this.ownRecordForUpdate(em, uuid);
      if (!row) return noRecord();
      if (row.status === "CLOSED") return fail(new InputError("recordId: the record is CLOSED; it takes no more checks", "recordId"));
      const sealer = RecordSealer.of(this.ctx.hub.recordKeys, row);
      if (check.ownerIndex !== null) {
        const owners = sealer.open<SealedParty[]>(TABLE, "beneficial_owners", row.id, row.beneficial_owners);
        if (check.ownerIndex >= owners.length) return fail(new InputError(`subject: the record has ${owners.length} beneficial owner(s)`, "subject"));
      }
      const checkId = randomUUID();
      const sealed: SealedCheck = { documentNumber: check.documentNumber, discrepancy: check.discrepancy, resolution: check.resolution };
      await query(
        em,
        `insert into verification.verification_check (id, record_id, subject, method, document_type, issuing_country, expires_on, source, result, sealed, checked_by, checked_at, created_at, round)
         values ($1, $2, $3, $4, $5, $6, $7::date, $8, $9, $10, $11, $12, $13, $14)`,
        [
          checkId,
          row.id,
          check.subject,
          check.method,
          check.documentType,
          check.issuingCountry,
          check.expiresOn,
          check.source,
          check.result,
          sealer.seal("verification_check", "sealed", checkId, sealed),
          `${this.viewer.org}/${this.viewer.sub}`,
          check.checkedAt,
          now,
          row.round,
        ],
        "verification_check_insert",
      );
      await this.audit(em, row, "CHECK_ADDED", now, { check: checkId, method: check.method, result: check.result });
      return { record: await this.decode(em, row, now, sealer), error: null };
    });
  }

  async setStatus(id: string, status: VerificationStatus, reason: string): Promise<CustomerRecordResult> {
    const now = this.now();
    const uuid = parseRecordId(id);
    if (!uuid) return noRecord();
    const why = checkReason(reason);
    if (!why.ok) return fail(why.error);
    return this.ctx.em.transactional(async (em) => {
      const row = await this.ownRecordForUpdate(em, uuid);
      if (!row) return noRecord();
      const move = moveStatus(row.status, status);
      if (!move.ok) return fail(move.error);
      const to = move.value;
      const sealer = RecordSealer.of(this.ctx.hub.recordKeys, row);
      if (to === "VERIFIED") {
        const missing = await this.unverifiedParties(em, row, sealer);
        if (missing.length) {
          return fail(new InputError(`status: VERIFIED needs a passing check, since verification last re-opened, of each foreign party; none of ${missing.join(", ")}`, "status"));
        }
      }
      const days = (n: number) => new Date(now.getTime() + n * DAY_MS);
      const [changed] = await query<RecordRow>(
        em,
        `update verification.customer_record set
           status = $2, status_changed_at = $3, version = version + 1,
           verified_at = case when $2 = 'VERIFIED' then $3 else verified_at end,
           reverify_due_at = case when $2 = 'VERIFIED' then $4::timestamptz else null end,
           round = case when $2 = 'PENDING' then round + 1 else round end,
           closed_at = case when $2 = 'CLOSED' then $3 else closed_at end,
           retain_until = case when $2 = 'CLOSED' then greatest($3, last_access_at) + make_interval(days => $5::int) else retain_until end
         where id = $1 returning *`,
        [row.id, to, now, days(this.settings.CIP_REVERIFY_AFTER_DAYS), this.settings.CIP_RETENTION_DAYS],
        "verification_record_status",
      );
      const updated = recordRow(changed!);
      await this.audit(em, updated, "STATUS_CHANGED", now, { from: row.status, to });
      await this.logStatus(em, updated, sealer, row.status, to, why.value, now);
      const record = await this.decode(em, updated, now, sealer);
      await this.statusEvent(em, updated, row.status, to, now);
      return { record, error: null };
    });
  }

  /**
   * Replaces the beneficial owners. A change of owners re-opens verification: a VERIFIED record goes
   * back to PENDING, and whatever the status a new round begins, in which only checks recorded from
   * now on count towards VERIFIED. An UNVERIFIED record stays restricted.
   */
  async setBeneficialOwners(id: string, input: PartyInput[]): Promise<CustomerRecordResult> {
    const now = this.now();
    const uuid = parseRecordId(id);
    if (!uuid) return noRecord();
    const checked = checkBeneficialOwners("owners", input, now, this.settings.CIP_OWNERSHIP_PERCENT);
    if (!checked.ok) return fail(checked.error);
    const owners = checked.value.map(sealedParty);
    return this.ctx.em.transactional(async (em) => {
      const row = await this.ownRecordForUpdate(em, uuid);
      if (!row) return noRecord();
      if (row.status === "CLOSED" || row.status === "FAILED") {
        return fail(new InputError(`recordId: the record is ${row.status}; its owners are kept as they were`, "recordId"));
      }
      const sealer = RecordSealer.of(this.ctx.hub.recordKeys, row);
      const to: StoredStatus = row.status === "VERIFIED" ? "PENDING" : row.status;
      const [changed] = await query<RecordRow>(
        em,
        `update verification.customer_record set
           beneficial_owners = $2, foreign_owner_countries = $3::text[], status = $4, version = version + 1, round = round + 1,
           status_changed_at = case when status = $4 then status_changed_at else $5 end,
           reverify_due_at = case when $4 = 'VERIFIED' then reverify_due_at else null end
         where id = $1 returning *`,
        [row.id, sealer.seal(TABLE, "beneficial_owners", row.id, owners), foreignOwnerCountries(checked.value), to, now],
        "verification_record_owners",
      );
      const updated = recordRow(changed!);
      await query(em, `delete from verification.record_index where record_id = $1`, [row.id], "verification_index_clear");
      await this.writeIndex(
        em,
        row.id,
        row.owner,
        indexEntries({
          customer: sealer.open<SealedParty>(TABLE, "customer", row.id, row.customer),
          beneficialOwners: owners,
          payments: sealer.open<SealedPayment[]>(TABLE, "payments", row.id, row.payments),
          contacts: sealer.open<SealedContacts>(TABLE, "contacts", row.id, row.contacts),
        }),
      );
      await this.audit(em, updated, "RECORD_UPDATED", now, { beneficialOwners: owners.length, from: row.status, to });
      // The round's start is on the status log even when the status stays, so that it shows why.
      await this.logStatus(em, updated, sealer, row.status, to, "beneficial owners changed: verification re-opened", now);
      const record = await this.decode(em, updated, now, sealer);
      await this.statusEvent(em, updated, row.status, to, now);
      return { record, error: null };
    });
  }

  // ---- helpers ----

  /** An account of the caller's own, from the projection of account events (synced once if unknown). */
  private async ownAccount(uuid: string): Promise<boolean> {
    const find = () => query<{ provider: string }>(this.ctx.em, `select provider from verification.account where id = $1`, [uuid], "verification_account_owner");
    let [account] = await find();
    if (!account) {
      // An account registered a moment ago may not have reached the projection yet.
      await this.ctx.projections.get(VERIFICATION_ACCOUNTS)!.sync();
      [account] = await find();
    }
    // Another provider's account answers as none at all: nothing reveals that it exists.
    return account?.provider === this.viewer.org;
  }

  private async ownRecordForUpdate(em: EntityManager, uuid: string): Promise<RecordRow | null> {
    const [row] = await query<RecordRow>(em, `select * from verification.customer_record where id = $1 and owner = $2 for update`, [uuid, this.viewer.org], "verification_record_lock");
    return row ? recordRow(row) : null;
  }

  private async writeIndex(em: EntityManager, id: string, owner: string, entries: { kind: LookupType; value: string }[]): Promise<void> {
    if (!entries.length) return;
    const index = this.ctx.hub.recordKeys.index;
    const hashes = entries.map((e) => ({ kind: e.kind, ...index.hash(indexText(owner, e.kind, e.value)) }));
    await query(
      em,
      `insert into verification.record_index (record_id, owner, kind, key_id, digest)
       select $1, $2, k.kind, k.key_id, k.digest from unnest($3::text[], $4::text[], $5::bytea[]) as k(kind, key_id, digest)`,
      [id, owner, hashes.map((h) => h.kind), hashes.map((h) => h.keyId), hashes.map((h) => h.digest)],
      "verification_index_insert",
    );
  }

  /** The foreign parties ("customer", "beneficialOwners[i]") without a passing check in the current round. */
  private async unverifiedParties(em: EntityManager, row: RecordRow, sealer: RecordSealer): Promise<string[]> {
    const customer = sealer.open<SealedParty>(TABLE, "customer", row.id, row.customer);
    const owners = sealer.open<SealedParty[]>(TABLE, "beneficial_owners", row.id, row.beneficial_owners);
    const passed = await query<{ subject: string }>(
      em,
      `select distinct subject from verification.verification_check where record_id = $1 and result = 'PASS' and round = $2`,
      [row.id, row.round],
      "verification_passed_subjects",
    );
    const done = new Set(passed.map((p) => p.subject));
    const parties: [string, SealedParty][] = [["customer", customer], ...owners.map((o, i): [string, SealedParty] => [`beneficialOwners[${i}]`, o])];
    return parties.filter(([subject, party]) => !party.usPerson && !done.has(subject)).map(([subject]) => subject);
  }

  /** The record's status log: each move (or new round, from = to) with its reason, sealed and bound to its row. */
  private async logStatus(em: EntityManager, row: RecordRow, sealer: RecordSealer, from: StoredStatus | null, to: StoredStatus, reason: string, now: Date): Promise<void> {
    // The row's seq is taken first so that the sealed reason can be bound to it.
    const [next] = await query<{ seq: number }>(em, `select nextval(pg_get_serial_sequence('verification.status_change', 'seq')) as seq`, [], "verification_status_seq");
    const seq = next!.seq;
    await query(
      em,
      `insert into verification.status_change (seq, record_id, from_status, to_status, reason, by_org, by_subject, at)
       overriding system value values ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [seq, row.id, from, to, sealer.seal("status_change", "reason", String(seq), reason), this.viewer.org, this.viewer.sub, now],
      "verification_status_change_insert",
    );
  }

  /**
   * What every other reader of the log learns of a move: ids and the status only. Last in its
   * transaction: appending holds the event log's lock until commit.
   */
  private async statusEvent(em: EntityManager, row: RecordRow, from: StoredStatus | null, to: StoredStatus, now: Date): Promise<void> {
    if (from === to) return;
    const payload: VerificationStatusPayload = { account_id: row.account_id, record_id: row.id, provider: row.owner, status: to, at: now.toISOString() };
    await appendEvents(em, [{ topic: Topics.VERIFICATION_STATUS_CHANGED, owner: row.owner, tlp: "RED", sharedWith: [], payload: { ...payload } }]);
  }

  private audit(em: EntityManager, row: RecordRow, action: AuditAction, now: Date, detail: Record<string, string | number | boolean | null>): Promise<void> {
    return audit(em, this.viewer, { org: row.owner, action, recordId: row.id, accountId: row.account_id, detail }, now);
  }

  /** The record as clients see it, its sealed fields opened (a ciphertext that fails to open throws, and the request fails masked). */
  private async decode(em: EntityManager, row: RecordRow, now: Date, given?: RecordSealer): Promise<CustomerRecord> {
    const sealer = given ?? RecordSealer.of(this.ctx.hub.recordKeys, row);
    const checks = await query<CheckRow>(em, `select ${CHECK_COLUMNS} from verification.verification_check where record_id = $1 order by checked_at, created_at, id`, [row.id], "verification_checks_of").then((rows) => rows.map(checkRow));
    const changes = await query<StatusChangeRow>(em, `select * from verification.status_change where record_id = $1 order by seq`, [row.id], "verification_status_changes_of");
    const contacts = sealer.open<SealedContacts>(TABLE, "contacts", row.id, row.contacts);
    const contact = (c: SealedContacts["emails"][number]) => ({ value: c.value, verifiedAt: c.verifiedAt ? new Date(c.verifiedAt) : null });
    const unverifiedDays = this.settings.CIP_UNVERIFIED_MAX_DAYS;
    return {
      id: recordId(row.id),
      accountId: accountId(row.account_id),
      status: row.status,
      usPerson: row.us_person,
      usPersonReason: row.us_person_reason,
      product: row.product,
      customer: toParty(sealer.open<SealedParty>(TABLE, "customer", row.id, row.customer)),
      beneficialOwners: sealer.open<SealedParty[]>(TABLE, "beneficial_owners", row.id, row.beneficial_owners).map(toParty),
      payments: sealer.open<SealedPayment[]>(TABLE, "payments", row.id, row.payments),
      emails: contacts.emails.map(contact),
      phones: contacts.phones.map(contact),
      checks: checks.map((c) => toCheck(c, sealer.open<SealedCheck>("verification_check", "sealed", c.id, c.sealed))),
      statusHistory: changes.map((c) => ({
        from: c.from_status,
        to: c.to_status,
        reason: sealer.open<string>("status_change", "reason", String(c.seq), c.reason),
        by: `${c.by_org}/${c.by_subject}`,
        at: asDate(c.at),
      })),
      openedAt: row.opened_at,
      statusChangedAt: row.status_changed_at,
      verifiedAt: row.verified_at,
      reverifyDueAt: row.reverify_due_at,
      reverificationDue: row.status === "VERIFIED" && row.reverify_due_at !== null && row.reverify_due_at <= now,
      restrictedUntil: row.status === "UNVERIFIED" ? new Date(row.status_changed_at.getTime() + unverifiedDays * DAY_MS) : null,
      closedAt: row.closed_at,
      lastAccessAt: row.last_access_at,
      retainUntil: row.retain_until,
      legalHold: row.legal_hold,
    };
  }
}

function toCheck(c: CheckRow, sealed: SealedCheck): VerificationCheck {
  return {
    id: c.id,
    subject: c.subject,
    method: c.method,
    documentType: c.document_type,
    documentNumber: sealed.documentNumber,
    issuingCountry: c.issuing_country,
    expiresOn: c.expires_on,
    source: c.source,
    result: c.result,
    discrepancy: sealed.discrepancy,
    resolution: sealed.resolution,
    checkedBy: c.checked_by,
    checkedAt: c.checked_at,
  };
}

const accessDetail = (access: RecordAccess): Record<string, string> =>
  access.kind === "OWNER" ? { via: "OWNER" } : { via: "DISCLOSURE", disclosure: access.requestId };

const dueCursor = (at: Date, id: string) => Buffer.from(`due:${at.toISOString()}|${id}`).toString("base64url");

function parseDueCursor(cursor: string): { at: Date; id: string } {
  const text = cursor.length <= 200 ? Buffer.from(cursor, "base64url").toString("utf8") : "";
  // The exact forms dueCursor writes: anything looser (36 dashes, year -271821) reached PostgreSQL's casts and failed there.
  const m = /^due:(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)\|([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/.exec(text);
  const at = m ? new Date(m[1]!) : null;
  if (!m || !at || Number.isNaN(at.getTime())) throw badInput("after: not a cursor from this list", "after");
  return { at, id: m[2]! };
}
