import { randomUUID } from "node:crypto";
import type pg from "pg";

/**
 * Resellers: `resellerChain` through the gateway beside the raw recursive CTE over resellers.link
 * through `pg`, and `exposure` of the reseller with the largest subtree beside the same totals by a
 * recursive CTE. The forest is seeded with raw SQL straight into the resellers schema (its projection
 * of accounts and flags, the links, and the closure computed from the links by one recursive
 * statement): the figures are the questions, not the seeding.
 */

export const BENCH_PROVIDER = "bench-rs-provider";
const JURISDICTIONS = ["US", "DE", "GB", "SG", "AE", "IN", "BR", "NG", "RU", "CN", "IR", "TR"];
const CATEGORIES = ["FRAUD", "SPAM", "PHISHING", "CRYPTOJACKING", "RESALE_ABUSE"];
const MAX_DEPTH = 12;

export interface Forest {
  accounts: number;
  resellers: number;
  links: number;
  ancestryRows: number;
  flagged: number;
  deepest: number;
  /** Standard accounts whose chains are asked for, deepest first then random. */
  sample: string[];
  /** The reseller with the most accounts below it, and how many. */
  largest: { id: string; below: number };
  seconds: number;
}

/** A small deterministic PRNG (mulberry32): the same forest for the same seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `total` accounts, a tenth of them resellers: a few top resellers, every other reseller under a
 * random earlier one of depth below 11 (and one chain forced to depth 11), every other account under a
 * random reseller, so chains reach depth 12; 2% of the accounts flagged.
 */
export async function seedForest(client: pg.Client, total: number, say: (m: string) => void): Promise<Forest> {
  const started = Date.now();
  const random = prng(0x5e11e75);
  const resellerCount = Math.max(MAX_DEPTH, Math.floor(total / 10));
  const roots = Math.max(3, Math.floor(resellerCount / 2000));
  const ids: string[] = Array.from({ length: total }, () => randomUUID());
  const depth = new Int8Array(total);
  const parent = new Int32Array(total).fill(-1);
  const eligible: number[] = []; // resellers that may take a reseller child (depth < 11)
  for (let i = 0; i < resellerCount; i++) {
    if (i < roots) depth[i] = 0;
    else if (i < roots + MAX_DEPTH - 1) {
      parent[i] = i === roots ? 0 : i - 1; // the forced chain under reseller 0
      depth[i] = depth[parent[i]!]! + 1;
    } else {
      parent[i] = eligible[Math.floor(random() * eligible.length)]!;
      depth[i] = depth[parent[i]!]! + 1;
    }
    if (depth[i]! < MAX_DEPTH - 1) eligible.push(i);
  }
  for (let i = resellerCount; i < total; i++) {
    parent[i] = Math.floor(random() * resellerCount);
    depth[i] = depth[parent[i]!]! + 1;
  }
  // One account under the deepest reseller, so a chain of 12 is sampled for sure.
  parent[resellerCount] = roots + MAX_DEPTH - 2;
  depth[resellerCount] = MAX_DEPTH;

  const chunk = 50_000;
  let flagged = 0;
  for (let from = 0; from < total; from += chunk) {
    const to = Math.min(total, from + chunk);
    const slice = ids.slice(from, to);
    await client.query(
      `insert into resellers.account (id, provider, kind, jurisdiction, status)
       select u.id, $2, case when u.n < $3 then 'RESELLER' else 'STANDARD' end, u.j, 'ACTIVE'
         from unnest($1::uuid[], $4::int[], $5::text[]) as u(id, n, j)`,
      [slice, BENCH_PROVIDER, resellerCount, slice.map((_, k) => from + k), slice.map(() => JURISDICTIONS[Math.floor(random() * JURISDICTIONS.length)]!)],
    );
    const links = slice.map((_, k) => from + k).filter((n) => parent[n]! >= 0);
    await client.query(
      `insert into resellers.link (parent_id, child_id, since, recorded_by)
       select p, c, now() - interval '30 days', $3 from unnest($1::uuid[], $2::uuid[]) as u(p, c)`,
      [links.map((n) => ids[parent[n]!]!), links.map((n) => ids[n]!), BENCH_PROVIDER],
    );
    const flags = slice.map((_, k) => from + k).filter(() => random() < 0.02);
    flagged += flags.length;
    await client.query(
      `insert into resellers.flag (id, account_id, category, status)
       select gen_random_uuid(), a, c, 'ACTIVE' from unnest($1::uuid[], $2::text[]) as u(a, c)`,
      [flags.map((n) => ids[n]!), flags.map(() => CATEGORIES[Math.floor(random() * CATEGORIES.length)]!)],
    );
  }
  say(`resellers: ${total.toLocaleString("en")} accounts, links and flags written in ${((Date.now() - started) / 1000).toFixed(0)} s; computing the closure`);
  // The closure from the links in one statement, indexes built after the load.
  await client.query("alter table resellers.ancestry drop constraint ancestry_pkey");
  await client.query("drop index resellers.ancestry_descendant");
  await client.query(
    `insert into resellers.ancestry (ancestor, descendant, depth)
     with recursive up(descendant, ancestor, depth) as (
       select child_id, parent_id, 1 from resellers.link where until is null
       union all
       select u.descendant, l.parent_id, u.depth + 1 from up u join resellers.link l on l.child_id = u.ancestor and l.until is null)
     select ancestor, descendant, depth from up`,
  );
  await client.query("alter table resellers.ancestry add primary key (ancestor, descendant)");
  await client.query("create index ancestry_descendant on resellers.ancestry (descendant, depth)");
  await client.query("analyze resellers.account");
  await client.query("analyze resellers.link");
  await client.query("analyze resellers.flag");
  await client.query("analyze resellers.ancestry");
  const { rows: counts } = await client.query("select (select count(*) from resellers.ancestry)::int as ancestry, (select count(*) from resellers.link)::int as links");
  const { rows: top } = await client.query("select ancestor::text as id, count(*)::int as below from resellers.ancestry group by ancestor order by 2 desc limit 1");
  const standard = Array.from({ length: total - resellerCount }, (_, k) => resellerCount + k);
  const sample = [resellerCount, ...Array.from({ length: 5000 }, () => standard[Math.floor(random() * standard.length)]!)].map((n) => `account--${ids[n]}`);
  return {
    accounts: total,
    resellers: resellerCount,
    links: counts[0].links,
    ancestryRows: counts[0].ancestry,
    flagged,
    deepest: depth.reduce((a, b) => Math.max(a, b), 0),
    sample,
    largest: { id: `account--${top[0].id}`, below: top[0].below },
    seconds: (Date.now() - started) / 1000,
  };
}

export interface ChainMeasure {
  calls: number;
  p50: number;
  p99: number;
  /** Per call, the hops' account ids joined: both sides must agree. */
  answers: string[];
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}
const measure = (ms: number[], answers: string[]): ChainMeasure => {
  const sorted = [...ms].sort((a, b) => a - b);
  return { calls: ms.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), answers };
};

const CHAIN = `query Chain($id: ID!) { resellerAccount(id: $id) { resellerChain { depth jurisdiction flagged account { id } } } }`;
const EXPOSURE = `query Exposure($id: ID!) { resellerAccount(id: $id) { exposure { total flagged shareFlagged maxDepth byJurisdiction { key count } byCategory { key count } } } }`;

async function post(url: string, token: string, query: string, variables: Record<string, unknown>): Promise<any> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: JSON.stringify({ query, variables }) });
  const json = (await res.json()) as any;
  if (res.status !== 200 || json.errors?.length) throw new Error(`HTTP ${res.status} ${JSON.stringify(json.errors ?? json).slice(0, 500)}`);
  return json.data;
}

/** One call at a time through the gateway. */
export async function chainThroughGateway(url: string, token: string, accounts: string[]): Promise<ChainMeasure> {
  const ms: number[] = [];
  const answers: string[] = [];
  for (const id of accounts) {
    const t0 = performance.now();
    const data = await post(url, token, CHAIN, { id });
    ms.push(performance.now() - t0);
    answers.push(data.resellerAccount.resellerChain.map((h: any) => h.account.id).join(","));
  }
  return measure(ms, answers);
}

const RAW_CHAIN = `
  with recursive up(id, depth) as (
    select parent_id, 1 from resellers.link where child_id = $1 and until is null
    union all
    select l.parent_id, up.depth + 1 from up join resellers.link l on l.child_id = up.id and l.until is null)
  select up.id::text, up.depth, a.jurisdiction,
         exists (select 1 from resellers.flag f where f.account_id = up.id and f.status = 'ACTIVE' and (f.expires_at is null or f.expires_at > now())) as flagged
    from up join resellers.account a on a.id = up.id order by up.depth`;

/** The baseline: the recursive CTE over the links, through `pg`. */
export async function chainRawSql(client: pg.Client, accounts: string[]): Promise<ChainMeasure> {
  const ms: number[] = [];
  const answers: string[] = [];
  for (const id of accounts) {
    const t0 = performance.now();
    const { rows } = await client.query({ name: "bench_chain", text: RAW_CHAIN, values: [id.slice("account--".length)] });
    ms.push(performance.now() - t0);
    answers.push(rows.map((r) => `account--${r.id}`).join(","));
  }
  return measure(ms, answers);
}

export interface ExposureMeasure {
  ms: number;
  total: number;
  flagged: number;
}

export async function exposureThroughGateway(url: string, token: string, id: string): Promise<ExposureMeasure> {
  const t0 = performance.now();
  const data = await post(url, token, EXPOSURE, { id });
  const ms = performance.now() - t0;
  return { ms, total: data.resellerAccount.exposure.total, flagged: data.resellerAccount.exposure.flagged };
}

/** The baseline: the subtree by a recursive CTE over the links, with the same totals. */
export async function exposureRawSql(client: pg.Client, id: string): Promise<ExposureMeasure> {
  const t0 = performance.now();
  const { rows } = await client.query(
    `with recursive down(id, depth) as (
       select child_id, 1 from resellers.link where parent_id = $1 and until is null
       union all
       select l.child_id, d.depth + 1 from down d join resellers.link l on l.parent_id = d.id and l.until is null),
     d as materialized (select * from down),
     f as materialized (select distinct f.account_id, f.category from resellers.flag f join d on d.id = f.account_id
                         where f.status = 'ACTIVE' and (f.expires_at is null or f.expires_at > now()))
     select (select count(*) from d)::int as total, (select count(distinct account_id) from f)::int as flagged,
            (select max(depth) from d) as max_depth,
            (select json_agg(j) from (select a.jurisdiction, count(*) from d join resellers.account a on a.id = d.id group by 1) j) as by_jurisdiction,
            (select json_agg(c) from (select category, count(*) from f group by 1) c) as by_category`,
    [id.slice("account--".length)],
  );
  return { ms: performance.now() - t0, total: rows[0].total, flagged: rows[0].flagged };
}
