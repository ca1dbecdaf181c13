import type { EntityManager } from "@mikro-orm/postgresql";
import { query } from "../../src/db/sql.js";
import type { NewEvent } from "../../src/events/event.js";
import { Topics } from "../../src/events/topics.js";
import { normalizeValue, type ObservableType } from "./indicator.normalize.js";
import type { IndicatorRow } from "./indicator.row.js";
import { equalityObservables, parsePattern } from "./stix/pattern.js";

/**
 * The indicators table as a projection of the STIX store: for each (owner, indicator id), the newest
 * version held, with the observables its pattern names. Run in the transaction that changed the store
 * (an import, a revocation, a TAXII delete), so the two never disagree; each indicator that changed
 * gives one event, for the caller to append last in that transaction.
 */

export interface Observable {
  type: ObservableType;
  value: string;
}

/**
 * The observables a valid STIX pattern names, normalised as lookups compare them, or why the pattern
 * is not valid. A value that is not what its path names (a domain with a space in it, as some published
 * reports have) is still part of a valid pattern: it is kept as written, and found as written.
 */
export function observablesOfPattern(pattern: string): { ok: true; observables: Observable[] } | { ok: false; message: string } {
  const parsed = parsePattern(pattern);
  if (!parsed.ok) return { ok: false, message: parsed.message };
  const observables: Observable[] = [];
  const seen = new Set<string>();
  for (const o of equalityObservables(parsed.ast)) {
    const n = normalizeValue(o.type, o.value);
    // URLs and file names are searched as written: normalising them would change what the pattern says.
    const value = n.ok && o.type !== "URL" && o.type !== "FILE_NAME" ? n.value : o.value;
    const key = `${o.type}\u0000${value}`;
    if (!seen.has(key)) observables.push({ type: o.type, value }), seen.add(key);
  }
  return { ok: true, observables };
}

/** The key of one version of an object in a map of what was worked out from it. */
export const versionKeyOf = (id: string, versionKey: string) => `${id}\u0000${versionKey}`;

interface NewestVersion {
  id: string;
  version_key: string;
  tlp: string;
  shared_with: string[];
  revoked: boolean;
  object: Record<string, any>;
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);

/**
 * Brings the indicator rows of `ids` (full STIX ids) of `owner` in line with the newest version each
 * has in the store; an id with no version left loses its row. Returns the rows written and their events.
 * `parsed` holds observables the caller already took from patterns, by id and version key, so an import
 * does not parse each pattern twice.
 */
export async function reprojectIndicators(
  em: EntityManager,
  owner: string,
  ids: readonly string[],
  parsed: ReadonlyMap<string, Observable[]> = new Map(),
): Promise<{ written: IndicatorRow[]; events: NewEvent[] }> {
  if (!ids.length) return { written: [], events: [] };
  const newest = await query<NewestVersion>(
    em,
    `select distinct on (id) id, version_key, tlp, shared_with, revoked, object from indicators.stix_object
      where owner = $1 and id = any($2::text[]) and type = 'indicator' order by id, version_key desc`,
    [owner, ids],
    "stix_newest_indicators",
  );
  const rows = newest.map((v) => {
    const o = v.object;
    const pattern = String(o.pattern);
    const known = parsed.get(versionKeyOf(v.id, v.version_key));
    const fresh = known || o.pattern_type !== "stix" ? null : observablesOfPattern(pattern);
    // Stored objects passed the same check on import; one that no longer parses names no observable.
    const observables = known ?? (fresh?.ok ? fresh.observables : []);
    return {
      id: v.id.slice("indicator--".length),
      type: observables[0]?.type ?? null,
      value: observables[0]?.value ?? null,
      observables,
      pattern,
      pattern_type: String(o.pattern_type),
      name: typeof o.name === "string" ? o.name : null,
      indicator_types: strings(o.indicator_types),
      tlp: v.tlp,
      confidence: typeof o.confidence === "number" ? o.confidence : null,
      shared_with: v.shared_with,
      labels: strings(o.labels),
      description: typeof o.description === "string" ? o.description : null,
      valid_from: o.valid_from,
      valid_until: o.valid_until ?? null,
      revoked: v.revoked,
      created_at: o.created,
      modified_at: o.modified,
      version_key: v.version_key,
    };
  });
  const written = rows.length
    ? await query<IndicatorRow>(
        em,
        `insert into indicators.indicator as cur (id, owner, source, type, value, pattern, pattern_type, name, indicator_types, tlp, confidence,
            shared_with, labels, description, valid_from, valid_until, revoked, created_at, modified_at, version_key)
         select r.id, $1, 'stix', r.type, r.value, r.pattern, r.pattern_type, r.name, array(select jsonb_array_elements_text(r.indicator_types)),
                r.tlp, r.confidence, array(select jsonb_array_elements_text(r.shared_with)), array(select jsonb_array_elements_text(r.labels)),
                r.description, r.valid_from, r.valid_until, r.revoked, r.created_at, r.modified_at, r.version_key
           from jsonb_to_recordset($2::jsonb) as r(id uuid, type text, value text, pattern text, pattern_type text, name text, indicator_types jsonb,
                tlp text, confidence smallint, shared_with jsonb, labels jsonb, description text, valid_from timestamptz, valid_until timestamptz,
                revoked boolean, created_at timestamptz, modified_at timestamptz, version_key text)
         on conflict (owner, id) do update set
           source = case when cur.pattern = excluded.pattern then cur.source else 'stix' end,
           type = excluded.type, value = excluded.value, pattern = excluded.pattern, pattern_type = excluded.pattern_type, name = excluded.name,
           indicator_types = excluded.indicator_types, tlp = excluded.tlp, confidence = excluded.confidence, shared_with = excluded.shared_with,
           labels = excluded.labels, description = excluded.description, valid_from = excluded.valid_from, valid_until = excluded.valid_until,
           revoked = excluded.revoked, created_at = excluded.created_at, modified_at = excluded.modified_at, version_key = excluded.version_key
         where (cur.version_key, cur.tlp, cur.shared_with, cur.revoked) is distinct from (excluded.version_key, excluded.tlp, excluded.shared_with, excluded.revoked)
         returning *`,
        [owner, JSON.stringify(rows.map(({ observables: _, ...r }) => r))],
        "indicators_project",
      )
    : [];
  if (written.length) {
    const byId = new Map(rows.map((r) => [r.id, r.observables]));
    await replaceObservables(em, written.map((w) => ({ seq: Number(w.seq), observables: byId.get(w.id) ?? [] })));
  }
  const held = new Set(newest.map((v) => v.id));
  const gone = ids.filter((id) => !held.has(id)).map((id) => id.slice("indicator--".length));
  const removed = gone.length
    ? await query<IndicatorRow>(em, `delete from indicators.indicator where owner = $1 and id = any($2::uuid[]) returning *`, [owner, gone], "indicators_unproject")
    : [];
  // A removed indicator reaches feeds as revoked: it no longer holds.
  const events: NewEvent[] = [
    ...written.map((row) => ({ topic: row.revoked ? Topics.INDICATOR_REVOKED : Topics.INDICATOR_PUBLISHED, owner: row.owner, tlp: row.tlp, sharedWith: row.shared_with, payload: row as unknown as Record<string, unknown> })),
    ...removed.map((row) => ({ topic: Topics.INDICATOR_REVOKED, owner: row.owner, tlp: row.tlp, sharedWith: row.shared_with, payload: { ...row, revoked: true } as unknown as Record<string, unknown> })),
  ];
  return { written, events };
}

/** The observables of these indicator rows become exactly the ones given. */
export async function replaceObservables(em: EntityManager, items: { seq: number; observables: Observable[] }[]): Promise<void> {
  if (!items.length) return;
  const seqs = items.map((i) => i.seq);
  const flat = items.flatMap((i) => i.observables.map((o) => ({ seq: i.seq, ...o })));
  await query(em, `delete from indicators.observable where indicator_seq = any($1::bigint[])`, [seqs], "observables_clear");
  if (flat.length) {
    await query(
      em,
      `insert into indicators.observable (indicator_seq, type, value) select * from unnest($1::bigint[], $2::text[], $3::text[])`,
      [flat.map((f) => f.seq), flat.map((f) => f.type), flat.map((f) => f.value)],
      "observables_insert",
    );
  }
}
