import { createHash } from "node:crypto";
import pg from "pg";
import { partitionFor } from "../subgraphs/verification/access.partitions.js";
import { ACCESS_HISTORY_PAGE_SQL, ACCOUNTS_SEEN_SQL } from "../subgraphs/verification/access.service.js";

/**
 * The access log (§1(a)(ii)(D)): `recordAccessEvents` in batches of 10,000 through the gateway beside
 * the same rows written with `COPY … FROM STDIN` through `pg`, into the same partitioned table with
 * the same indexes; then `accessHistory` and `accountsSeenFromIp` through the gateway beside the
 * hub's own statements through `pg`, on a log loaded with generate_series. Accounts are written
 * straight into the verification subgraph's projection of the account registry: the figures are the
 * log's, not the registry's.
 */

export const ACCESS_BATCH = 10_000;
const DAY_MS = 86_400_000;

export interface AccessEvent {
  account: string;
  ip: string;
  at: Date;
  action: "ACCESS" | "ADMIN";
}

export interface WriteMeasure {
  rows: number;
  seconds: number;
  rowsPerSecond: number;
  batchMsP50: number;
  batchMsMax: number;
}

export interface LatencyMeasure {
  calls: number;
  p50: number;
  p99: number;
  /** One summary per call (events or accounts found), to check both sides agree. */
  answers: string[];
}

/** A small deterministic PRNG (mulberry32). */
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

/** The uuid the seed gives account `n` of `owner` (the same in SQL: md5(owner || ':' || n)::uuid). */
export function accountUuid(owner: string, n: number): string {
  const h = createHash("md5").update(`${owner}:${n}`).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** `count` accounts of `owner` in the verification subgraph's projection of the registry. */
export async function seedAccounts(client: pg.Client, owner: string, count: number): Promise<string[]> {
  await client.query(
    `insert into verification.account (id, provider, kind, jurisdiction, status)
     select md5($1 || ':' || g)::uuid, $1, 'STANDARD', 'DE', 'ACTIVE' from generate_series(0, $2 - 1) g
     on conflict (id) do nothing`,
    [owner, count],
  );
  return Array.from({ length: count }, (_, n) => accountUuid(owner, n));
}

/** The partitions of the months from `from` to `to`, as the hub makes them. */
export async function makePartitions(client: pg.Client, from: Date, to: Date): Promise<void> {
  for (let d = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), 1)); d <= to; d = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1))) {
    const p = partitionFor(d.toISOString().slice(0, 7));
    await client.query(`create table if not exists verification.${p.name} partition of verification.access_event for values from ('${p.from}') to ('${p.to}')`);
  }
}

/**
 * `count` events over `accounts`, from the last 360 days, half IPv4 and half IPv6, one in ten ADMIN;
 * times distinct (so no two are the same event), addresses from a pool of 2^20 per family: IPv4 in
 * 10.0.0.0/12 (256 to a /24), IPv6 16 to a /48 (a site's prefix).
 */
export function generateEvents(accounts: string[], count: number, seed: number, now = Date.now()): AccessEvent[] {
  const random = prng(seed);
  const span = 360 * DAY_MS;
  const start = now - span - DAY_MS;
  return Array.from({ length: count }, (_, i) => {
    const x = Math.floor(random() * 1_048_576);
    return {
      account: accounts[Math.floor(random() * accounts.length)]!,
      ip: i % 2 ? `10.${x >> 16}.${(x >> 8) & 255}.${x & 255}` : `2001:db8:${(x >> 4).toString(16)}::${(x & 15).toString(16)}`,
      at: new Date(start + Math.floor((i * span) / count)),
      action: i % 10 ? "ACCESS" : "ADMIN",
    };
  });
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;

function writeMeasure(rows: number, started: number, batchMs: number[]): WriteMeasure {
  const seconds = (performance.now() - started) / 1000;
  const sorted = [...batchMs].sort((a, b) => a - b);
  return { rows, seconds, rowsPerSecond: rows / seconds, batchMsP50: percentile(sorted, 50), batchMsMax: sorted.at(-1) ?? 0 };
}

const RECORD = `mutation($in: [AccessEventInput!]!) { recordAccessEvents(input: $in) { accepted duplicates rejected { index field message } } }`;

async function post(url: string, token: string, body: string): Promise<any> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body });
  const text = await res.text();
  const json = JSON.parse(text);
  if (res.status !== 200 || json.errors?.length) throw new Error(`HTTP ${res.status}: ${JSON.stringify(json.errors ?? json).slice(0, 500)}`);
  return json.data;
}

/** The events in batches, one in flight, through the gateway; every item must be accepted as new. */
export async function writeThroughGateway(url: string, token: string, events: AccessEvent[], batch = ACCESS_BATCH): Promise<WriteMeasure> {
  const batchMs: number[] = [];
  const started = performance.now();
  for (let i = 0; i < events.length; i += batch) {
    const t0 = performance.now();
    const input = events.slice(i, i + batch).map((e) => ({ accountId: `account--${e.account}`, ip: e.ip, at: e.at.toISOString(), action: e.action }));
    const out = (await post(url, token, JSON.stringify({ query: RECORD, variables: { in: input } }))).recordAccessEvents;
    if (out.accepted !== input.length || out.duplicates || out.rejected.length) {
      throw new Error(`recordAccessEvents: ${out.accepted} accepted, ${out.duplicates} duplicates, ${out.rejected.length} rejected of ${input.length}: ${JSON.stringify(out.rejected.slice(0, 3))}`);
    }
    batchMs.push(performance.now() - t0);
  }
  return writeMeasure(events.length, started, batchMs);
}

/**
 * `COPY … FROM STDIN` through pg's own protocol client, without pg-copy-streams: a Query whose
 * answer to the server's CopyInResponse is the rows, then CopyDone. pg calls back once the server
 * has answered CommandComplete and ReadyForQuery.
 */
class CopyIn extends (pg.Query as unknown as new (text: string, values: undefined, cb: (err: Error | null, res: pg.QueryResult) => void) => object) {
  constructor(text: string, private readonly chunk: Buffer, cb: (err: Error | null, res: pg.QueryResult) => void) {
    super(text, undefined, cb);
  }

  handleCopyInResponse(connection: { sendCopyFromChunk(b: Buffer): void; endCopyFrom(): void }): void {
    connection.sendCopyFromChunk(this.chunk);
    connection.endCopyFrom();
  }
}

export function copyIn(client: pg.Client, text: string, rows: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const q = new CopyIn(text, Buffer.from(rows), (err, res) => (err ? reject(err) : resolve(res.rowCount ?? 0)));
    client.query(q as unknown as pg.QueryConfig);
  });
}

/** The same events, batch for batch, with COPY into the partitioned table; one transaction per batch. */
export async function writeCopy(client: pg.Client, owner: string, events: AccessEvent[], batch = ACCESS_BATCH): Promise<WriteMeasure> {
  const batchMs: number[] = [];
  const started = performance.now();
  for (let i = 0; i < events.length; i += batch) {
    const t0 = performance.now();
    const text = events.slice(i, i + batch).map((e) => `${owner}\t${e.account}\t${e.ip}\t${e.at.toISOString()}\t${e.action}\n`).join("");
    const n = await copyIn(client, "copy verification.access_event (owner, account_id, ip, at, action) from stdin", text);
    if (n !== Math.min(batch, events.length - i)) throw new Error(`COPY wrote ${n} rows of ${Math.min(batch, events.length - i)}`);
    batchMs.push(performance.now() - t0);
  }
  return writeMeasure(events.length, started, batchMs);
}

export async function countStored(client: pg.Client, owner: string): Promise<number> {
  const { rows } = await client.query("select count(*)::int as n from verification.access_event where owner = $1", [owner]);
  return rows[0].n;
}

/**
 * `total` events of `owner` over its `accounts` spread evenly over the last 360 days (event g of
 * account g mod accounts, at a distinct time each), addresses from a pool of 2^20 per family by a hash
 * of g: written in chunks of a million by generate_series, then analysed.
 */
export async function seedStored(client: pg.Client, owner: string, accounts: number, total: number, say: (m: string) => void): Promise<{ seconds: number; from: Date; to: Date }> {
  const started = performance.now();
  const to = new Date(Date.now() - DAY_MS);
  const from = new Date(to.getTime() - 360 * DAY_MS);
  await makePartitions(client, from, to);
  const stepMs = (to.getTime() - from.getTime()) / total;
  const chunk = 1_000_000;
  for (let lo = 0; lo < total; lo += chunk) {
    const hi = Math.min(total, lo + chunk) - 1;
    await client.query(
      `insert into verification.access_event (owner, account_id, ip, at, action)
       select $1, md5($1 || ':' || (g % $2))::uuid,
              case when g % 2 = 1 then ('10.' || (x >> 16) || '.' || ((x >> 8) & 255) || '.' || (x & 255))::inet
                   else ('2001:db8:' || to_hex(x >> 4) || '::' || to_hex(x & 15))::inet end,
              $3::timestamptz + g * $4::float8 * interval '1 millisecond',
              case when g % 10 = 0 then 'ADMIN' else 'ACCESS' end
         from generate_series($5::bigint, $6::bigint) g, lateral (select (hashint8(g) & 1048575)::int as x) h`,
      [owner, accounts, from, stepMs, lo, hi],
    );
    say(`access: ${(hi + 1).toLocaleString("en")} of ${total.toLocaleString("en")} events stored (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  }
  await client.query("analyze verification.access_event");
  return { seconds: (performance.now() - started) / 1000, from, to };
}

/** Addresses the seeded log holds: those of a few accounts' events (one index range each). */
export async function seededAddresses(client: pg.Client, owner: string, accounts: string[], count: number): Promise<{ v4: string[]; v6: string[] }> {
  const { rows } = await client.query<{ ip: string; v6: boolean }>(
    `select distinct host(ip) as ip, family(ip) = 6 as v6 from verification.access_event where owner = $1 and account_id = any($2::uuid[])`,
    [owner, accounts],
  );
  // An IPv6 address whose third group is zero prints as 2001:db8::…, which names no /48 by its first three groups.
  const pick = (v6: boolean) => rows.filter((r) => r.v6 === v6 && (!v6 || r.ip.split(":")[2] !== "")).map((r) => r.ip).sort().slice(0, count);
  return { v4: pick(false), v6: pick(true) };
}

/** What each side is asked, the same calls in the same order. */
export interface Lookup {
  ip: string;
  from: string | null;
  to: string | null;
}

/** Lookups over the seeded addresses: a third exact addresses, a third IPv4 /24 in the last 90 days, a third IPv6 /48. */
export function lookupsOf(addresses: { v4: string[]; v6: string[] }, calls: number): Lookup[] {
  const recent = new Date(Date.now() - 90 * DAY_MS).toISOString();
  return Array.from({ length: calls }, (_, i) => {
    const v4 = addresses.v4[i % addresses.v4.length]!;
    const v6 = addresses.v6[i % addresses.v6.length]!;
    if (i % 3 === 0) return { ip: i % 2 ? v4 : v6, from: null, to: null };
    if (i % 3 === 1) return { ip: `${v4.split(".").slice(0, 3).join(".")}.0/24`, from: recent, to: null };
    return { ip: `${v6.split(":").slice(0, 3).join(":")}::/48`, from: null, to: null };
  });
}

async function timed<T>(calls: T[], one: (call: T) => Promise<string>): Promise<LatencyMeasure> {
  const ms: number[] = [];
  const answers: string[] = [];
  for (const call of calls) {
    const t0 = performance.now();
    answers.push(await one(call));
    ms.push(performance.now() - t0);
  }
  const sorted = [...ms].sort((a, b) => a - b);
  return { calls: ms.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), answers };
}

const HISTORY = `query($a: ID!, $first: Int) { accessHistory(accountId: $a, first: $first) { edges { cursor node { ip at action } } pageInfo { hasNextPage endCursor } } }`;
const SEEN = `query($ip: String!, $from: DateTime, $to: DateTime) { accountsSeenFromIp(ip: $ip, from: $from, to: $to) { accountId firstSeen lastSeen events } }`;
export const HISTORY_PAGE = 100;

/** The first page (100, newest first) of each account's history through the gateway. */
export function historyThroughGateway(url: string, token: string, accounts: string[]): Promise<LatencyMeasure> {
  return timed(accounts, async (a) => {
    const data = await post(url, token, JSON.stringify({ query: HISTORY, variables: { a: `account--${a}`, first: HISTORY_PAGE } }));
    const edges = data.accessHistory.edges;
    return `${edges.length}:${edges[0]?.node.at ?? ""}:${edges.at(-1)?.node.at ?? ""}`;
  });
}

/** The hub's page statement through pg (without the access rule's lookups and the audit link). */
export function historyRawSql(client: pg.Client, owner: string, accounts: string[]): Promise<LatencyMeasure> {
  return timed(accounts, async (a) => {
    const { rows } = await client.query({
      name: "bench_access_history",
      text: ACCESS_HISTORY_PAGE_SQL,
      values: [owner, a, "-infinity", "infinity", null, null, null, HISTORY_PAGE + 1],
    });
    const page = rows.slice(0, HISTORY_PAGE);
    return `${page.length}:${page[0]?.at.toISOString() ?? ""}:${page.at(-1)?.at.toISOString() ?? ""}`;
  });
}

export function seenThroughGateway(url: string, token: string, lookups: Lookup[]): Promise<LatencyMeasure> {
  return timed(lookups, async (l) => {
    const seen = (await post(url, token, JSON.stringify({ query: SEEN, variables: { ip: l.ip, from: l.from, to: l.to } }))).accountsSeenFromIp as { events: number }[];
    return `${seen.length}:${seen.reduce((n, s) => n + s.events, 0)}`;
  });
}

/** The hub's lookup statement through pg, the network's bounds worked out by PostgreSQL as the hub does. */
export function seenRawSql(client: pg.Client, owner: string, lookups: Lookup[], cap: number): Promise<LatencyMeasure> {
  return timed(lookups, async (l) => {
    const { rows } = await client.query({
      name: "bench_accounts_seen",
      text: ACCOUNTS_SEEN_SQL,
      values: [owner, l.ip, l.from ?? "-infinity", l.to ?? "infinity", cap],
    });
    return `${rows.length}:${rows.reduce((n, r) => n + r.events, 0)}`;
  });
}
