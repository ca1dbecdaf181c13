import type { EntityManager } from "@mikro-orm/postgresql";
import { hasScope, type Viewer } from "../../src/auth/viewer.js";
import { asDate, query } from "../../src/db/sql.js";
import { badInput, expectedError, ErrorCode, forbidden } from "../../src/errors.js";
import { pageSize } from "../../src/graphql/ids.js";
import type { Context } from "../../src/graphql/context.js";
import { ensureMonthPartitions, monthsOf } from "./access.partitions.js";
import type { AccessEventInput, AccessHistoryArgs, AccountsSeenArgs } from "./access.input.js";
import type { AccessEvent, AccessEventConnection, AccessEventError, AccessEventsResult, AccountSeen } from "./access.type.js";
import { ACCESS_ACTIONS, checkAccessEvent, checkWindow, hostAddress, ipOrNetwork, parseAccountUuid, type AccessAction, type ValidAccessEvent } from "./access.validation.js";
import { VERIFICATION_ACCOUNTS } from "./account.projection.js";
import { audit } from "./audit.trail.js";
import { recordAccess } from "./record.access.js";

const DEFAULT_PAGE = 100;
const MAX_PAGE = 1000;
/** accountsSeenFromIp answers at most this many accounts, the most recently seen first. */
export const MAX_ACCOUNTS_SEEN = 1000;

/**
 * A page of an account's history, newest first: $1 owner, $2 account uuid, $3 from, $4 to (±infinity
 * when open), $5-$7 the position (at in microseconds, ip, action; nulls before the first page), $8 the
 * page size plus one. The position is always a row (before the first page: after every finite time),
 * so that the row comparison is an index condition of each month's (owner, account_id, at, ip, action)
 * scan, in a prepared statement's generic plan too (test/verification.access.test.ts explains it).
 */
export const ACCESS_HISTORY_PAGE_SQL = `select e.account_id, host(e.ip) as ip, e.at, e.action, (extract(epoch from e.at) * 1000000)::bigint::text as at_us
   from verification.access_event e
  where e.owner = $1 and e.account_id = $2 and e.at >= $3::timestamptz and e.at < $4::timestamptz
    and (e.at, e.ip, e.action) < (coalesce(timestamptz 'epoch' + $5::bigint * interval '1 microsecond', 'infinity'), coalesce($6::inet, '::'), coalesce($7::text, ''))
  order by e.at desc, e.ip desc, e.action desc
  limit $8`;

/**
 * An owner's accounts used from a network: $1 owner, $2 the network (inet), $3 from, $4 to, $5 the cap.
 * The bounds are spelled out, not left to `<<=`'s planner support, which needs a constant: a prepared
 * statement's generic plan keeps them as one btree range on (owner, ip, at).
 */
export const ACCOUNTS_SEEN_SQL = `select account_id, min(at) as first_seen, max(at) as last_seen, count(*)::int as events
   from verification.access_event
  where owner = $1
    and ip >= network($2::inet) and ip <= set_masklen(broadcast($2::inet), case family($2::inet) when 4 then 32 else 128 end)
    and ip <<= $2::inet
    and at >= $3::timestamptz and at < $4::timestamptz
  group by account_id
  order by max(at) desc, account_id
  limit $5`;

interface EventRow {
  account_id: string;
  ip: string;
  at: Date | string;
  action: AccessAction;
  /** `at` in microseconds since the epoch, as text: the cursor keeps the stored precision. */
  at_us: string;
}

const accountId = (uuid: string) => `account--${uuid}`;
const notFound = () => expectedError(ErrorCode.NOT_FOUND, "accountId: no account you may read with this id", { field: "accountId" });

/** The times a cursor may hold, in microseconds since the epoch: years 1 to 9999, all a DateTime writes. */
const CURSOR_MIN_US = BigInt(Date.parse("0001-01-01T00:00:00Z")) * 1000n;
const CURSOR_MAX_US = BigInt(Date.parse("9999-12-31T23:59:59.999Z") + 1) * 1000n;

/**
 * A page position: the last row's (at, ip, action), the log's unique key within an account, newest
 * first. Opaque to clients; anything else is refused as a cursor of another list.
 */
const cursors = {
  encode: (r: EventRow) => Buffer.from(`ae:${r.at_us}|${r.ip}|${r.action}`).toString("base64url"),
  decode(cursor: string): { atUs: string; ip: string; action: AccessAction } {
    const text = cursor.length <= 120 ? Buffer.from(cursor, "base64url").toString("utf8") : "";
    const m = /^ae:(-?\d{1,19})\|([^|]+)\|([A-Z]+)$/.exec(text);
    const host = m ? hostAddress(m[2]) : null;
    // A time no row can hold (past year 9999, or before year 1) would fail in PostgreSQL's arithmetic, as an internal error.
    const inRange = m ? BigInt(m[1]!) >= CURSOR_MIN_US && BigInt(m[1]!) < CURSOR_MAX_US : false;
    if (!m || !host || !inRange || !ACCESS_ACTIONS.includes(m[3] as AccessAction)) throw badInput("after: not a cursor from this list", "after");
    return { atUs: m[1]!, ip: host.ip, action: m[3] as AccessAction };
  },
};

/**
 * A PostgreSQL array literal of values checked to need no quoting (uuids, addresses, ISO times, enum
 * names: no comma, brace, quote, backslash or space): pg's own array encoding escapes each of 40,000
 * strings of a batch, which costs more than the insert's parse of them.
 */
const arrayLiteral = (values: string[]) => `{${values.join(",")}}`;

/** The SQLSTATE of a database error, however the driver layers wrap it. */
const sqlState = (err: unknown): string | undefined => {
  const e = err as { code?: unknown; cause?: { code?: unknown } };
  return typeof e?.code === "string" ? e.code : typeof e?.cause?.code === "string" ? e.cause.code : undefined;
};

const toEvent = (r: EventRow): AccessEvent => ({ accountId: accountId(r.account_id), ip: r.ip, at: asDate(r.at), action: r.action });

/**
 * The access log of §1(a)(ii)(D): which IP addresses used or administered an account, and when. The
 * addresses are personal values: they go to PostgreSQL and back to whoever may read them, and never
 * into an error or a log line.
 */
export class AccessService {
  constructor(private readonly ctx: Context) {}

  private get em(): EntityManager {
    return this.ctx.em;
  }

  private get viewer(): Viewer {
    return this.ctx.viewer;
  }

  async record(inputs: AccessEventInput[]): Promise<AccessEventsResult> {
    const max = this.ctx.hub.config.verification.MAX_ACCESS_EVENTS;
    if (inputs.length > max) throw badInput(`input: at most ${max} events per call (got ${inputs.length}); split the batch`, "input");
    const now = this.ctx.hub.clock();
    const rejected: AccessEventError[] = [];
    const refuse = (index: number, field: string, message: string, code = "BAD_USER_INPUT") =>
      rejected.push({ index, field: `input[${index}].${field}`, message: `input[${index}].${field}: ${message}`, code });
    const valid: [number, ValidAccessEvent][] = [];
    inputs.forEach((input, index) => {
      if (this.viewer.orgKind !== "PROVIDER") return refuse(index, "accountId", "only a PROVIDER org records access events, for accounts of its own", "FORBIDDEN");
      const checked = checkAccessEvent(input, now);
      if (!checked.ok) return refuse(index, checked.fault.field, checked.fault.message, checked.fault.code);
      valid.push([index, checked.value]);
    });

    const own = await this.ownAccounts([...new Set(valid.map(([, e]) => e.accountUuid))]);
    const accepted: ValidAccessEvent[] = [];
    for (const [index, event] of valid) {
      // Another provider's account gets the words of one that does not exist: nothing reveals it.
      if (own.has(event.accountUuid)) accepted.push(event);
      else refuse(index, "accountId", "no account of yours with this id", "NOT_FOUND");
    }
    rejected.sort((a, b) => a.index - b.index);

    let inserted = 0;
    if (accepted.length) {
      await ensureMonthPartitions(this.em, monthsOf(accepted.map((e) => e.at)), this.ctx.hub.log);
      inserted = await this.em.transactional(async (em) => {
        const n = await this.insert(em, accepted);
        await audit(em, this.viewer, { org: this.viewer.org, action: "ACCESS_EVENTS_RECORDED", detail: { accepted: accepted.length, rejected: rejected.length, stored: n } }, now);
        return n;
      });
    } else if (inputs.length && this.viewer.orgKind === "PROVIDER") {
      // A batch refused whole is an action on the provider's log too.
      await this.em.transactional((em) => audit(em, this.viewer, { org: this.viewer.org, action: "ACCESS_EVENTS_RECORDED", detail: { accepted: 0, rejected: rejected.length, stored: 0 } }, now));
    }
    return { accepted: accepted.length, duplicates: accepted.length - inserted, rejected };
  }

  /**
   * The new events, then each account's customer record moved to its newest access in the batch and,
   * when closed, to the retention date that follows (the later of closure and last access, plus
   * CIP_RETENTION_DAYS). The newest access per account is worked out here, not from the inserted
   * rows: a repeat moves nothing a first report has not moved already. Answers how many were new.
   *
   * A plain insert first, under a savepoint: an event already held (a batch sent again without its
   * Idempotency-Key) breaks the log's unique key, and the batch is then written again skipping the
   * repeats. `on conflict do nothing` every time would cost a probe of the key before each row.
   */
  private async insert(em: EntityManager, events: ValidAccessEvent[]): Promise<number> {
    const latest = new Map<string, number>();
    for (const e of events) {
      const t = e.at.getTime();
      if (!(latest.get(e.accountUuid)! >= t)) latest.set(e.accountUuid, t);
    }
    // Times travel as epoch milliseconds (what a DateTime holds): cheaper to write here and to read there than ISO text.
    const rows = [this.viewer.org, arrayLiteral(events.map((e) => e.accountUuid)), arrayLiteral(events.map((e) => e.ip)), `{${events.map((e) => e.at.getTime()).join(",")}}`, arrayLiteral(events.map((e) => e.action))];
    const insert = (repeats: "" | "on conflict do nothing") =>
      query<{ inserted: number }>(
        em,
        `with ins as (
           insert into verification.access_event (owner, account_id, ip, at, action)
           select $1, u.account_id, u.ip, timestamptz 'epoch' + u.at_ms * interval '1 millisecond', u.action
             from unnest($2::uuid[], $3::inet[], $4::bigint[], $5::text[]) as u(account_id, ip, at_ms, action)
           ${repeats}
           returning 1)
         select count(*)::int as inserted from ins`,
        rows,
        repeats ? "access_events_insert_new" : "access_events_insert",
      );
    let inserted: number;
    await query(em, "savepoint access_events");
    try {
      inserted = (await insert(""))[0]!.inserted;
      await query(em, "release savepoint access_events");
    } catch (err) {
      if (sqlState(err) !== "23505") throw err;
      await query(em, "rollback to savepoint access_events");
      inserted = (await insert("on conflict do nothing"))[0]!.inserted;
    }
    await query(
      em,
      `update verification.customer_record r
          set last_access_at = l.at,
              retain_until = case when r.closed_at is null then r.retain_until
                                  else greatest(r.closed_at, l.at) + make_interval(days => $4::int) end
         from unnest($2::uuid[], $3::timestamptz[]) as l(account_id, at)
        where r.account_id = l.account_id and r.owner = $1 and (r.last_access_at is null or r.last_access_at < l.at)`,
      [this.viewer.org, arrayLiteral([...latest.keys()]), arrayLiteral([...latest.values()].map((t) => new Date(t).toISOString())), this.ctx.hub.config.verification.CIP_RETENTION_DAYS],
      "access_last_access_move",
    );
    return inserted;
  }

  /** Which of these account uuids are the viewer's own, by the projection of the account registry. */
  private async ownAccounts(uuids: string[]): Promise<Set<string>> {
    if (!uuids.length) return new Set();
    const read = async () => {
      const rows = await query<{ id: string }>(this.em, "select id from verification.account where id = any($1::uuid[]) and provider = $2", [arrayLiteral(uuids), this.viewer.org], "verification_own_accounts");
      return new Set(rows.map((r) => r.id));
    };
    let own = await read();
    if (own.size < uuids.length) {
      // An account registered a moment ago may not have reached the projection yet.
      await this.ctx.projections.get(VERIFICATION_ACCOUNTS)!.sync();
      own = await read();
    }
    return own;
  }

  private async provider(uuid: string): Promise<string | null> {
    const read = async () =>
      (await query<{ provider: string }>(this.em, "select provider from verification.account where id = $1", [uuid], "verification_account_provider"))[0]?.provider ?? null;
    const found = await read();
    if (found !== null) return found;
    await this.ctx.projections.get(VERIFICATION_ACCOUNTS)!.sync();
    return read();
  }

  /** An account's events, newest first, to its provider or to an agency a disclosure covers; audited. */
  async history(args: AccessHistoryArgs): Promise<AccessEventConnection> {
    // The provider reads with verification:read, an agency under a disclosure with verification:disclose (record.access.ts).
    if (!hasScope(this.viewer, "verification:read") && !hasScope(this.viewer, "verification:disclose")) {
      throw forbidden("this operation needs the scope 'verification:read' (or 'verification:disclose' under an approved disclosure)");
    }
    const size = pageSize(args.first, DEFAULT_PAGE, MAX_PAGE);
    const window = checkWindow(args.from, args.to);
    if ("message" in window) throw badInput(window.message, window.field);
    const after = args.after ? cursors.decode(args.after) : null;
    const uuid = parseAccountUuid(args.accountId);
    if (!uuid) throw notFound();
    const owner = await this.provider(uuid);
    if (owner === null) throw notFound();
    const now = this.ctx.hub.clock();
    return this.em.transactional(async (em) => {
      // An agency's approval is for one record: the account's history is read under it while that record stands.
      const [record] = await query<{ id: string }>(em, "select id from verification.customer_record where account_id = $1 and owner = $2", [uuid, owner], "access_history_record");
      const access = await recordAccess(em, this.viewer, { owner, accountId: uuid, id: record?.id ?? null }, now);
      if (access === null) throw notFound();
      const rows = await query<EventRow>(
        em,
        ACCESS_HISTORY_PAGE_SQL,
        [owner, uuid, window.from ?? "-infinity", window.to ?? "infinity", after?.atUs ?? null, after?.ip ?? null, after?.action ?? null, size + 1],
        "access_history_page",
      );
      await audit(em, this.viewer, {
        org: owner,
        action: "ACCESS_HISTORY_READ",
        accountId: uuid,
        detail: { events: Math.min(rows.length, size), ...(access.kind === "DISCLOSURE" ? { disclosure: access.requestId } : {}) },
      }, now);
      const edges = rows.slice(0, size).map((r) => ({ cursor: cursors.encode(r), node: toEvent(r) }));
      return { edges, pageInfo: { hasNextPage: rows.length > size, endCursor: edges.at(-1)?.cursor ?? null } };
    });
  }

  /** The viewer's own accounts used from an address or network, the most recently seen first; audited. */
  async seenFromIp(args: AccountsSeenArgs): Promise<AccountSeen[]> {
    const target = ipOrNetwork(args.ip);
    if ("error" in target) throw badInput(`ip: ${target.error}`, "ip");
    const window = checkWindow(args.from, args.to);
    if ("message" in window) throw badInput(window.message, window.field);
    // Only a provider has accounts of its own; nobody else is answered from anyone's log.
    if (this.viewer.orgKind !== "PROVIDER") return [];
    const now = this.ctx.hub.clock();
    return this.em.transactional(async (em) => {
      const rows = await query<{ account_id: string; first_seen: Date | string; last_seen: Date | string; events: number }>(
        em,
        ACCOUNTS_SEEN_SQL,
        [this.viewer.org, target.network, window.from ?? "-infinity", window.to ?? "infinity", MAX_ACCOUNTS_SEEN],
        "accounts_seen_from_ip",
      );
      await audit(em, this.viewer, {
        org: this.viewer.org,
        action: "ACCOUNTS_BY_IP_READ",
        detail: { family: target.family, prefix: target.prefix, accounts: rows.length },
      }, now);
      return rows.map((r) => ({ accountId: accountId(r.account_id), firstSeen: asDate(r.first_seen), lastSeen: asDate(r.last_seen), events: r.events }));
    });
  }
}
