import countries from "i18n-iso-countries";
import type { EntityManager } from "@mikro-orm/postgresql";
import type { Viewer } from "../../src/auth/viewer.js";
import { Params, query } from "../../src/db/sql.js";
import { badInput } from "../../src/errors.js";
import { pageSize } from "../../src/graphql/ids.js";
import type { Context } from "../../src/graphql/context.js";
import { loaderFor } from "../../src/graphql/loader.js";
import { renderGraph, type GraphNode } from "./graph.render.js";
import { accountRef, idCursors, parseAccountRef } from "./link.row.js";
import type { ChainHop, DownstreamConnection, Exposure, GraphFormat, ResellerChain, ResellerChainConnection, RiskyReseller } from "./link.type.js";
import { anchorSql, forestView, visibleHops, visibleSql } from "./link.visibility.js";

/** A flag is in force on the account `id` (an SQL uuid expression): ACTIVE and not expired. */
const flaggedSql = (id: string) =>
  `exists (select 1 from resellers.flag f where f.account_id = ${id} and f.status = 'ACTIVE' and (f.expires_at is null or f.expires_at > now()))`;

const downstreamCursors = idCursors("downstream");
const chainCursors = idCursors("chains");

const MAX_PAGE = 500;
const MAX_DEPTH = 100;
/** Beyond this many accounts a graph stops being a picture anyone can read; the text says it was cut. */
export const MAX_GRAPH_NODES = 1000;
const DEFAULT_GRAPH_DEPTH = 3;

function depthLimit(maxDepth: number | null | undefined, fallback: number | null): number | null {
  if (maxDepth == null) return fallback;
  if (!Number.isInteger(maxDepth) || maxDepth < 1 || maxDepth > MAX_DEPTH) throw badInput(`maxDepth: must be from 1 to ${MAX_DEPTH}`, "maxDepth");
  return maxDepth;
}

interface HopRow {
  of: string;
  self_anchor: boolean;
  ancestor: string | null;
  depth: number;
  jurisdiction: string;
  kind: string;
  flagged: boolean;
  anchor: boolean;
}

/** A hop with its account's kind, which only the graph's labels show. */
type Hop = ChainHop & { kind: string };

const EMPTY_EXPOSURE: Exposure = { total: 0, flagged: 0, shareFlagged: 0, maxDepth: 0, byJurisdiction: [], byCategory: [] };

/** The questions asked of the reseller forest, each answered under the one visibility rule (link.visibility.ts). */
export class ForestService {
  constructor(private readonly ctx: Context) {}

  private get em(): EntityManager {
    return this.ctx.em;
  }

  private get viewer(): Viewer {
    return this.ctx.viewer;
  }

  /** The resellers above an account, nearest first, as the viewer may see them; [] for an unknown id. */
  chain(accountId: string): Promise<Hop[]> {
    const uuid = parseAccountRef(accountId);
    if (!uuid) return Promise.resolve([]);
    return loaderFor<string, Hop[]>(this.ctx, "resellerChain", (uuids) => this.chains(uuids)).load(uuid).then((h) => h ?? []);
  }

  private async chains(uuids: readonly string[]): Promise<Hop[][]> {
    const rows = await this.hopRows(uuids);
    const byAccount = new Map<string, HopRow[]>();
    for (const row of rows) {
      if (!byAccount.has(row.of)) byAccount.set(row.of, []);
      if (row.ancestor) byAccount.get(row.of)!.push(row);
    }
    return uuids.map((u) => {
      const hops = byAccount.get(u) ?? [];
      return visibleHops(this.viewer, rows.find((r) => r.of === u)?.self_anchor ?? false, hops).map(toHop);
    });
  }

  /** Each account's ancestors, nearest first (a row with a null ancestor when it has none). */
  private hopRows(uuids: readonly string[]): Promise<HopRow[]> {
    const params = new Params();
    const ids = params.add(uuids);
    return query<HopRow>(
      this.em,
      `select v.id as of, ${anchorSql(this.viewer, params, "v.id")} as self_anchor, h.*
         from unnest(${ids}::uuid[]) as v(id)
         left join lateral (
           select x.ancestor, x.depth, a.jurisdiction, a.kind, ${flaggedSql("x.ancestor")} as flagged, ${anchorSql(this.viewer, params, "x.ancestor")} as anchor
             from resellers.ancestry x join resellers.account a on a.id = x.ancestor
            where x.descendant = v.id) h on true
        order by v.id, h.depth`,
      params.values,
      `reseller_chain_${forestView(this.viewer)}`,
    );
  }

  async downstream(accountId: string, maxDepth: number | null | undefined, first: number | null | undefined, after: string | null | undefined): Promise<DownstreamConnection> {
    const size = pageSize(first, 50, MAX_PAGE);
    const depth = depthLimit(maxDepth, null);
    const afterId = after ? downstreamCursors.decode(after) : null;
    const uuid = parseAccountRef(accountId);
    if (!uuid) return { edges: [], pageInfo: { hasNextPage: false, endCursor: null } };
    const params = new Params();
    const id = params.add(uuid);
    const rows = await query<{ descendant: string; depth: number }>(
      this.em,
      `select x.descendant, x.depth from resellers.ancestry x
        where x.ancestor = ${id}::uuid and ${visibleSql(this.viewer, params, `${id}::uuid`)}
          and (${params.add(depth)}::int is null or x.depth <= $${params.values.length}::int)
          and (${params.add(afterId)}::uuid is null or x.descendant > $${params.values.length}::uuid)
        order by x.descendant limit ${params.add(size + 1)}::int`,
      params.values,
      `reseller_downstream_${forestView(this.viewer)}`,
    );
    const edges = rows.slice(0, size).map((r) => ({ cursor: downstreamCursors.encode(r.descendant), depth: r.depth, node: accountRef(r.descendant) }));
    return { edges, pageInfo: { hasNextPage: rows.length > size, endCursor: edges.at(-1)?.cursor ?? null } };
  }

  async exposure(accountId: string): Promise<Exposure> {
    const uuid = parseAccountRef(accountId);
    if (!uuid) return EMPTY_EXPOSURE;
    const params = new Params();
    const id = params.add(uuid);
    const [row] = await query<{ total: number; flagged: number; max_depth: number; by_jurisdiction: { key: string; count: number }[]; by_category: { key: string; count: number }[] }>(
      this.em,
      `with d as materialized (
         select x.descendant as id, x.depth from resellers.ancestry x
          where x.ancestor = ${id}::uuid and ${visibleSql(this.viewer, params, `${id}::uuid`)}),
       f as materialized (
         select distinct f.account_id, f.category from resellers.flag f join d on d.id = f.account_id
          where f.status = 'ACTIVE' and (f.expires_at is null or f.expires_at > now()))
       select (select count(*) from d)::int as total,
              (select count(distinct account_id) from f)::int as flagged,
              (select coalesce(max(depth), 0) from d)::int as max_depth,
              (select coalesce(json_agg(j order by j.count desc, j.key), '[]') from
                 (select a.jurisdiction as key, count(*)::int as count from d join resellers.account a on a.id = d.id group by 1) j) as by_jurisdiction,
              (select coalesce(json_agg(c order by c.count desc, c.key), '[]') from
                 (select category as key, count(*)::int as count from f group by 1) c) as by_category`,
      params.values,
      `reseller_exposure_${forestView(this.viewer)}`,
    );
    if (!row || row.total === 0) return EMPTY_EXPOSURE;
    return {
      total: row.total,
      flagged: row.flagged,
      shareFlagged: row.flagged / row.total,
      maxDepth: row.max_depth,
      byJurisdiction: row.by_jurisdiction,
      byCategory: row.by_category,
    };
  }

  /**
   * The account, the resellers above it the viewer may see, and the accounts below it to `maxDepth`
   * (3 by default), as DOT or Mermaid text; an account with no links (or none the viewer may see)
   * is an empty graph.
   */
  async graph(accountId: string, format: GraphFormat, maxDepth: number | null | undefined): Promise<string> {
    const depth = depthLimit(maxDepth, DEFAULT_GRAPH_DEPTH)!;
    const uuid = parseAccountRef(accountId);
    if (!uuid) return renderGraph(format, [], [], false);
    const [hops] = await this.chains([uuid]);
    const params = new Params();
    const id = params.add(uuid);
    const below = await query<{ id: string; parent: string; depth: number; jurisdiction: string; kind: string; flagged: boolean }>(
      this.em,
      `select x.descendant as id, l.parent_id as parent, x.depth, a.jurisdiction, a.kind, ${flaggedSql("x.descendant")} as flagged
         from resellers.ancestry x
         join resellers.account a on a.id = x.descendant
         join resellers.link l on l.child_id = x.descendant and l.until is null
        where x.ancestor = ${id}::uuid and x.depth <= ${params.add(depth)}::int and ${visibleSql(this.viewer, params, `${id}::uuid`)}
        order by x.depth, x.descendant limit ${params.add(MAX_GRAPH_NODES + 1)}::int`,
      params.values,
      `reseller_graph_${forestView(this.viewer)}`,
    );
    if (!hops!.length && !below.length) return renderGraph(format, [], [], false);
    const [self] = await query<{ jurisdiction: string; kind: string; flagged: boolean }>(
      this.em,
      `select a.jurisdiction, a.kind, ${flaggedSql("a.id")} as flagged from resellers.account a where a.id = $1`,
      [uuid],
      "reseller_graph_self",
    );
    const truncated = below.length > MAX_GRAPH_NODES;
    const shown = below.slice(0, MAX_GRAPH_NODES);
    const nodes: GraphNode[] = [
      ...hops!.toReversed().map((h) => ({ id: h.account.id, kind: h.kind, jurisdiction: h.jurisdiction, flagged: h.flagged, focus: false })),
      { id: `account--${uuid}`, kind: self!.kind, jurisdiction: self!.jurisdiction, flagged: self!.flagged, focus: true },
      ...shown.map((r) => ({ id: `account--${r.id}`, kind: r.kind, jurisdiction: r.jurisdiction, flagged: r.flagged, focus: false })),
    ];
    const chainIds = [...hops!.toReversed().map((h) => h.account.id), `account--${uuid}`];
    const edges: [string, string][] = [
      ...chainIds.slice(1).map((child, i): [string, string] => [chainIds[i]!, child]),
      ...shown.map((r): [string, string] => [`account--${r.parent}`, `account--${r.id}`]),
    ];
    return renderGraph(format, nodes, edges, truncated);
  }

  async chainsThrough(jurisdiction: string, first: number | null | undefined, after: string | null | undefined): Promise<ResellerChainConnection> {
    if (typeof jurisdiction !== "string" || !/^[A-Z]{2}$/.test(jurisdiction) || !countries.isValid(jurisdiction)) {
      throw badInput("jurisdiction: not an ISO 3166-1 alpha-2 country code (two upper-case letters, e.g. US, DE)", "jurisdiction");
    }
    const size = pageSize(first, 20, 100);
    const afterId = after ? chainCursors.decode(after) : null;
    const params = new Params();
    const j = params.add(jurisdiction);
    // The bottom account of every chain holding an account in the jurisdiction: below one, or one itself.
    const leaves = await query<{ id: string; jurisdiction: string; flagged: boolean }>(
      this.em,
      `with s as (select id from resellers.account where jurisdiction = ${j}),
       leaves as (
         select x.descendant as id from resellers.ancestry x join s on s.id = x.ancestor
         union
         select s.id from s where exists (select 1 from resellers.ancestry y where y.descendant = s.id))
       select l.id, a.jurisdiction, ${flaggedSql("l.id")} as flagged
         from leaves l join resellers.account a on a.id = l.id
        where not exists (select 1 from resellers.ancestry z where z.ancestor = l.id)
          and (${params.add(afterId)}::uuid is null or l.id > $${params.values.length}::uuid)
          and ${visibleSql(this.viewer, params, "l.id")}
        order by l.id limit ${params.add(size + 1)}::int`,
      params.values,
      `reseller_chains_through_${forestView(this.viewer)}`,
    );
    const page = leaves.slice(0, size);
    const hops = await this.chains(page.map((l) => l.id));
    const edges = page
      .map((leaf, i) => ({ cursor: chainCursors.encode(leaf.id), node: { account: accountRef(leaf.id), jurisdiction: leaf.jurisdiction, flagged: leaf.flagged, hops: hops[i]! } as ResellerChain }))
      // A RESELLER org sees a chain only from its operated account down: that part must pass through the jurisdiction.
      .filter((e) => e.node.jurisdiction === jurisdiction || e.node.hops.some((h) => h.jurisdiction === jurisdiction));
    const endCursor = page.length ? chainCursors.encode(page.at(-1)!.id) : null;
    return { edges, pageInfo: { hasNextPage: leaves.length > size, endCursor } };
  }

  async riskiest(first: number | null | undefined, minAccounts: number | null | undefined): Promise<RiskyReseller[]> {
    const size = pageSize(first, 20, 100);
    const min = minAccounts ?? 10;
    if (!Number.isInteger(min) || min < 1) throw badInput("minAccounts: must be a positive integer", "minAccounts");
    const params = new Params();
    const rows = await query<{ id: string; jurisdiction: string; total: number; flagged: number }>(
      this.em,
      `select g.* from (
         select x.ancestor as id, a.jurisdiction, count(*)::int as total, count(fl.account_id)::int as flagged
           from resellers.ancestry x
           join resellers.account a on a.id = x.ancestor and a.kind = 'RESELLER'
           left join (select distinct f.account_id from resellers.flag f
                       where f.status = 'ACTIVE' and (f.expires_at is null or f.expires_at > now())) fl on fl.account_id = x.descendant
          group by x.ancestor, a.jurisdiction
         having count(*) >= ${params.add(min)}::int) g
        where ${visibleSql(this.viewer, params, "g.id")}
        order by g.flagged::float8 / g.total desc, g.total desc, g.id
        limit ${params.add(size)}::int`,
      params.values,
      `reseller_riskiest_${forestView(this.viewer)}`,
    );
    return rows.map((r) => ({ account: accountRef(r.id), jurisdiction: r.jurisdiction, total: r.total, flagged: r.flagged, shareFlagged: r.flagged / r.total }));
  }
}

const toHop = (row: HopRow): Hop => ({ depth: row.depth, account: accountRef(row.ancestor!), jurisdiction: row.jurisdiction, flagged: row.flagged, kind: row.kind });
