import type { EntityManager } from "@mikro-orm/postgresql";
import { canSee, visibleToSql, type Tlp } from "../../src/auth/tlp.js";
import { ORG_ID_PATTERN, type Viewer } from "../../src/auth/viewer.js";
import { Params, query, asDate } from "../../src/db/sql.js";
import { badInput } from "../../src/errors.js";
import { encodeCursor } from "../../src/events/cursor.js";
import type { HubEvent } from "../../src/events/event.js";
import { stillVisibleBy } from "../../src/events/event-stream.js";
import { appendEvents } from "../../src/events/outbox.js";
import { Topics, type FlagPayload, type Topic } from "../../src/events/topics.js";
import { InputError } from "../../src/graphql/common.types.js";
import type { Context } from "../../src/graphql/context.js";
import { listCursors, parseStixId } from "../../src/graphql/ids.js";
import { loaderFor } from "../../src/graphql/loader.js";
import { accountId, parseAccountId } from "./account.row.js";
import { accountVisibleSql, flagInForce, flagVisibleSql } from "./account.visibility.js";
import { EVIDENCE_MARKINGS } from "./evidence.projection.js";
import type { FlagCategory, FlagStatus } from "./flag.entity.js";
import type { FlagFilter, FlagInput } from "./flag.input.js";
import type { Flag, FlagConnection, FlagEvent, FlagEventKind, FlagResult } from "./flag.type.js";
import { checkFlag, checkReason } from "./flag.validation.js";

const DEFAULT_PAGE = 50;
const MAX_PAGE = 500;

/** Every topic a flag's events are written on; the feed reads them all. */
export const FLAG_TOPICS: readonly Topic[] = [Topics.ACCOUNT_FLAGGED, Topics.FLAG_CLEARED, Topics.FLAG_DISPUTED];
const KIND_OF: Record<string, FlagEventKind> = {
  [Topics.ACCOUNT_FLAGGED]: "FLAGGED",
  [Topics.FLAG_CLEARED]: "CLEARED",
  [Topics.FLAG_DISPUTED]: "DISPUTED",
};

/** A row of accounts.flag as reads return it (FlagPayload's fields plus the evidence and reasons). */
interface FlagRow {
  id: string;
  seq: number;
  account_id: string;
  provider: string;
  owner: string;
  category: FlagCategory;
  confidence: number;
  tlp: Tlp;
  shared_with: string[];
  audience: string[];
  indicator_ids: string[];
  incident_ids: string[];
  status: FlagStatus;
  expires_at: Date | string | null;
  cleared_reason: string | null;
  disputed_reason: string | null;
  created_at: Date | string;
  modified_at: Date | string;
}

/** What a viewer reads of a flag beyond its payload: the evidence it may see, and the reasons. */
export interface FlagDetail {
  indicatorIds: string[];
  incidentIds: string[];
  clearedReason: string | null;
  disputedReason: string | null;
}

const NOT_FOUND = () => new InputError("id: no flag with this id", "id", "NOT_FOUND");
const refused = (error: InputError): FlagResult => ({ flag: null, error });
const cursors = listCursors("fl");
export const parseFlagId = (id: unknown) => parseStixId("flag", id);
/** The TLP rule over evidence markings (the event's audience is the record's). */
const EVIDENCE_COLUMNS = { owner: "m.owner", tlp: "m.tlp", sharedWith: "m.audience" };

/** The flag as this viewer sees it, as of `at` (now, or the time of a feed event). */
function toFlag(row: Omit<FlagPayload, "expires_at" | "created_at" | "modified_at"> & { expires_at: Date | string | null; created_at: Date | string; modified_at: Date | string }, viewer: Pick<Viewer, "org">, at = new Date()): Flag {
  const expiresAt = row.expires_at === null ? null : asDate(row.expires_at);
  return {
    id: `flag--${row.id}`,
    uuid: row.id,
    accountUuid: row.account_id,
    accountId: accountId(row.account_id),
    category: row.category as FlagCategory,
    confidence: row.confidence,
    tlp: row.tlp as Tlp,
    owner: row.owner,
    sharedWith: row.owner === viewer.org ? row.shared_with : row.shared_with.filter((o) => o === viewer.org),
    status: row.status,
    inForce: row.status !== "CLEARED" && (expiresAt === null || expiresAt > at),
    expiresAt,
    createdAt: asDate(row.created_at),
    modifiedAt: asDate(row.modified_at),
  };
}

function payloadOf(row: FlagRow): FlagPayload {
  return {
    id: row.id,
    account_id: row.account_id,
    provider: row.provider,
    owner: row.owner,
    category: row.category,
    confidence: row.confidence,
    tlp: row.tlp,
    shared_with: row.shared_with,
    status: row.status,
    expires_at: row.expires_at === null ? null : asDate(row.expires_at).toISOString(),
    created_at: asDate(row.created_at).toISOString(),
    modified_at: asDate(row.modified_at).toISOString(),
  };
}

export class FlagService {
  constructor(private readonly ctx: Context) {}

  private get em(): EntityManager {
    return this.ctx.em;
  }

  private get viewer(): Viewer {
    return this.ctx.viewer;
  }

  async byId(id: string): Promise<Flag | null> {
    const uuid = parseFlagId(id);
    if (!uuid) return null;
    const params = new Params();
    const [row] = await query<FlagRow>(
      this.em,
      `select * from accounts.flag f where ${flagVisibleSql(this.viewer, params)} and f.id = ${params.add(uuid)}::uuid`,
      params.values,
      "flag_by_id",
    );
    return row ? toFlag(row, this.viewer) : null;
  }

  async list(filter: FlagFilter | null | undefined, first: number | null | undefined, after: string | null | undefined): Promise<FlagConnection> {
    const size = first ?? DEFAULT_PAGE;
    if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE) throw badInput(`first: must be from 1 to ${MAX_PAGE}`, "first");
    const { accountUuid } = this.checkFilter(filter);
    const beforeSeq = after ? cursors.decode(after) : null;
    const params = new Params();
    const where = `${flagVisibleSql(this.viewer, params)}
        and (${params.add(filter?.categories?.length ? filter.categories : null)}::text[] is null or f.category = any($${params.values.length}::text[]))
        and (${params.add(filter?.minConfidence ?? null)}::int is null or f.confidence >= $${params.values.length}::int)
        and (${params.add(filter?.owner ?? null)}::text is null or f.owner = $${params.values.length}::text)
        and (${params.add(accountUuid)}::uuid is null or f.account_id = $${params.values.length}::uuid)
        and (case when ${params.add(filter?.statuses?.length ? filter.statuses : null)}::text[] is null then ${flagInForce("f")}
             else f.status = any($${params.values.length}::text[]) end)`;
    const filterValues = [...params.values];
    const rows = await query<FlagRow>(
      this.em,
      `select * from accounts.flag f where ${where}
         and (${params.add(beforeSeq)}::bigint is null or f.seq < $${params.values.length}::bigint)
       order by f.seq desc limit ${params.add(size + 1)}::int`,
      params.values,
      "flags_page",
    );
    const hasNextPage = rows.length > size;
    const edges = rows.slice(0, size).map((row) => ({ cursor: cursors.encode(Number(row.seq)), node: toFlag(row, this.viewer) }));
    return {
      edges,
      pageInfo: { hasNextPage, endCursor: edges.length ? edges[edges.length - 1]!.cursor : null },
      count: async () => {
        const [row] = await query<{ n: number }>(this.em, `select count(*)::int as n from accounts.flag f where ${where}`, filterValues, "flags_count");
        return row!.n;
      },
    };
  }

  private checkFilter(filter: FlagFilter | null | undefined): { accountUuid: string | null } {
    if (filter?.owner != null && !ORG_ID_PATTERN.test(filter.owner)) throw badInput("filter.owner: not an org id", "filter.owner");
    if (filter?.minConfidence != null && (filter.minConfidence < 0 || filter.minConfidence > 100)) {
      throw badInput("filter.minConfidence: must be from 0 to 100", "filter.minConfidence");
    }
    if (filter?.accountId == null) return { accountUuid: null };
    const accountUuid = parseAccountId(filter.accountId);
    if (!accountUuid) throw badInput("filter.accountId: not an account id (account--<uuid>)", "filter.accountId");
    return { accountUuid };
  }

  /** `Account.flags`: the flags in force on it that the viewer may see, newest first. */
  flagsOf(accountUuid: string): Promise<Flag[]> {
    const loader = loaderFor<string, FlagRow[]>(this.ctx, "flagsOfAccount", async (uuids) => {
      const params = new Params();
      const rows = await query<FlagRow>(
        this.em,
        `select * from accounts.flag f where f.account_id = any(${params.add(uuids)}::uuid[]) and ${flagInForce("f")} and ${flagVisibleSql(this.viewer, params)}
          order by f.seq desc`,
        params.values,
        "flags_of_accounts",
      );
      return uuids.map((u) => rows.filter((r) => r.account_id === u));
    });
    return loader.load(accountUuid).then((rows) => (rows ?? []).map((r) => toFlag(r, this.viewer)));
  }

  /** The evidence of a flag the viewer may see (by the projected markings), and its reasons, as they are now. */
  detail(flag: Flag): Promise<FlagDetail> {
    const loader = loaderFor<string, FlagDetail>(this.ctx, "flagDetail", async (uuids) => {
      const params = new Params();
      const visible = (kind: string, column: string) => `array(select u.id from unnest(f.${column}) with ordinality as u(id, n)
          join accounts.evidence_marking m on m.kind = '${kind}' and m.id = u.id and ${visibleToSql(this.viewer, params, EVIDENCE_COLUMNS)} order by u.n)`;
      const rows = await query<{ id: string; indicator_ids: string[]; incident_ids: string[]; cleared_reason: string | null; disputed_reason: string | null }>(
        this.em,
        `select f.id, ${visible("indicator", "indicator_ids")} as indicator_ids, ${visible("incident", "incident_ids")} as incident_ids,
                f.cleared_reason, f.disputed_reason
           from accounts.flag f where f.id = any(${params.add(uuids)}::uuid[])`,
        params.values,
        "flag_detail",
      );
      const byId = new Map(rows.map((r) => [r.id, r]));
      return uuids.map((u) => {
        const r = byId.get(u);
        return {
          indicatorIds: (r?.indicator_ids ?? []).map((id) => `indicator--${id}`),
          incidentIds: (r?.incident_ids ?? []).map((id) => `incident--${id}`),
          clearedReason: r?.cleared_reason ?? null,
          disputedReason: r?.disputed_reason ?? null,
        };
      });
    });
    return loader.load(flag.uuid).then((d) => d!);
  }

  /** Which of these evidence records `org` may see, by their projected markings. */
  private async visibleEvidence(kind: "indicator" | "incident", uuids: readonly string[], org: string): Promise<Set<string>> {
    if (!uuids.length) return new Set();
    const params = new Params();
    const rows = await query<{ id: string }>(
      this.em,
      `select m.id from accounts.evidence_marking m where m.kind = ${params.add(kind)} and m.id = any(${params.add(uuids)}::uuid[])
          and ${visibleToSql({ org }, params, EVIDENCE_COLUMNS)}`,
      params.values,
      "evidence_visible",
    );
    return new Set(rows.map((r) => r.id));
  }

  /**
   * The evidence the flagging org names must be visible to it (an id it may not see is answered as one
   * that does not exist), and, on another provider's account, some of it visible to that provider, who
   * must be able to weigh it (and dispute the flag).
   */
  private async checkEvidence(input: FlagInput, indicators: string[], incidents: string[], provider: string): Promise<InputError | null> {
    const lists = [
      { kind: "indicator" as const, field: "indicatorIds", uuids: indicators, sent: input.indicatorIds ?? [] },
      { kind: "incident" as const, field: "incidentIds", uuids: incidents, sent: input.incidentIds ?? [] },
    ];
    let synced = false;
    for (const list of lists) {
      let visible = await this.visibleEvidence(list.kind, list.uuids, this.viewer.org);
      if (visible.size < list.uuids.length && !synced) {
        // A record published a moment ago may not have reached the projection yet.
        await this.ctx.projections.get(EVIDENCE_MARKINGS)!.sync();
        synced = true;
        visible = await this.visibleEvidence(list.kind, list.uuids, this.viewer.org);
      }
      const missing = list.uuids.find((u) => !visible.has(u));
      if (missing) {
        const at = `${list.field}[${list.sent.findIndex((id) => parseStixId(list.kind, id) === missing)}]`;
        return new InputError(`${at}: no ${list.kind} with this id`, at, "NOT_FOUND");
      }
    }
    if (provider === this.viewer.org) return null;
    for (const list of lists) if ((await this.visibleEvidence(list.kind, list.uuids, provider)).size) return null;
    return new InputError(
      "indicatorIds: a flag on another provider's account needs evidence that provider may see (indicatorIds or incidentIds of records visible to it)",
      "indicatorIds",
    );
  }

  /**
   * Raises a flag, or updates the standing flag of this org and category on the account; an identical
   * one changes nothing and emits nothing.
   */
  async flag(input: FlagInput): Promise<FlagResult> {
    const checked = checkFlag(input, this.viewer.org, new Date());
    if (!checked.ok) return refused(checked.error);
    const v = checked.value;
    if (v.sharedWith.length) {
      const members = await this.ctx.hub.orgs.kinds(this.em, v.sharedWith);
      const unknown = v.sharedWith.find((org) => !members.has(org));
      if (unknown !== undefined) {
        const at = `sharedWith[${(input.sharedWith ?? []).indexOf(unknown)}]`;
        return refused(new InputError(`${at}: '${unknown}' is not a member org`, at));
      }
    }
    const params = new Params();
    const [account] = await query<{ id: string; provider: string }>(
      this.em,
      `select a.id, a.provider from accounts.account a where a.id = ${params.add(v.accountUuid)}::uuid and ${accountVisibleSql(this.viewer, params, "a")}`,
      params.values,
      "account_for_flag",
    );
    if (!account) return refused(new InputError("accountId: no account with this id", "accountId", "NOT_FOUND"));
    const fault = await this.checkEvidence(input, v.indicatorUuids, v.incidentUuids, account.provider);
    if (fault) return refused(fault);

    return this.em.transactional(async (em) => {
      const values = [account.id, account.provider, this.viewer.org, v.category, v.confidence, v.tlp, v.sharedWith, v.indicatorUuids, v.incidentUuids, v.expiresAt];
      const [written] = await query<FlagRow>(
        em,
        `insert into accounts.flag as cur (account_id, provider, owner, category, confidence, tlp, shared_with, indicator_ids, incident_ids, expires_at)
         values ($1, $2, $3, $4, $5, $6, $7::text[], $8::uuid[], $9::uuid[], $10)
         on conflict (account_id, owner, category) where status <> 'CLEARED' do update set
           confidence = excluded.confidence, tlp = excluded.tlp, shared_with = excluded.shared_with, indicator_ids = excluded.indicator_ids,
           incident_ids = excluded.incident_ids, expires_at = excluded.expires_at, modified_at = now()
         where (cur.confidence, cur.tlp, cur.shared_with, cur.indicator_ids, cur.incident_ids, cur.expires_at)
               is distinct from (excluded.confidence, excluded.tlp, excluded.shared_with, excluded.indicator_ids, excluded.incident_ids, excluded.expires_at)
         returning *`,
        values,
        "flag_upsert",
      );
      if (!written) {
        const [standing] = await query<FlagRow>(
          em,
          "select * from accounts.flag where account_id = $1 and owner = $2 and category = $3 and status <> 'CLEARED'",
          [account.id, this.viewer.org, v.category],
          "flag_standing",
        );
        return { flag: toFlag(standing!, this.viewer), error: null };
      }
      await this.emit(em, Topics.ACCOUNT_FLAGGED, written);
      return { flag: toFlag(written, this.viewer), error: null };
    });
  }

  /** The flag locked for a change, if the viewer may see it; one it may not see is not found, as one that does not exist. */
  private async lockVisible(em: EntityManager, id: string): Promise<FlagRow | null> {
    const uuid = parseFlagId(id);
    if (!uuid) return null;
    const [row] = await query<FlagRow>(em, "select * from accounts.flag where id = $1 for update", [uuid], "flag_lock");
    return row && canSee(this.viewer, { owner: row.owner, tlp: row.tlp, sharedWith: row.audience }) ? row : null;
  }

  /** The flagging org withdraws its flag; clearing a cleared flag changes nothing. */
  async clear(id: string, reason: string): Promise<FlagResult> {
    const checked = checkReason(reason);
    if (!checked.ok) return refused(checked.error);
    return this.em.transactional(async (em) => {
      const current = await this.lockVisible(em, id);
      if (!current) return refused(NOT_FOUND());
      if (current.owner !== this.viewer.org) return refused(new InputError("id: only the org that raised a flag can clear it", "id", "FORBIDDEN"));
      if (current.status === "CLEARED") return { flag: toFlag(current, this.viewer), error: null };
      const [row] = await query<FlagRow>(
        em,
        "update accounts.flag set status = 'CLEARED', cleared_reason = $2, modified_at = now() where id = $1 returning *",
        [current.id, checked.value],
        "flag_clear",
      );
      await this.emit(em, Topics.FLAG_CLEARED, row!);
      return { flag: toFlag(row!, this.viewer), error: null };
    });
  }

  /** The account's provider contests another org's flag on it; the same dispute again changes nothing. */
  async dispute(id: string, reason: string): Promise<FlagResult> {
    const checked = checkReason(reason);
    if (!checked.ok) return refused(checked.error);
    return this.em.transactional(async (em) => {
      const current = await this.lockVisible(em, id);
      if (!current) return refused(NOT_FOUND());
      if (current.provider !== this.viewer.org) return refused(new InputError("id: only the provider holding the account can dispute a flag on it", "id", "FORBIDDEN"));
      if (current.owner === this.viewer.org) return refused(new InputError("id: this is your own flag: clear it instead", "id", "FORBIDDEN"));
      if (current.status === "CLEARED") return refused(new InputError("id: the flag is cleared; there is nothing to dispute", "id"));
      if (current.status === "DISPUTED" && current.disputed_reason === checked.value) return { flag: toFlag(current, this.viewer), error: null };
      const [row] = await query<FlagRow>(
        em,
        "update accounts.flag set status = 'DISPUTED', disputed_reason = $2, modified_at = now() where id = $1 returning *",
        [current.id, checked.value],
        "flag_dispute",
      );
      await this.emit(em, Topics.FLAG_DISPUTED, row!);
      return { flag: toFlag(row!, this.viewer), error: null };
    });
  }

  /** The event for a change, last in its transaction: the flag's TLP, shared with its audience (shared_with and the provider). */
  private async emit(em: EntityManager, topic: Topic, row: FlagRow): Promise<void> {
    await appendEvents(em, [{ topic, owner: row.owner, tlp: row.tlp, sharedWith: row.audience, payload: payloadOf(row) as unknown as Record<string, unknown> }]);
  }

  /**
   * The feed: every flag event that passes the filter and that the viewer may see as of the event (the
   * flag's marking then) and now (its marking now), from `after` or from now.
   */
  subscribe(filter: FlagFilter | null | undefined, after: string | null | undefined): AsyncIterableIterator<HubEvent> {
    const { accountUuid } = this.checkFilter(filter);
    const categories = filter?.categories?.length ? new Set<string>(filter.categories) : null;
    const statuses = filter?.statuses?.length ? new Set<string>(filter.statuses) : null;
    const matches = (event: HubEvent) => {
      const p = event.payload as unknown as FlagPayload;
      if (categories && !categories.has(p.category)) return false;
      if (statuses && !statuses.has(p.status)) return false;
      if (filter?.minConfidence != null && p.confidence < filter.minConfidence) return false;
      if (filter?.owner != null && p.owner !== filter.owner) return false;
      return accountUuid === null || p.account_id === accountUuid;
    };
    return this.ctx.hub.events.subscribe({ topics: FLAG_TOPICS, viewer: this.viewer, after, matches, stillVisible: stillVisibleBy((ids) => this.visibleNow(ids)) });
  }

  /** Of these flags, those the viewer may still see: one re-marked out of its sight since is not replayed or delivered late. */
  private async visibleNow(ids: string[]): Promise<string[]> {
    const params = new Params();
    const rows = await query<{ id: string }>(
      this.em,
      `select f.id from accounts.flag f where f.id = any(${params.add(ids)}::uuid[]) and ${flagVisibleSql(this.viewer, params)}`,
      params.values,
      "flags_visible_now",
    );
    return rows.map((r) => r.id);
  }


  static toEvent(event: HubEvent, viewer: Viewer): FlagEvent {
    return { cursor: encodeCursor(event.seq), kind: KIND_OF[event.topic]!, flag: toFlag(event.payload as unknown as FlagPayload, viewer, event.createdAt) };
  }
}
