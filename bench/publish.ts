import pg from "pg";

/**
 * Publishing: N indicators in batches of B, one batch in flight, through the hub's gateway
 * (`publishIndicators`) and, as the baseline, the same rows written with raw `pg`: a multi-row
 * INSERT … ON CONFLICT with the hub's upsert semantics, and the event rows in the same transaction
 * (behind the same advisory lock, with the same NOTIFY), as src/events/outbox.ts does.
 */

export interface PublishMeasure {
  rows: number;
  seconds: number;
  rowsPerSecond: number;
  batchMsP50: number;
  batchMsMax: number;
}

export interface IndicatorItem {
  type: "IPV4";
  value: string;
  tlp: "GREEN" | "AMBER";
  confidence: number;
  labels: string[];
  description: string;
}

const ipv4 = (n: number) => `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;

/** Distinct values for every (run, side): each slot is a block of 2^21 addresses from 11.0.0.0. */
export function valueBase(slot: number): number {
  return 0x0b00_0000 + slot * 0x20_0000;
}

export function batchItems(base: number, batch: number, size: number): IndicatorItem[] {
  const items: IndicatorItem[] = [];
  for (let i = 0; i < size; i++) {
    const n = batch * size + i;
    items.push({
      type: "IPV4",
      value: ipv4(base + n),
      tlp: n % 2 ? "AMBER" : "GREEN",
      confidence: 50 + (n % 50),
      labels: ["bench", n % 3 ? "scanner" : "c2"],
      description: "benchmark indicator",
    });
  }
  return items;
}

const PUBLISH = `mutation Publish($input: [IndicatorInput!]!) {
  publishIndicators(input: $input) { published failed results { index error { field } indicator { id } } }
}`;

function summarise(rows: number, started: number, batchMs: number[]): PublishMeasure {
  const seconds = (performance.now() - started) / 1000;
  const sorted = [...batchMs].sort((a, b) => a - b);
  return {
    rows,
    seconds,
    rowsPerSecond: rows / seconds,
    batchMsP50: sorted[Math.floor(sorted.length / 2)] ?? 0,
    batchMsMax: sorted[sorted.length - 1] ?? 0,
  };
}

/** Through the gateway; every batch must come back with every item published and an id each. */
export async function publishThroughGateway(url: string, token: string, base: number, rows: number, batchSize: number): Promise<PublishMeasure> {
  const batches = Math.ceil(rows / batchSize);
  const batchMs: number[] = [];
  const started = performance.now();
  for (let b = 0; b < batches; b++) {
    const t0 = performance.now();
    // Built inside the timed loop, like the raw side's parameters.
    const body = JSON.stringify({ query: PUBLISH, variables: { input: batchItems(base, b, batchSize) } });
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body,
    });
    const text = await res.text();
    batchMs.push(performance.now() - t0);
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      throw new Error(`publish batch ${b}: HTTP ${res.status}, not JSON: ${text.slice(0, 300)}`);
    }
    const out = json?.data?.publishIndicators;
    if (res.status !== 200 || json.errors?.length || !out) {
      throw new Error(`publish batch ${b}: HTTP ${res.status} ${JSON.stringify(json.errors ?? json).slice(0, 500)}`);
    }
    if (out.published !== batchSize || out.failed !== 0 || out.results.length !== batchSize || out.results.some((r: any) => !r.indicator?.id || r.error)) {
      throw new Error(`publish batch ${b}: published ${out.published}, failed ${out.failed}: ${JSON.stringify(out.results.find((r: any) => r.error))}`);
    }
  }
  return summarise(batches * batchSize, started, batchMs);
}

const EVENT_APPEND_LOCK = 0x57_46_45_56; // the same lock as src/events/outbox.ts
const COLUMNS = ["owner", "type", "value", "tlp", "confidence", "shared_with", "labels", "description", "valid_from", "valid_until"];

/**
 * The baseline: raw pg, multi-row VALUES, one transaction per batch, the event rows in it. The client
 * is connected by the caller (outside the timed part, and so that its backend's CPU can be counted).
 */
export async function publishRawSql(client: pg.Client, owner: string, base: number, rows: number, batchSize: number): Promise<PublishMeasure> {
  {
    const batches = Math.ceil(rows / batchSize);
    const batchMs: number[] = [];
    const placeholders = (width: number, count: number, casts: string[] = []) =>
      Array.from({ length: count }, (_, r) => `(${Array.from({ length: width }, (_, c) => `$${r * width + c + 1}${casts[c] ?? ""}`).join(", ")})`).join(", ");
    const upsertSql = `insert into indicators.indicator (${COLUMNS.join(", ")})
      values ${placeholders(COLUMNS.length, batchSize)}
      on conflict (owner, type, value) do update set
        tlp = excluded.tlp, confidence = excluded.confidence, shared_with = excluded.shared_with,
        labels = excluded.labels, description = excluded.description, valid_from = excluded.valid_from,
        valid_until = excluded.valid_until, revoked = false, modified_at = now()
      returning *`;
    const eventSql = `insert into hub.event (topic, owner_org, tlp, shared_with, payload) values ${placeholders(5, batchSize, ["", "", "", "", "::jsonb"])}`;
    const started = performance.now();
    for (let b = 0; b < batches; b++) {
      const t0 = performance.now();
      const items = batchItems(base, b, batchSize);
      const now = new Date();
      const params: unknown[] = [];
      for (const it of items) params.push(owner, it.type, it.value, it.tlp, it.confidence, [], it.labels, it.description, now, null);
      await client.query("begin");
      try {
        const { rows: stored } = await client.query(upsertSql, params);
        if (stored.length !== batchSize) throw new Error(`raw upsert stored ${stored.length} rows, not ${batchSize}`);
        await client.query("select pg_advisory_xact_lock($1)", [EVENT_APPEND_LOCK]);
        const eventParams: unknown[] = [];
        for (const row of stored) eventParams.push("indicator.published", row.owner, row.tlp, row.shared_with, JSON.stringify(row));
        await client.query(eventSql, eventParams);
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
}

/** Rows and events each side left behind: both must equal what it claims to have written. */
export async function countWritten(databaseUrl: string, owner: string): Promise<{ indicators: number; events: number }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows: [a] } = await client.query("select count(*)::int as n from indicators.indicator where owner = $1", [owner]);
    const { rows: [e] } = await client.query("select count(*)::int as n from hub.event where owner_org = $1 and topic = 'indicator.published'", [owner]);
    return { indicators: a.n, events: e.n };
  } finally {
    await client.end();
  }
}
