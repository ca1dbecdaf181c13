import pg from "pg";
import type { Tlp } from "../src/auth/tlp.js";
import { observablesOfPattern, type Observable } from "../subgraphs/indicators/stix-object.projection.js";
import { meaningOf, tlpOf, type MarkingMeaning } from "../subgraphs/indicators/stix/markings.js";
import { versionOf } from "../subgraphs/indicators/stix/version.js";
import type { StixObject } from "./stix-bundle.js";

/**
 * STIX import: objects through the hub (GraphQL importStixBundle for the reports, one TAXII POST for
 * the generated feed, each answering a status polled to completion) and, as the baseline, the same
 * rows written with raw `pg`: the stored objects, the indicator projection, its observables and the
 * indicator events, one multi-row statement each (unnest, or a JSON recordset for rows with array
 * columns), one transaction per chunk of the hub's size.
 */

export interface ImportMeasure {
  objects: number;
  seconds: number;
  objectsPerSecond: number;
  /** Status polls made while the hub worked (0 when the answer came complete). */
  polls: number;
}

const IMPORT = `mutation Import($bundle: JSONObject!, $tlp: TLP!) {
  importStixBundle(bundle: $bundle, tlp: $tlp) { id status totalCount successCount failureCount pendingCount failures { id property message } }
}`;
const STATUS = `query Status($id: ID!) { stixImport(id: $id) { id status totalCount successCount failureCount pendingCount failures { id property message } } }`;

interface Status {
  id: string;
  status: "pending" | "complete";
  totalCount: number;
  successCount: number;
  failureCount: number;
  failures?: { id: string; property?: string | null; message?: string | null }[];
}

async function postJson(url: string, headers: Record<string, string>, body: string): Promise<{ status: number; json: any }> {
  const res = await fetch(url, { method: "POST", headers, body });
  const text = await res.text();
  try {
    return { status: res.status, json: JSON.parse(text) };
  } catch {
    throw new Error(`${url}: HTTP ${res.status}, not JSON: ${text.slice(0, 300)}`);
  }
}

function requireComplete(what: string, s: Status, total: number): void {
  if (s.status !== "complete" || s.totalCount !== total || s.successCount !== total || s.failureCount !== 0) {
    throw new Error(`${what}: ${s.status}, ${s.successCount} of ${total} stored, ${s.failureCount} refused: ${JSON.stringify(s.failures?.slice(0, 3))}`);
  }
}

async function gqlOnce(url: string, token: string, query: string, variables: Record<string, unknown>, what: string): Promise<any> {
  const { status, json } = await postJson(url, { "content-type": "application/json", authorization: `Bearer ${token}` }, JSON.stringify({ query, variables }));
  if (status !== 200 || json.errors?.length) throw new Error(`${what}: HTTP ${status} ${JSON.stringify(json.errors ?? json).slice(0, 500)}`);
  return json.data;
}

/** Each bundle through the gateway's importStixBundle, one after another; each must store every object. */
export async function importBundlesThroughGateway(url: string, token: string, bundles: readonly StixObject[], tlp: Tlp, pollMs: number): Promise<ImportMeasure> {
  let objects = 0;
  let polls = 0;
  const started = performance.now();
  for (const [b, bundle] of bundles.entries()) {
    const total = (bundle.objects as unknown[]).length;
    let status: Status = (await gqlOnce(url, token, IMPORT, { bundle, tlp }, `import bundle ${b}`)).importStixBundle;
    while (status.status === "pending") {
      await new Promise((r) => setTimeout(r, pollMs));
      polls++;
      status = (await gqlOnce(url, token, STATUS, { id: status.id }, `status of import ${status.id}`)).stixImport;
    }
    requireComplete(`import bundle ${b}`, status, total);
    objects += total;
  }
  const seconds = (performance.now() - started) / 1000;
  return { objects, seconds, objectsPerSecond: objects / seconds, polls };
}

export const TAXII_MEDIA_TYPE = "application/taxii+json;version=2.1";
export const taxiiHeaders = (token: string) => ({ accept: TAXII_MEDIA_TYPE, authorization: `Bearer ${token}` });

/** The TAXII root on the gateway's port. */
export const taxiiRoot = (gatewayUrl: string) => new URL("/taxii2/", gatewayUrl).toString();

/** The id of the caller's own (writable) collection at TLP:GREEN, found as a client finds it. */
export async function ownGreenCollection(gatewayUrl: string, token: string, org: string): Promise<string> {
  const res = await fetch(`${taxiiRoot(gatewayUrl)}api/collections/`, { headers: taxiiHeaders(token) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`TAXII collections: HTTP ${res.status} ${text.slice(0, 300)}`);
  const found = (JSON.parse(text).collections as any[]).find((c) => c.can_write && c.title === `${org} at TLP:GREEN`);
  if (!found) throw new Error(`TAXII collections: no writable collection '${org} at TLP:GREEN' in ${text.slice(0, 500)}`);
  return found.id as string;
}

/** One TAXII POST of every object in an envelope, then its status polled until complete. */
export async function importThroughTaxii(gatewayUrl: string, token: string, collection: string, objects: readonly StixObject[], pollMs: number): Promise<ImportMeasure> {
  const root = taxiiRoot(gatewayUrl);
  const started = performance.now();
  const posted = await postJson(
    `${root}api/collections/${collection}/objects/`,
    { ...taxiiHeaders(token), "content-type": TAXII_MEDIA_TYPE },
    JSON.stringify({ objects }),
  );
  if (posted.status !== 202) throw new Error(`TAXII POST of ${objects.length} objects: HTTP ${posted.status} ${JSON.stringify(posted.json).slice(0, 500)}`);
  let s = posted.json;
  let polls = 0;
  while (s.status === "pending") {
    await new Promise((r) => setTimeout(r, pollMs));
    polls++;
    const res = await fetch(`${root}api/status/${s.id}/`, { headers: taxiiHeaders(token) });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`TAXII status ${s.id}: HTTP ${res.status} ${text.slice(0, 300)}`);
    s = JSON.parse(text);
  }
  const seconds = (performance.now() - started) / 1000;
  requireComplete(`TAXII import ${s.id}`, { ...s, totalCount: s.total_count, successCount: s.success_count, failureCount: s.failure_count }, objects.length);
  return { objects: objects.length, seconds, objectsPerSecond: objects.length / seconds, polls };
}

const EVENT_APPEND_LOCK = 0x57_46_45_56; // the same lock as src/events/outbox.ts
/** Objects per transaction: the hub's chunk (subgraphs/indicators/stix-import.service.ts). */
const CHUNK = 2500;

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);

/**
 * The baseline: each chunk in one transaction, one INSERT each for the stored versions (ON CONFLICT
 * DO NOTHING, as the store), the indicator rows (upsert on owner and id, RETURNING the rows the events
 * carry), their observables, and the events behind the event log's lock with its NOTIFY. Versions,
 * TLP from markings and observables from patterns are derived with the hub's own functions; the
 * schema validation and the lossless bookkeeping (held versions, per-object status) are the hub's.
 */
export async function importRawSql(client: pg.Client, owner: string, bundles: readonly StixObject[][], tlp: Tlp): Promise<ImportMeasure> {
  let objects = 0;
  const started = performance.now();
  for (const all of bundles) {
    const markings = new Map<string, MarkingMeaning>();
    for (const o of all) if (o.type === "marking-definition") markings.set(String(o.id), meaningOf(o));
    for (let from = 0; from < all.length; from += CHUNK) {
      const chunk = all.slice(from, from + CHUNK);
      const stored: { id: string; type: string; version: string; key: string; spec: string; tlp: Tlp; marked: boolean; revoked: boolean; object: string }[] = [];
      const indicators: Record<string, unknown>[] = [];
      const observablesOf = new Map<string, Observable[]>();
      for (const o of chunk) {
        const marked = tlpOf(o, (id) => markings.get(id));
        if (!marked.ok) throw new Error(`raw import ${String(o.id)}: ${marked.message}`);
        const level = marked.tlp ?? tlp;
        const { version, key } = versionOf(o);
        stored.push({ id: String(o.id), type: String(o.type), version: version ?? "", key, spec: String(o.spec_version ?? "2.1"), tlp: level, marked: marked.tlp !== null, revoked: o.revoked === true, object: JSON.stringify(o) });
        if (o.type !== "indicator") continue;
        const parsed = o.pattern_type === "stix" ? observablesOfPattern(String(o.pattern)) : { ok: true as const, observables: [] };
        if (!parsed.ok) throw new Error(`raw import ${String(o.id)}: ${parsed.message}`);
        const id = String(o.id).slice("indicator--".length);
        observablesOf.set(id, parsed.observables);
        const first = parsed.observables[0];
        indicators.push({
          id, type: first?.type ?? null, value: first?.value ?? null, pattern: o.pattern, pattern_type: o.pattern_type, name: o.name ?? null,
          indicator_types: strings(o.indicator_types), tlp: level, confidence: typeof o.confidence === "number" ? o.confidence : null, labels: strings(o.labels),
          description: o.description ?? null, valid_from: o.valid_from, valid_until: o.valid_until ?? null, revoked: o.revoked === true,
          created_at: o.created, modified_at: o.modified, version_key: key,
        });
      }
      const column = <K extends keyof (typeof stored)[number]>(k: K) => stored.map((v) => v[k]);
      await client.query("begin");
      try {
        await client.query(
          `insert into indicators.stix_object (owner, id, type, version, version_key, spec_version, tlp, tlp_marked, revoked, object)
           select $1, * from unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::boolean[], $9::boolean[], $10::jsonb[])
           on conflict (owner, id, version_key) do nothing`,
          [owner, column("id"), column("type"), column("version"), column("key"), column("spec"), column("tlp"), column("marked"), column("revoked"), column("object")],
        );
        if (indicators.length) {
          // Array columns travel as JSON: unnest cannot carry arrays of differing lengths.
          const { rows } = await client.query(
            `insert into indicators.indicator (id, owner, source, type, value, pattern, pattern_type, name, indicator_types, tlp, confidence,
                labels, description, valid_from, valid_until, revoked, created_at, modified_at, version_key)
             select r.id, $1, 'stix', r.type, r.value, r.pattern, r.pattern_type, r.name, array(select jsonb_array_elements_text(r.indicator_types)), r.tlp,
                    r.confidence, array(select jsonb_array_elements_text(r.labels)), r.description, r.valid_from, r.valid_until, r.revoked,
                    r.created_at, r.modified_at, r.version_key
               from jsonb_to_recordset($2::jsonb) as r(id uuid, type text, value text, pattern text, pattern_type text, name text, indicator_types jsonb,
                    tlp text, confidence smallint, labels jsonb, description text, valid_from timestamptz, valid_until timestamptz, revoked boolean,
                    created_at timestamptz, modified_at timestamptz, version_key text)
             on conflict (owner, id) do update set type = excluded.type, value = excluded.value, pattern = excluded.pattern,
               pattern_type = excluded.pattern_type, name = excluded.name, indicator_types = excluded.indicator_types, tlp = excluded.tlp,
               confidence = excluded.confidence, labels = excluded.labels, description = excluded.description, valid_from = excluded.valid_from,
               valid_until = excluded.valid_until, revoked = excluded.revoked, created_at = excluded.created_at, modified_at = excluded.modified_at,
               version_key = excluded.version_key
             returning *`,
            [owner, JSON.stringify(indicators)],
          );
          const seqs: string[] = [];
          const types: string[] = [];
          const vals: string[] = [];
          for (const row of rows) {
            for (const o of observablesOf.get(row.id) ?? []) seqs.push(row.seq), types.push(o.type), vals.push(o.value);
          }
          await client.query(`insert into indicators.observable (indicator_seq, type, value) select * from unnest($1::bigint[], $2::text[], $3::text[])`, [seqs, types, vals]);
          await client.query("select pg_advisory_xact_lock($1)", [EVENT_APPEND_LOCK]);
          await client.query(
            `insert into hub.event (topic, owner_org, tlp, shared_with, payload) select 'indicator.published', $1, t, '{}', p from unnest($2::text[], $3::jsonb[]) as u(t, p)`,
            [owner, rows.map((r) => r.tlp), rows.map((r) => JSON.stringify(r))],
          );
          await client.query("select pg_notify('hub_event', '')");
        }
        await client.query("commit");
      } catch (err) {
        await client.query("rollback").catch(() => undefined);
        throw err;
      }
      objects += chunk.length;
    }
  }
  const seconds = (performance.now() - started) / 1000;
  return { objects, seconds, objectsPerSecond: objects / seconds, polls: 0 };
}

/** What an owner holds: stored versions, indicator rows, their observables, and indicator events. */
export async function countImported(client: pg.Client, owner: string): Promise<{ objects: number; indicators: number; observables: number; events: number }> {
  const { rows: [r] } = await client.query(
    `select (select count(*)::int from indicators.stix_object where owner = $1) as objects,
            (select count(*)::int from indicators.indicator where owner = $1) as indicators,
            (select count(*)::int from indicators.observable o join indicators.indicator i on i.seq = o.indicator_seq where i.owner = $1) as observables,
            (select count(*)::int from hub.event where owner_org = $1 and topic = 'indicator.published') as events`,
    [owner],
  );
  return r;
}
