import type { EntityManager } from "@mikro-orm/postgresql";
import { ORG_ID_PATTERN } from "../../src/auth/viewer.js";
import { asDate, Params, query } from "../../src/db/sql.js";
import { badInput, ErrorCode, expectedError } from "../../src/errors.js";
import { InputError } from "../../src/graphql/common.types.js";
import type { Context } from "../../src/graphql/context.js";
import { listCursors } from "../../src/graphql/ids.js";
import { flagInForce, flagVisibleSql } from "./account.visibility.js";
import type { IdentifierInput } from "./account.input.js";
import type { FlagCategory } from "./flag.entity.js";
import { checkIdentifier } from "./account.validation.js";
import { hashInput } from "../../src/identifiers/canonical.js";
import type { IdentifierMatch, MatchAuditConnection } from "./match.type.js";

export const MAX_MATCH = 1000;
const DEFAULT_PAGE = 50;
const MAX_PAGE = 500;
const auditCursors = listCursors("match-audit");

interface MatchRow {
  idx: number;
  accounts: number;
  providers: number;
  categories: FlagCategory[];
  max_confidence: number;
  first_at: Date | string;
  last_at: Date | string;
}

interface AuditRow {
  id: string;
  org: string;
  sub: string;
  request_id: string;
  identifiers: number;
  hits: number;
  refused: boolean;
  at: Date | string;
}


type Outcome = { answered: MatchRow[] } | { refused: { used: number; resetsAt: Date } };


/**
 * Matching identifiers against flagged accounts without anyone handing over raw values: each value is
 * put in canonical form and hashed with every key of the ring on arrival, and only the hashes reach
 * the database. A keyed hash of a guessable value (an e-mail, a phone number) can still be confirmed
 * by guessing, so each org has a daily budget of identifiers and every call is in the audit trail.
 */
export class MatchService {
  constructor(private readonly ctx: Context) {}

  private get em(): EntityManager {
    return this.ctx.em;
  }

  /**
   * For each item, in order: the flags in force that the caller may see on accounts holding that
   * identifier (accounts, providers, categories, highest confidence, first and last flagged). A bad
   * item is answered with its error and zero counts. The whole call is refused when it would pass
   * the org's budget for today.
   */
  async match(inputs: IdentifierInput[]): Promise<IdentifierMatch[]> {
    if (inputs.length > MAX_MATCH) throw badInput(`identifiers: at most ${MAX_MATCH} per call (got ${inputs.length}); split the list`, "identifiers");
    const { viewer, hub } = this.ctx;

    const errors = new Map<number, InputError>();
    const idx: number[] = [];
    const keyIds: string[] = [];
    const hashes: Buffer[] = [];
    inputs.forEach((input, index) => {
      const checked = checkIdentifier(input, `identifiers[${index}]`);
      if (!checked.ok) {
        errors.set(index, checked.error);
        return;
      }
      // A stored hash may be under any key of the ring (rotation): look each one up.
      for (const { keyId, digest } of hub.identifierKeys.hashesForMatching(hashInput(checked.value.type, checked.value.value))) {
        idx.push(index);
        keyIds.push(keyId);
        hashes.push(digest);
      }
    });

    const budget = hub.config.identifiers.MATCH_DAILY_BUDGET;
    const outcome = await this.spendAndLookUp(inputs.length, budget, idx, keyIds, hashes);

    if ("refused" in outcome) {
      const { used, resetsAt } = outcome.refused;
      throw expectedError(
        ErrorCode.MATCH_BUDGET_EXCEEDED,
        `identifiers: ${inputs.length} would pass this org's daily matching budget of ${budget} identifiers ` +
          `(${used} matched today, ${Math.max(0, budget - used)} left); the budget renews at ${resetsAt.toISOString()}`,
        { field: "identifiers", budget, used, resetsAt: resetsAt.toISOString() },
      );
    }
    const byIndex = new Map(outcome.answered.map((r) => [r.idx, r]));
    return inputs.map((_, index) => {
      const row = byIndex.get(index);
      return {
        index,
        flaggedAccounts: row?.accounts ?? 0,
        providers: row?.providers ?? 0,
        categories: row?.categories ?? [],
        maxConfidence: row?.max_confidence ?? null,
        firstFlaggedAt: row ? asDate(row.first_at) : null,
        lastFlaggedAt: row ? asDate(row.last_at) : null,
        error: errors.get(index) ?? null,
      };
    });
  }

  /**
   * The whole call in one statement, so one round trip and one snapshot: spend today's budget, look
   * the hashes up, and write the audit row.
   *
   * - The budget is a counter per org and UTC day, spent by an upsert that adds the call's size only
   *   while the sum stays within the budget. Concurrent calls of one org queue on that row and each
   *   sees the sum the one before left, so together they never spend more than the budget; a refused
   *   call spends nothing.
   * - The lookup runs only when the budget was spent: each (item, key, hash) finds the stored hashes
   *   through the index on `account_identifier.hash`, then the flags in force on those accounts that
   *   the caller may see (the TLP rule of `account.visibility.ts`), grouped by item. Items with no
   *   such flag have no row.
   * - The audit row records the call, answered or refused, with its hits; never a value or a hash.
   */
  private async spendAndLookUp(size: number, budget: number, idx: number[], keyIds: string[], hashes: Buffer[]): Promise<Outcome> {
    const { viewer, requestId } = this.ctx;
    const params = new Params();
    const org = params.add(viewer.org);
    const n = params.add(size);
    const max = params.add(budget);
    const today = `(now() at time zone 'UTC')::date`;
    const items = `unnest(${params.add(idx)}::int[], ${params.add(keyIds)}::text[], ${params.add(hashes)}::bytea[]) as q(idx, key_id, hash)`;
    const [row] = await query<{ spent: boolean; used: number; resets_at: string; rows: MatchRow[] | null }>(
      this.em,
      `with spend as (
         insert into accounts.match_budget as b (org, day, used)
         select ${org}::text, ${today}, ${n}::int where ${n}::int <= ${max}::int
         on conflict (org, day) do update set used = b.used + excluded.used where b.used + excluded.used <= ${max}::int
         returning b.used
       ), found as (
         select q.idx, count(distinct f.account_id)::int as accounts, count(distinct f.provider)::int as providers,
                array_agg(distinct f.category order by f.category) as categories, max(f.confidence)::int as max_confidence,
                min(f.created_at) as first_at, max(f.created_at) as last_at
           from ${items}
           join accounts.account_identifier ai on ai.hash = q.hash and ai.key_id = q.key_id
           join accounts.flag f on f.account_id = ai.account_id and ${flagInForce("f")} and ${flagVisibleSql(viewer, params, "f")}
          where exists (select 1 from spend)
          group by q.idx
       ), audit as (
         insert into accounts.match_audit (org, sub, request_id, identifiers, hits, refused)
         select ${org}::text, ${params.add(viewer.sub)}::text, ${params.add(requestId)}::text, ${n}::int,
                (select count(*) from found where accounts > 0)::int, not exists (select 1 from spend)
       )
       select exists (select 1 from spend) as spent,
              coalesce((select used from accounts.match_budget where org = ${org}::text and day = ${today}), 0) as used,
              (${today} + 1)::text as resets_at,
              (select json_agg(found) from found) as rows`,
      params.values,
      "accounts_match",
    );
    if (!row!.spent) return { refused: { used: Number(row!.used), resetsAt: new Date(`${row!.resets_at}T00:00:00Z`) } };
    return { answered: row!.rows ?? [] };
  }

  /** The audit trail for operators, newest first; optionally one org's, from a time on. */
  async audit(org: string | null | undefined, since: Date | null | undefined, first: number | null | undefined, after: string | null | undefined): Promise<MatchAuditConnection> {
    const size = first ?? DEFAULT_PAGE;
    if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE) throw badInput(`first: must be from 1 to ${MAX_PAGE}`, "first");
    if (org != null && !ORG_ID_PATTERN.test(org)) throw badInput("org: not an org id", "org");
    if (since != null && Number.isNaN(since.getTime())) throw badInput("since: not a time", "since");
    const before = after ? auditCursors.decode(after) : null;
    const rows = await query<AuditRow>(
      this.em,
      `select id, org, sub, request_id, identifiers, hits, refused, at from accounts.match_audit
        where ($1::text is null or org = $1::text) and ($2::timestamptz is null or at >= $2::timestamptz)
          and ($3::bigint is null or id < $3::bigint)
        order by id desc limit $4::int`,
      [org ?? null, since ?? null, before, size + 1],
      "accounts_match_audit_page",
    );
    const edges = rows.slice(0, size).map((r) => ({
      cursor: auditCursors.encode(Number(r.id)),
      node: { org: r.org, sub: r.sub, requestId: r.request_id, identifiers: r.identifiers, hits: r.hits, refused: r.refused, at: asDate(r.at) },
    }));
    return { edges, pageInfo: { hasNextPage: rows.length > size, endCursor: edges.length ? edges[edges.length - 1]!.cursor : null } };
  }
}
