import pg from "pg";
import { stixPattern } from "../subgraphs/indicators/indicator.normalize.js";
import { stixTimestamp } from "../subgraphs/indicators/stix/version.js";

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
const TLP_MARKING: Record<string, string> = {
  GREEN: "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
  AMBER: "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
};

/** The STIX object kept for a published indicator row: the fields the hub's own export carries. */
function stixObjectOf(row: Record<string, any>, version: string): Record<string, unknown> {
  return {
    type: "indicator",
    spec_version: "2.1",
    id: `indicator--${row.id}`,
    created: version,
    modified: version,
    pattern: row.pattern,
    pattern_type: "stix",
    valid_from: new Date(row.valid_from).toISOString(),
    labels: row.labels,
    confidence: row.confidence,
    description: row.description,
    object_marking_refs: [TLP_MARKING[row.tlp]],
  };
}
const COLUMNS = ["owner", "source", "type", "value", "pattern", "tlp", "confidence", "shared_with", "labels", "description", "valid_from", "valid_until", "created_at", "modified_at", "version_key"];

/**
 * The baseline: raw pg, multi-row VALUES, one transaction per batch: the indicator rows (upserted on
 * the published-value index, as the hub), the STIX version the hub keeps of each, their observables,
 * and the event rows. The client is connected by the caller (outside the timed part, and so that its
 * backend's CPU can be counted).
 */
export async function publishRawSql(client: pg.Client, owner: string, base: number, rows: number, batchSize: number): Promise<PublishMeasure> {
  {
    const batches = Math.ceil(rows / batchSize);
    const batchMs: number[] = [];
    const placeholders = (width: number, count: number, casts: string[] = []) =>
      Array.from({ length: count }, (_, r) => `(${Array.from({ length: width }, (_, c) => `$${r * width + c + 1}${casts[c] ?? ""}`).join(", ")})`).join(", ");
    const upsertSql = `insert into indicators.indicator (${COLUMNS.join(", ")})
      values ${placeholders(COLUMNS.length, batchSize)}
      on conflict (owner, type, value) where source = 'publish' and not revoked do update set
        tlp = excluded.tlp, confidence = excluded.confidence, shared_with = excluded.shared_with,
        labels = excluded.labels, description = excluded.description, valid_from = excluded.valid_from,
        valid_until = excluded.valid_until, modified_at = excluded.modified_at, version_key = excluded.version_key
      returning *`;
    const versionSql = `insert into indicators.stix_object (owner, id, type, version, version_key, spec_version, tlp, tlp_marked, object)
      select $1, i, 'indicator', $2, $3, '2.1', t, true, o from unnest($4::text[], $5::text[], $6::jsonb[]) as u(i, t, o)
      on conflict (owner, id, version_key) do nothing`;
    const observableSql = `insert into indicators.observable (indicator_seq, type, value) select * from unnest($1::bigint[], $2::text[], $3::text[])`;
    const eventSql = `insert into hub.event (topic, owner_org, tlp, shared_with, payload) values ${placeholders(5, batchSize, ["", "", "", "", "::jsonb"])}`;
    const started = performance.now();
    for (let b = 0; b < batches; b++) {
      const t0 = performance.now();
      const items = batchItems(base, b, batchSize);
      const { version, key } = stixTimestamp(new Date());
      const params: unknown[] = [];
      for (const it of items) {
        params.push(owner, "publish", it.type, it.value, stixPattern(it.type, it.value), it.tlp, it.confidence, [], it.labels, it.description, version, null, version, version, key);
      }
      await client.query("begin");
      try {
        const { rows: stored } = await client.query(upsertSql, params);
        if (stored.length !== batchSize) throw new Error(`raw upsert stored ${stored.length} rows, not ${batchSize}`);
        await client.query(versionSql, [
          owner,
          version,
          key,
          stored.map((r) => `indicator--${r.id}`),
          stored.map((r) => r.tlp),
          stored.map((r) => JSON.stringify(stixObjectOf(r, version))),
        ]);
        await client.query(observableSql, [stored.map((r) => r.seq), stored.map((r) => r.type), stored.map((r) => r.value)]);
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

/** Rows, STIX versions, observables and events each side left behind: each must equal what it claims to have written. */
export async function countWritten(databaseUrl: string, owner: string): Promise<{ indicators: number; versions: number; observables: number; events: number }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows: [r] } = await client.query(
      `select (select count(*)::int from indicators.indicator where owner = $1) as indicators,
              (select count(*)::int from indicators.stix_object where owner = $1) as versions,
              (select count(*)::int from indicators.observable o join indicators.indicator i on i.seq = o.indicator_seq where i.owner = $1) as observables,
              (select count(*)::int from hub.event where owner_org = $1 and topic = 'indicator.published') as events`,
      [owner],
    );
    return r;
  } finally {
    await client.end();
  }
}
