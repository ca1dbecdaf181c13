import type { EntityManager } from "@mikro-orm/postgresql";
import type { Viewer } from "../../src/auth/viewer.js";
import { Params, query, asDate } from "../../src/db/sql.js";
import { badInput } from "../../src/errors.js";
import { appendEvents } from "../../src/events/outbox.js";
import { Topics, type AccountRegisteredPayload } from "../../src/events/topics.js";
import { InputError } from "../../src/graphql/common.types.js";
import type { Context } from "../../src/graphql/context.js";
import { loaderFor } from "../../src/graphql/loader.js";
import type { AccountStatus } from "./account.entity.js";
import type { AccountFilter, AccountInput } from "./account.input.js";
import { pageCursor, parseAccountId, parsePageCursor, toAccount, type AccountRow, type VisibleAccountRow } from "./account.row.js";
import type { Account, AccountConnection, AccountItemResult, IdentifierHash, RegisterAccountsResult } from "./account.type.js";
import { checkAccount, checkCountry, MAX_ACCOUNTS, type ValidAccount } from "./account.validation.js";
import { accountVisibleSql, flagInForce, flagVisibleSql } from "./account.visibility.js";
import { hashInput, type IdentifierType } from "../../src/identifiers/canonical.js";

const DEFAULT_PAGE = 50;
const MAX_PAGE = 500;

interface StoredAccount extends AccountRow {
  /** `type:keyId:hex` of each stored hash, sorted. */
  identifier_keys: string[];
}

/** An item as it will be stored, merged with the stored account it updates. */
interface Planned {
  row: Omit<AccountRow, "id" | "seq" | "provider" | "created_at" | "modified_at" | "opened_at" | "closed_at"> & { opened_at: Date; closed_at: Date | null };
  /** Hex digests under the current key, or null to keep the stored set. */
  hashes: { type: IdentifierType; hex: string }[] | null;
}

const sameTime = (a: Date | null, b: Date | string | null) => (a === null || b === null ? a === b : a.getTime() === asDate(b).getTime());

export class AccountService {
  constructor(private readonly ctx: Context) {}

  private get em(): EntityManager {
    return this.ctx.em;
  }

  private get viewer(): Viewer {
    return this.ctx.viewer;
  }

  /**
   * `select` of visible accounts with `shared`: whether the provider itself raised a flag in force
   * that the viewer may see, which discloses the provider and its reference to that viewer.
   */
  private visibleSelect(params: Params): string {
    const org = params.add(this.viewer.org);
    return `select a.*, (a.provider = ${org} or exists (select 1 from accounts.flag sf
               where sf.account_id = a.id and sf.owner = a.provider and ${flagInForce("sf")} and ${flagVisibleSql(this.viewer, params, "sf")})) as shared
          from accounts.account a where ${accountVisibleSql(this.viewer, params, "a")}`;
  }

  async byIds(ids: readonly string[]): Promise<(Account | null)[]> {
    const uuids = ids.map(parseAccountId);
    const wanted = uuids.filter((u): u is string => u !== null);
    let rows: VisibleAccountRow[] = [];
    if (wanted.length) {
      const params = new Params();
      const select = this.visibleSelect(params);
      rows = await query<VisibleAccountRow>(this.em, `${select} and a.id = any(${params.add(wanted)}::uuid[])`, params.values, "accounts_by_ids");
    }
    const byId = new Map(rows.map((r) => [r.id, r]));
    return uuids.map((u) => {
      const row = u ? byId.get(u) : undefined;
      return row ? toAccount(row, this.viewer, row.shared) : null;
    });
  }

  async byId(id: string): Promise<Account | null> {
    return (await this.byIds([id]))[0] ?? null;
  }

  async list(filter: AccountFilter | null | undefined, first: number | null | undefined, after: string | null | undefined): Promise<AccountConnection> {
    const size = first ?? DEFAULT_PAGE;
    if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE) throw badInput(`first: must be from 1 to ${MAX_PAGE}`, "first");
    for (const [i, code] of (filter?.holderJurisdictions ?? []).entries()) {
      const checked = checkCountry(`filter.holderJurisdictions[${i}]`, code);
      if (!checked.ok) throw badInput(checked.error.message, checked.error.field ?? undefined);
    }
    const beforeSeq = after ? parsePageCursor(after) : null;

    // One statement text for every combination of filters (an absent filter is a null parameter).
    const params = new Params();
    const select = this.visibleSelect(params);
    const org = params.add(this.viewer.org);
    const where = `
        and (${params.add(filter?.kinds?.length ? filter.kinds : null)}::text[] is null or a.kind = any($${params.values.length}::text[]))
        and (${params.add(filter?.holderJurisdictions?.length ? filter.holderJurisdictions : null)}::text[] is null or a.holder_jurisdiction = any($${params.values.length}::text[]))
        and (${params.add(filter?.statuses?.length ? filter.statuses : null)}::text[] is null or (a.provider = ${org} and a.status = any($${params.values.length}::text[])))
        and (not ${params.add(Boolean(filter?.mine))}::boolean or a.provider = ${org})
        and (not ${params.add(Boolean(filter?.flagged))}::boolean or exists (select 1 from accounts.flag ff
              where ff.account_id = a.id and ${flagInForce("ff")} and ${flagVisibleSql(this.viewer, params, "ff")}))`;
    const filterValues = [...params.values];
    const rows = await query<VisibleAccountRow>(
      this.em,
      `${select} ${where}
         and (${params.add(beforeSeq)}::bigint is null or a.seq < $${params.values.length}::bigint)
       order by a.seq desc limit ${params.add(size + 1)}::int`,
      params.values,
      "accounts_page",
    );
    const hasNextPage = rows.length > size;
    const edges = rows.slice(0, size).map((row) => ({ cursor: pageCursor(Number(row.seq)), node: toAccount(row, this.viewer, row.shared) }));
    return {
      edges,
      pageInfo: { hasNextPage, endCursor: edges.length ? edges[edges.length - 1]!.cursor : null },
      // Counting scans every visible match: done only when the client asks for totalCount.
      count: async () => {
        const [row] = await query<{ n: number }>(this.em, `select count(*)::int as n from (${select} ${where}) c`, filterValues, "accounts_count");
        return row!.n;
      },
    };
  }

  /** The keyed hashes of an account's identifiers (an account in hand is one the viewer may see). */
  identifiers(account: Account): Promise<IdentifierHash[]> {
    const loader = loaderFor<string, IdentifierHash[]>(this.ctx, "accountIdentifiers", async (uuids) => {
      const rows = await query<IdentifierHash & { account_id: string }>(
        this.em,
        `select account_id, type, key_id as "keyId", encode(hash, 'hex') as hash from accounts.account_identifier
          where account_id = any($1::uuid[]) order by type, key_id, hash`,
        [uuids],
        "account_identifiers",
      );
      return uuids.map((u) => rows.filter((r) => r.account_id === u).map(({ type, keyId, hash }) => ({ type, keyId, hash })));
    });
    return loader.load(account.uuid).then((hashes) => hashes ?? []);
  }

  /**
   * Validates every item, stores the good ones (an item naming an external reference the provider
   * already registered updates that account) with one event per account actually changed, in one
   * transaction, and reports per item in input order. Raw identifier values are hashed here and go
   * no further.
   */
  async register(inputs: AccountInput[]): Promise<RegisterAccountsResult> {
    if (inputs.length > MAX_ACCOUNTS) {
      throw badInput(`input: at most ${MAX_ACCOUNTS} accounts per call (got ${inputs.length}); split the batch`, "input");
    }
    const now = new Date();
    const errors = new Map<number, InputError>();
    // The same external reference twice in one batch is one account: the last item wins.
    const latest = new Map<string, ValidAccount>();
    const refOf = new Map<number, string>();
    inputs.forEach((input, index) => {
      const checked = checkAccount(input, now);
      if (!checked.ok) return void errors.set(index, checked.error);
      latest.set(checked.value.externalRef, checked.value);
      refOf.set(index, checked.value.externalRef);
    });

    const outcome = latest.size ? await this.upsert(latest, now) : { stored: new Map<string, { row: AccountRow; changed: boolean }>(), refused: new Map<string, InputError>() };
    let unchanged = 0;
    let registered = 0;
    const results: AccountItemResult[] = inputs.map((_, index) => {
      const ref = refOf.get(index);
      const error = errors.get(index) ?? (ref !== undefined ? outcome.refused.get(ref) : undefined);
      if (error || ref === undefined) return { index, account: null, error: error!, changed: false };
      const stored = outcome.stored.get(ref)!;
      registered++;
      if (!stored.changed) unchanged++;
      return { index, account: toAccount(stored.row, this.viewer, true), error: null, changed: stored.changed };
    });
    return { results, registered, unchanged, failed: inputs.length - registered };
  }

  private async upsert(items: Map<string, ValidAccount>, now: Date): Promise<{ stored: Map<string, { row: AccountRow; changed: boolean }>; refused: Map<string, InputError> }> {
    const provider = this.viewer.org;
    const keys = this.ctx.hub.identifierKeys;
    return this.em.transactional(async (em) => {
      const existing = await query<StoredAccount>(
        em,
        `select a.*, array(select k.key from (select i.type || ':' || i.key_id || ':' || encode(i.hash, 'hex') as key
                               from accounts.account_identifier i where i.account_id = a.id) k order by k.key collate "C") as identifier_keys
           from accounts.account a where a.provider = $1 and a.external_ref = any($2::text[])
          order by a.id for update`,
        [provider, [...items.keys()]],
        "accounts_for_upsert",
      );
      const storedByRef = new Map(existing.map((r) => [r.external_ref, r]));
      const stored = new Map<string, { row: AccountRow; changed: boolean }>();
      const refused = new Map<string, InputError>();
      const toWrite = new Map<string, Planned>();
      for (const [ref, item] of items) {
        const current = storedByRef.get(ref);
        const planned = this.plan(item, current, now);
        if (planned instanceof InputError) refused.set(ref, planned);
        else if (current && !this.differs(planned, current)) stored.set(ref, { row: current, changed: false });
        else toWrite.set(ref, planned);
      }
      if (!toWrite.size) return { stored, refused };

      const written = await query<AccountRow>(
        em,
        `insert into accounts.account as cur (provider, external_ref, kind, holder_type, holder_jurisdiction, us_person, status, opened_at, closed_at)
         select $1, r.external_ref, r.kind, r.holder_type, r.holder_jurisdiction, r.us_person, r.status, r.opened_at, r.closed_at
           from rows from (jsonb_to_recordset($2::jsonb) as (external_ref text, kind text, holder_type text, holder_jurisdiction text,
                  us_person boolean, status text, opened_at timestamptz, closed_at timestamptz))
                with ordinality as r(external_ref, kind, holder_type, holder_jurisdiction, us_person, status, opened_at, closed_at, ord)
          order by r.ord
         on conflict (provider, external_ref) do update set kind = excluded.kind, holder_type = excluded.holder_type,
           holder_jurisdiction = excluded.holder_jurisdiction, us_person = excluded.us_person, status = excluded.status,
           opened_at = excluded.opened_at, closed_at = excluded.closed_at, modified_at = now()
         returning *`,
        [provider, JSON.stringify([...toWrite.values()].map((p) => p.row))],
        "accounts_upsert",
      );
      const withHashes = written.filter((r) => toWrite.get(r.external_ref)!.hashes !== null);
      if (withHashes.length) {
        const ids = withHashes.map((r) => r.id);
        await query(em, "delete from accounts.account_identifier where account_id = any($1::uuid[])", [ids], "account_identifiers_clear");
        const flat = withHashes.flatMap((r) => toWrite.get(r.external_ref)!.hashes!.map((h) => ({ id: r.id, ...h })));
        if (flat.length) {
          await query(
            em,
            `insert into accounts.account_identifier (account_id, type, key_id, hash)
             select u.id, u.type, $1, decode(u.hex, 'hex') from unnest($2::uuid[], $3::text[], $4::text[]) as u(id, type, hex)`,
            [keys.currentKeyId, flat.map((h) => h.id), flat.map((h) => h.type), flat.map((h) => h.hex)],
            "account_identifiers_insert",
          );
        }
      }
      for (const row of written) stored.set(row.external_ref, { row, changed: true });
      await appendEvents(
        em,
        written.map((row) => {
          const payload: AccountRegisteredPayload = { id: row.id, provider: row.provider, kind: row.kind, holder_jurisdiction: row.holder_jurisdiction, status: row.status };
          // An account is its provider's alone: nobody else learns of it from the log.
          return { topic: Topics.ACCOUNT_REGISTERED, owner: row.provider, tlp: "RED" as const, sharedWith: [], payload: payload as unknown as Record<string, unknown> };
        }),
      );
      return { stored, refused };
    });
  }

  /** The item merged with what is stored: omitted status, times and identifiers keep the stored ones. */
  private plan(item: ValidAccount, current: AccountRow | undefined, now: Date): Planned | InputError {
    const status: AccountStatus = item.status ?? current?.status ?? "ACTIVE";
    const openedAt = item.openedAt ?? (current ? asDate(current.opened_at) : now);
    const storedClose = current?.status === "CLOSED" && current.closed_at !== null ? asDate(current.closed_at) : null;
    const closedAt = status === "CLOSED" ? (item.closedAt ?? storedClose ?? now) : null;
    if (closedAt !== null && closedAt < openedAt) {
      return item.closedAt ? new InputError("closedAt: before openedAt", "closedAt") : new InputError("openedAt: after the account's closedAt", "openedAt");
    }
    const keys = this.ctx.hub.identifierKeys;
    return {
      row: {
        external_ref: item.externalRef,
        kind: item.kind,
        holder_type: item.holderType,
        holder_jurisdiction: item.holderJurisdiction,
        us_person: item.usPerson,
        status,
        opened_at: openedAt,
        closed_at: closedAt,
      },
      hashes: item.identifiers?.map((i) => ({ type: i.type, hex: keys.hash(hashInput(i.type, i.value)).digest.toString("hex") })) ?? null,
    };
  }

  private differs(planned: Planned, current: StoredAccount): boolean {
    const r = planned.row;
    if (r.kind !== current.kind || r.holder_type !== current.holder_type || r.holder_jurisdiction !== current.holder_jurisdiction) return true;
    if (r.us_person !== current.us_person || r.status !== current.status) return true;
    if (!sameTime(r.opened_at, current.opened_at) || !sameTime(r.closed_at, current.closed_at)) return true;
    if (planned.hashes === null) return false;
    // A set stored under an older key differs too: registering it again re-hashes it with the current one.
    const keyId = this.ctx.hub.identifierKeys.currentKeyId;
    const next = planned.hashes.map((h) => `${h.type}:${keyId}:${h.hex}`).sort();
    return next.length !== current.identifier_keys.length || next.some((k, i) => k !== current.identifier_keys[i]);
  }
}
