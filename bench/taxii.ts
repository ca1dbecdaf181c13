import pg from "pg";
import { versionOf } from "../subgraphs/indicators/stix/version.js";
import { generatedIndicators } from "./stix-bundle.js";
import { taxiiHeaders, taxiiRoot } from "./stix-import.js";

/**
 * Paging the STIX store: N objects of one org at TLP:GREEN, written straight to indicators.stix_object,
 * then read to the end in pages of 1,000 through the gateway's TAXII (GET objects, following `more`
 * and `next`), through the gateway's GraphQL `stixObjects` (following endCursor), and, as the
 * baseline, with raw `pg` running the hub's keyset page query (src: subgraphs/indicators/stix-object.query.ts)
 * for the same collection: the owner's objects at GREEN that the owner may see, newest version of
 * each, ordered by (date_added, seq); unnamed statements, as the hub sends them.
 */

export interface PageMeasure {
  pages: number;
  objects: number;
  seconds: number;
  pagesPerSecond: number;
  objectsPerSecond: number;
  pageMsP50: number;
  pageMsMax: number;
  /** Distinct STIX ids seen; with `objects`, tells whether any object came twice or not at all. */
  distinct: number;
}

function summarise(pages: number, ids: string[], started: number, pageMs: number[]): PageMeasure {
  const seconds = (performance.now() - started) / 1000;
  const sorted = [...pageMs].sort((a, b) => a - b);
  return {
    pages,
    objects: ids.length,
    seconds,
    pagesPerSecond: pages / seconds,
    objectsPerSecond: ids.length / seconds,
    pageMsP50: sorted[Math.floor(sorted.length / 2)] ?? 0,
    pageMsMax: sorted[sorted.length - 1] ?? 0,
    distinct: new Set(ids).size,
  };
}

/** `count` indicator objects of `owner` at GREEN, marked as such, in chunks of 10,000 rows. */
export async function seedStixObjects(client: pg.Client, owner: string, count: number): Promise<void> {
  const chunk = 10_000;
  for (let from = 0; from < count; from += chunk) {
    const objects: Record<string, unknown>[] = generatedIndicators(1000 + from / chunk, Math.min(chunk, count - from)).map((o) => ({
      ...o,
      object_marking_refs: ["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"],
    }));
    await client.query(
      `insert into indicators.stix_object (owner, id, type, version, version_key, spec_version, tlp, tlp_marked, object)
       select $1, i, 'indicator', v, k, '2.1', 'GREEN', true, o from unnest($2::text[], $3::text[], $4::text[], $5::jsonb[]) as u(i, v, k, o)`,
      [owner, objects.map((o) => o.id), objects.map((o) => o.modified), objects.map((o) => versionOf(o).key), objects.map((o) => JSON.stringify(o))],
    );
  }
  await client.query("analyze indicators.stix_object");
}

const idsOf = (objects: any[]) => objects.filter((o) => o.type !== "marking-definition").map((o) => o.id as string);

/** Every page of a TAXII collection's objects, `limit` at a time, following `next` while `more`. */
export async function pageTaxii(gatewayUrl: string, token: string, collection: string, limit: number): Promise<PageMeasure> {
  const base = `${taxiiRoot(gatewayUrl)}api/collections/${collection}/objects/?limit=${limit}`;
  const ids: string[] = [];
  const pageMs: number[] = [];
  let next: string | undefined;
  const started = performance.now();
  do {
    const t0 = performance.now();
    const res = await fetch(next ? `${base}&next=${encodeURIComponent(next)}` : base, { headers: taxiiHeaders(token) });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`TAXII page ${pageMs.length}: HTTP ${res.status} ${text.slice(0, 300)}`);
    const envelope = JSON.parse(text);
    pageMs.push(performance.now() - t0);
    ids.push(...idsOf(envelope.objects ?? []));
    next = envelope.more ? envelope.next : undefined;
    if (envelope.more && !next) throw new Error(`TAXII page ${pageMs.length - 1}: more without next`);
  } while (next);
  return summarise(pageMs.length, ids, started, pageMs);
}

const STIX_OBJECTS = `query Page($filter: StixObjectsFilter, $first: Int, $after: String) {
  stixObjects(filter: $filter, first: $first, after: $after) { count bundle pageInfo { hasNextPage endCursor } }
}`;

/** Every page of GraphQL stixObjects with the same bounds as the collection: the owner's objects at GREEN. */
export async function pageGraphql(gatewayUrl: string, token: string, owner: string, first: number): Promise<PageMeasure> {
  const ids: string[] = [];
  const pageMs: number[] = [];
  let after: string | null = null;
  const started = performance.now();
  do {
    const t0 = performance.now();
    const res = await fetch(gatewayUrl, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: STIX_OBJECTS, variables: { filter: { owner, tlp: ["GREEN"] }, first, after } }),
    });
    const text = await res.text();
    const json = JSON.parse(text);
    if (res.status !== 200 || json.errors?.length) throw new Error(`stixObjects page ${pageMs.length}: HTTP ${res.status} ${JSON.stringify(json.errors ?? json).slice(0, 500)}`);
    pageMs.push(performance.now() - t0);
    const page = json.data.stixObjects;
    const got = idsOf(page.bundle.objects ?? []);
    if (got.length !== page.count) throw new Error(`stixObjects page ${pageMs.length - 1}: count ${page.count} but ${got.length} objects in the bundle`);
    ids.push(...got);
    after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
  } while (after);
  return summarise(pageMs.length, ids, started, pageMs);
}

/**
 * The baseline: the hub's page query for the collection (visibility for the owner, owner and TLP
 * bounds, the newest version of each object, keyset on (date_added, seq)), limit + 1 rows to know
 * whether more follow, the position carried from one page to the next in this process.
 */
export async function pageRawSql(client: pg.Client, owner: string, limit: number): Promise<PageMeasure> {
  const visible = (a: string) => `(${a}.tlp in ('CLEAR', 'GREEN') or ${a}.owner = $1 or ${a}.shared_with @> array[$1::text])`;
  const where = `${visible("o")} and o.owner = $1 and o.tlp = any($2::text[])
    and not exists (select 1 from indicators.stix_object v where v.id = o.id and ${visible("v")} and v.owner = $1 and v.tlp = any($2::text[])
                     and (v.version_key > o.version_key or (v.version_key = o.version_key and v.seq > o.seq)))`;
  const columns = `o.seq::text as seq, o.owner, o.id, o.type, o.version, o.spec_version, o.tlp, o.tlp_marked, o.object,
    to_char(o.date_added at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as date_added`;
  const first = `select ${columns} from indicators.stix_object o where ${where} order by o.date_added, o.seq limit $3::int`;
  const rest = `select ${columns} from indicators.stix_object o where ${where} and (o.date_added, o.seq) > ($4::timestamptz, $5::bigint)
    order by o.date_added, o.seq limit $3::int`;
  const ids: string[] = [];
  const pageMs: number[] = [];
  type Position = { dateAdded: string; seq: string };
  let after: Position | null = null;
  const started = performance.now();
  do {
    const t0 = performance.now();
    const at: Position | null = after;
    const result: pg.QueryResult<{ id: string; seq: string; date_added: string }> = at
      ? await client.query(rest, [owner, ["GREEN"], limit + 1, at.dateAdded, at.seq])
      : await client.query(first, [owner, ["GREEN"], limit + 1]);
    const rows = result.rows;
    pageMs.push(performance.now() - t0);
    const page = rows.slice(0, limit);
    ids.push(...page.map((r) => r.id));
    const last = page[page.length - 1];
    after = rows.length > limit && last ? { dateAdded: last.date_added, seq: last.seq } : null;
  } while (after);
  return summarise(pageMs.length, ids, started, pageMs);
}
