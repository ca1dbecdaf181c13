import type { EntityManager } from "@mikro-orm/postgresql";
import { ORG_ID_PATTERN } from "../../src/auth/viewer.js";
import { Params, query } from "../../src/db/sql.js";
import { badInput, ErrorCode, expectedError } from "../../src/errors.js";
import { InputError } from "../../src/graphql/common.types.js";
import type { Context } from "../../src/graphql/context.js";
import { listCursors } from "../../src/graphql/ids.js";
import { flagInForce, flagVisibleSql } from "./account.visibility.js";
import type { IdentifierInput } from "./account.input.js";
import type { FlagCategory } from "./flag.entity.js";
import { checkIdentifier } from "./match.validation.js";
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

// Timestamps come back as text on the ORM's connections.
const asDate = (d: Date | string) => (d instanceof Date ? d : new Date(d));

type Outcome = { answered: MatchRow[] } | { refused: { used: number; resetsAt: Date } };

/** The start of today (UTC) in the database's clock, the same clock as `match_audit.at`. */
const TODAY_UTC = `(date_trunc('day', now() at time zone 'UTC') at time zone 'UTC')`;

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
      for (const { keyId, digest } of hub.identifierKeys.hashesForMatching(checked.text)) {
        idx.push(index);
        keyIds.push(keyId);
        hashes.push(digest);
      }
    });

    const budget = hub.config.identifiers.MATCH_DAILY_BUDGET;
    const outcome = await this.em.transactional(async (em): Promise<Outcome> => {
      // One call of an org at a time between the budget's sum and the audit row that spends it, so
      // that concurrent calls cannot both pass on the same remainder.
      await query(em, "select pg_advisory_xact_lock(hashtextextended($1, 0))", [`accounts.match_budget:${viewer.org}`], "accounts_match_budget_lock");
      const [spent] = await query<{ used: string; resets_at: Date | string }>(
        em,
        `select coalesce(sum(identifiers), 0) as used, ${TODAY_UTC} + interval '1 day' as resets_at
           from accounts.match_audit where org = $1 and not refused and at >= ${TODAY_UTC}`,
        [viewer.org],
        "accounts_match_budget_spent",
      );
      const used = Number(spent!.used);
      const refused = used + inputs.length > budget;
      const rows = refused || !hashes.length ? [] : await this.lookup(em, idx, keyIds, hashes);
      await query(
        em,
        `insert into accounts.match_audit (org, sub, request_id, identifiers, hits, refused) values ($1, $2, $3, $4, $5, $6)`,
        [viewer.org, viewer.sub, this.ctx.requestId, inputs.length, rows.filter((r) => r.accounts > 0).length, refused],
        "accounts_match_audit_insert",
      );
      return refused ? { refused: { used, resetsAt: asDate(spent!.resets_at) } } : { answered: rows };
    });

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
   * One statement for the whole call: each (item, key, hash) finds the stored hashes through the
   * index on `account_identifier.hash`, then the flags in force on those accounts that the caller may
   * see (the TLP rule of `account.visibility.ts`), grouped by item. Items with no such flag have no row.
   */
  private lookup(em: EntityManager, idx: number[], keyIds: string[], hashes: Buffer[]): Promise<MatchRow[]> {
    const params = new Params();
    const items = `unnest(${params.add(idx)}::int[], ${params.add(keyIds)}::text[], ${params.add(hashes)}::bytea[]) as q(idx, key_id, hash)`;
    return query<MatchRow>(
      em,
      `select q.idx, count(distinct f.account_id)::int as accounts, count(distinct f.provider)::int as providers,
              array_agg(distinct f.category order by f.category) as categories, max(f.confidence)::int as max_confidence,
              min(f.created_at) as first_at, max(f.created_at) as last_at
         from ${items}
         join accounts.account_identifier ai on ai.hash = q.hash and ai.key_id = q.key_id
         join accounts.flag f on f.account_id = ai.account_id and ${flagInForce("f")} and ${flagVisibleSql(this.ctx.viewer, params, "f")}
        group by q.idx`,
      params.values,
      "accounts_match",
    );
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
