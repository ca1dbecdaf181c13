import { randomUUID } from "node:crypto";
import pg from "pg";
import type { KeyRing } from "../src/crypto/keyed-hash.js";
import { canonical, hashInput, type IdentifierType } from "../src/identifiers/canonical.js";

/**
 * Accounts: `matchIdentifiers` (1,000 identifiers per call against a million stored hashes) through
 * the gateway, beside the same lookup in raw SQL through `pg`; and `registerAccounts` (batches of
 * 5,000 accounts with 3 identifiers each) beside the same rows and events written with raw `pg`.
 *
 * The hashes are indexed by a btree on `account_identifier.hash` (32-byte HMAC-SHA-256 digests, so
 * uniformly spread: a lookup is one index descent per submitted hash and key); the flags of the
 * accounts found come through the index on `flag.account_id`.
 */

export const PROVIDERS = 10;
/** Every 10th seeded account is flagged: half GREEN (visible to the matcher), half AMBER (not). */
const FLAG_EVERY = 10;
const CATEGORIES = ["MALWARE_HOSTING", "COMMAND_AND_CONTROL", "PHISHING", "FRAUD", "CRYPTOJACKING"];

export interface Identifier {
  type: IdentifierType;
  value: string;
}

const provider = (k: number) => `bench-acct-p${k}`;
const hex40 = (n: number) => n.toString(16).padStart(40, "0");

/** The three identifiers of seeded account n, as a client would write them. */
function seededIdentifiers(n: number): Identifier[] {
  return [
    { type: "EMAIL", value: `User${n}@P${n % PROVIDERS}.Bench.Example ` },
    { type: "NATIONAL_ID", value: `us:bench-${n}` },
    { type: "CRYPTO_WALLET", value: `0x${hex40(n)}` },
  ];
}

function hashOf(ring: KeyRing, { type, value }: Identifier): Buffer {
  const form = canonical(type, value);
  if (!form.ok) throw new Error(`bench identifier ${type} ${value}: ${form.why}`);
  return ring.hash(hashInput(type, form.value)).digest;
}

/**
 * A million identifier hashes (a third of that many accounts over 10 providers, 3 identifiers each)
 * and their flags, written straight to the tables: the figure is the match, not the seeding.
 */
export async function seedIdentifierHashes(client: pg.Client, ring: KeyRing, hashes: number, say: (m: string) => void): Promise<number> {
  const accounts = Math.ceil(hashes / 3);
  const chunk = 20_000;
  const started = Date.now();
  for (let from = 0; from < accounts; from += chunk) {
    const n = Math.min(chunk, accounts - from);
    const ids: string[] = [];
    const providers: string[] = [];
    const refs: string[] = [];
    const idAccount: string[] = [];
    const idType: string[] = [];
    const idHash: Buffer[] = [];
    for (let i = from; i < from + n; i++) {
      const id = randomUUID();
      ids.push(id);
      providers.push(provider(i % PROVIDERS));
      refs.push(`seed-${i}`);
      for (const identifier of seededIdentifiers(i)) {
        idAccount.push(id);
        idType.push(identifier.type);
        idHash.push(hashOf(ring, identifier));
      }
    }
    await client.query("begin");
    await client.query(
      `insert into accounts.account (id, provider, external_ref, kind, holder_type, holder_jurisdiction, us_person, status, opened_at)
       select id, p, r, 'STANDARD', 'INDIVIDUAL', 'US', false, 'ACTIVE', now() from unnest($1::uuid[], $2::text[], $3::text[]) as t(id, p, r)`,
      [ids, providers, refs],
    );
    await client.query(
      `insert into accounts.account_identifier (account_id, type, key_id, hash) select a, t, $4, h from unnest($1::uuid[], $2::text[], $3::bytea[]) as u(a, t, h)`,
      [idAccount, idType, idHash, ring.currentKeyId],
    );
    // Flagged by the next provider; the flag's audience is the flagging org and the account's provider.
    const flagged = ids.map((id, j) => ({ id, n: from + j })).filter(({ n: i }) => i % FLAG_EVERY === 0);
    await client.query(
      `insert into accounts.flag (account_id, provider, owner, category, confidence, tlp)
       select a, p, o, c, conf, tlp from unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::int[], $6::text[]) as u(a, p, o, c, conf, tlp)`,
      [
        flagged.map((f) => f.id),
        flagged.map((f) => provider(f.n % PROVIDERS)),
        flagged.map((f) => provider((f.n + 1) % PROVIDERS)),
        flagged.map((f) => CATEGORIES[(f.n / FLAG_EVERY) % CATEGORIES.length]!),
        flagged.map((f) => 40 + (f.n % 60)),
        flagged.map((f) => ((f.n / FLAG_EVERY) % 2 ? "AMBER" : "GREEN")),
      ],
    );
    await client.query("commit");
    if ((from / chunk) % 10 === 9) say(`accounts: seeded ${(from + n) * 3} of ${accounts * 3} identifier hashes (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  }
  await client.query("analyze accounts.account, accounts.account_identifier, accounts.flag");
  return accounts * 3;
}

/** A xorshift generator: the same calls on both sides of a run, different calls between runs. */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

/**
 * `count` calls of `size` identifiers: 40% of flagged accounts' identifiers, 40% of unflagged ones',
 * 20% stored nowhere.
 */
export function matchCalls(seed: number, count: number, size: number, seededAccounts: number): Identifier[][] {
  const random = rng(seed);
  const pick = () => Math.floor(random() * seededAccounts);
  return Array.from({ length: count }, () =>
    Array.from({ length: size }, (_, i) => {
      const kind = i % 5;
      if (kind === 4) return { type: "EMAIL" as const, value: `nobody-${Math.floor(random() * 1e12)}@absent.example` };
      let n = pick();
      if (kind < 2) n -= n % FLAG_EVERY;
      else if (n % FLAG_EVERY === 0) n += 1;
      return seededIdentifiers(Math.min(n, seededAccounts - 1))[i % 3]!;
    }),
  );
}

export interface LatencyMeasure {
  calls: number;
  p50: number;
  p99: number;
  /** Per call, flaggedAccounts of each item: the two sides must agree. */
  answers: number[][];
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

function latencies(ms: number[], answers: number[][]): LatencyMeasure {
  const sorted = [...ms].sort((a, b) => a - b);
  return { calls: ms.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), answers };
}

const MATCH = `query Match($ids: [IdentifierInput!]!) { matchIdentifiers(identifiers: $ids) { index flaggedAccounts providers categories maxConfidence } }`;

/** One call at a time through the gateway; every answer checked for errors. */
export async function matchThroughGateway(url: string, token: string, calls: Identifier[][]): Promise<LatencyMeasure> {
  const ms: number[] = [];
  const answers: number[][] = [];
  for (const [c, ids] of calls.entries()) {
    const t0 = performance.now();
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: MATCH, variables: { ids } }),
    });
    const json = (await res.json()) as any;
    ms.push(performance.now() - t0);
    const out = json?.data?.matchIdentifiers;
    if (res.status !== 200 || json.errors?.length || out?.length !== ids.length) {
      throw new Error(`match call ${c}: HTTP ${res.status} ${JSON.stringify(json.errors ?? json).slice(0, 500)}`);
    }
    answers.push(out.map((m: any) => m.flaggedAccounts));
  }
  return latencies(ms, answers);
}

/**
 * The baseline: the same work without the hub around it. Each value put in canonical form and hashed
 * in this process, then one statement: the stored hashes, the flags in force on their accounts that
 * the caller may see, grouped per item (the same SQL as the subgraph's, less its budget and audit).
 */
export async function matchRawSql(client: pg.Client, ring: KeyRing, org: string, calls: Identifier[][]): Promise<LatencyMeasure> {
  const sql = `select q.idx, count(distinct f.account_id)::int as accounts, count(distinct f.provider)::int as providers,
      array_agg(distinct f.category order by f.category) as categories, max(f.confidence)::int as max_confidence
    from unnest($1::int[], $2::text[], $3::bytea[]) as q(idx, key_id, hash)
    join accounts.account_identifier ai on ai.hash = q.hash and ai.key_id = q.key_id
    join accounts.flag f on f.account_id = ai.account_id
      and f.status <> 'CLEARED' and (f.expires_at is null or f.expires_at > now())
      and (f.tlp in ('CLEAR', 'GREEN') or f.owner = $4 or f.audience @> array[$4::text])
    group by q.idx`;
  const ms: number[] = [];
  const answers: number[][] = [];
  for (const ids of calls) {
    const t0 = performance.now();
    const idx: number[] = [];
    const keyIds: string[] = [];
    const hashes: Buffer[] = [];
    ids.forEach((identifier, i) => {
      const form = canonical(identifier.type, identifier.value);
      if (!form.ok) return;
      for (const h of ring.hashesForMatching(hashInput(identifier.type, form.value))) {
        idx.push(i);
        keyIds.push(h.keyId);
        hashes.push(h.digest);
      }
    });
    const { rows } = await client.query({ name: "bench_match", text: sql, values: [idx, keyIds, hashes, org] });
    const byIdx = new Map(rows.map((r) => [r.idx as number, r.accounts as number]));
    ms.push(performance.now() - t0);
    answers.push(ids.map((_, i) => byIdx.get(i) ?? 0));
  }
  return latencies(ms, answers);
}

export interface RegisterMeasure {
  rows: number;
  seconds: number;
  rowsPerSecond: number;
  batchMsP50: number;
  batchMsMax: number;
}

export interface AccountItem {
  externalRef: string;
  kind: "STANDARD" | "RESELLER" | "TRIAL";
  holderType: "INDIVIDUAL" | "ENTITY";
  holderJurisdiction: string;
  usPerson: boolean;
  identifiers: Identifier[];
}

/** Batch b of a side's accounts: references and identifiers of its own (`tag`), 3 identifiers each. */
export function accountBatch(tag: string, b: number, size: number): AccountItem[] {
  return Array.from({ length: size }, (_, i) => {
    const n = b * size + i;
    return {
      externalRef: `${tag}-${n}`,
      kind: n % 7 ? "STANDARD" : "TRIAL",
      holderType: n % 3 ? "INDIVIDUAL" : "ENTITY",
      holderJurisdiction: n % 2 ? "US" : "DE",
      usPerson: n % 2 === 1,
      identifiers: [
        { type: "EMAIL", value: `${tag}-${n}@register.bench.example` },
        { type: "NATIONAL_ID", value: `US:${tag.replace(/[^a-z0-9]/gi, "")}${n}` },
        { type: "CRYPTO_WALLET", value: `0x${hex40(n)}` },
      ],
    };
  });
}

function summarise(rows: number, started: number, batchMs: number[]): RegisterMeasure {
  const seconds = (performance.now() - started) / 1000;
  const sorted = [...batchMs].sort((a, b) => a - b);
  return { rows, seconds, rowsPerSecond: rows / seconds, batchMsP50: percentile(sorted, 50), batchMsMax: sorted[sorted.length - 1] ?? 0 };
}

const REGISTER = `mutation Register($input: [AccountInput!]!) { registerAccounts(input: $input) { results { index account { id } error { field message } } } }`;

/** Through the gateway; every item of every batch must come back registered. */
export async function registerThroughGateway(url: string, token: string, tag: string, rows: number, batchSize: number): Promise<RegisterMeasure> {
  const batches = Math.ceil(rows / batchSize);
  const batchMs: number[] = [];
  const started = performance.now();
  for (let b = 0; b < batches; b++) {
    const t0 = performance.now();
    const body = JSON.stringify({ query: REGISTER, variables: { input: accountBatch(tag, b, batchSize) } });
    const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body });
    const text = await res.text();
    batchMs.push(performance.now() - t0);
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      throw new Error(`register batch ${b}: HTTP ${res.status}, not JSON: ${text.slice(0, 300)}`);
    }
    const results = json?.data?.registerAccounts?.results;
    if (res.status !== 200 || json.errors?.length || results?.length !== batchSize) {
      throw new Error(`register batch ${b}: HTTP ${res.status} ${JSON.stringify(json.errors ?? json).slice(0, 500)}`);
    }
    const bad = results.find((r: any) => r.error || !r.account?.id);
    if (bad) throw new Error(`register batch ${b}: ${JSON.stringify(bad)}`);
  }
  return summarise(batches * batchSize, started, batchMs);
}

const EVENT_APPEND_LOCK = 0x57_46_45_56; // the same lock as src/events/outbox.ts

/**
 * The baseline: raw pg, one transaction per batch: the accounts (upsert by external reference), their
 * identifier hashes (made in this process, as the subgraph makes them), and one `account.registered`
 * event per account behind the event log's lock, with its NOTIFY.
 */
export async function registerRawSql(client: pg.Client, ring: KeyRing, org: string, tag: string, rows: number, batchSize: number): Promise<RegisterMeasure> {
  const batches = Math.ceil(rows / batchSize);
  const batchMs: number[] = [];
  const started = performance.now();
  for (let b = 0; b < batches; b++) {
    const t0 = performance.now();
    const items = accountBatch(tag, b, batchSize);
    await client.query("begin");
    try {
      const { rows: stored } = await client.query(
        `insert into accounts.account as cur (provider, external_ref, kind, holder_type, holder_jurisdiction, us_person, status, opened_at)
         select $1, r, k, h, j, u, 'ACTIVE', now() from unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::boolean[]) as t(r, k, h, j, u)
         on conflict (provider, external_ref) do update set kind = excluded.kind, holder_type = excluded.holder_type,
           holder_jurisdiction = excluded.holder_jurisdiction, us_person = excluded.us_person, modified_at = now()
         returning id, provider, external_ref, kind, holder_jurisdiction, status`,
        [org, items.map((i) => i.externalRef), items.map((i) => i.kind), items.map((i) => i.holderType), items.map((i) => i.holderJurisdiction), items.map((i) => i.usPerson)],
      );
      if (stored.length !== batchSize) throw new Error(`raw upsert stored ${stored.length} accounts, not ${batchSize}`);
      const idOf = new Map(stored.map((r) => [r.external_ref as string, r.id as string]));
      const accountIds: string[] = [];
      const types: string[] = [];
      const hashes: Buffer[] = [];
      for (const item of items) {
        for (const identifier of item.identifiers) {
          accountIds.push(idOf.get(item.externalRef)!);
          types.push(identifier.type);
          hashes.push(hashOf(ring, identifier));
        }
      }
      await client.query(
        `insert into accounts.account_identifier (account_id, type, key_id, hash)
         select a, t, $4, h from unnest($1::uuid[], $2::text[], $3::bytea[]) as u(a, t, h) on conflict do nothing`,
        [accountIds, types, hashes, ring.currentKeyId],
      );
      await client.query("select pg_advisory_xact_lock($1)", [EVENT_APPEND_LOCK]);
      await client.query(
        `insert into hub.event (topic, owner_org, tlp, shared_with, payload)
         select 'account.registered', $1, 'RED', '{}', p from unnest($2::jsonb[]) as u(p)`,
        [org, stored.map((r) => JSON.stringify({ id: r.id, provider: r.provider, kind: r.kind, holder_jurisdiction: r.holder_jurisdiction, status: r.status }))],
      );
      await client.query("select pg_notify('hub_event', '')");
      await client.query("commit");
    } catch (err) {
      await client.query("rollback").catch(() => undefined);
      throw err;
    }
    batchMs.push(performance.now() - t0);
  }
  return summarise(batches * batchSize, started, batchMs);
}

/** Accounts, identifier hashes and registration events a side left behind. */
export async function countRegistered(client: pg.Client, org: string): Promise<{ accounts: number; identifiers: number; events: number }> {
  const { rows: [r] } = await client.query(
    `select (select count(*)::int from accounts.account where provider = $1) as accounts,
            (select count(*)::int from accounts.account_identifier i join accounts.account a on a.id = i.account_id where a.provider = $1) as identifiers,
            (select count(*)::int from hub.event where owner_org = $1 and topic = 'account.registered') as events`,
    [org],
  );
  return r;
}
