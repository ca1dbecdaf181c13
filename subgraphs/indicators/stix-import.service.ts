import type { EntityManager } from "@mikro-orm/postgresql";
import type { Tlp } from "../../src/auth/tlp.js";
import { ORG_ID_PATTERN } from "../../src/auth/viewer.js";
import { asDate, query } from "../../src/db/sql.js";
import { badInput } from "../../src/errors.js";
import type { NewEvent } from "../../src/events/event.js";
import { appendEvents } from "../../src/events/outbox.js";
import type { Context } from "../../src/graphql/context.js";
import { parseStixId } from "../../src/graphql/ids.js";
import { malformedTextAt, NOT_WELL_FORMED } from "../../src/text.js";
import { MAX_SHARED_WITH } from "./indicator.validation.js";
import type { StixImportItem, StixImportStatus } from "./stix-import.status.js";
import { observablesOfPattern, reprojectIndicators, versionKeyOf, type Observable } from "./stix-object.projection.js";
import { storeVersions, type NewVersion } from "./stix-object.store.js";
import { fixedTlpOf, markingRefsOf, meaningOf, tlpOf, type MarkingMeaning } from "./stix/markings.js";
import { validateStixObject } from "./stix/schema-validation.js";
import { versionOf } from "./stix/version.js";
import { recordStixSightings } from "./sighting.service.js";

/**
 * Imports STIX 2.1 objects without loss. Every object is validated against the OASIS schemas and kept
 * verbatim under its own id and version, per owner: the same version again changes nothing, a newer
 * one supersedes, an older one is kept as history and never overwrites, a revoked object stays
 * revoked. Each object's TLP comes from its own markings (the most restrictive, object or granular);
 * objects without a TLP marking take the caller's level; a marking the hub cannot map refuses the
 * object. Objects are independent: one refused object never holds back another. Indicators and
 * sightings are projected into their tables in the same transaction as the store.
 */

/** Up to this many objects the import runs within the call; above, it answers `pending` and runs on. */
export const IMPORT_WITHIN_CALL = 1000;
/** Objects stored per transaction: each chunk's results are in the status as soon as it commits. */
const CHUNK = 2500;
/** Imports of at least this many objects update the planner's statistics when they end. */
const ANALYZE_AFTER = 1000;
/** A pending import whose runner has not been heard of for this long has stopped (its process ended). */
const STALE_AFTER_MS = 120_000;

export interface ImportOptions {
  tlp: Tlp;
  sharedWith?: readonly string[] | null;
}

/** An object that passed every check: the version to store, but for whom it is shared with. */
interface Planned extends Omit<NewVersion, "sharedWith"> {
  index: number;
  /** An indicator's observables, from the pattern parsed when it was checked. */
  observables?: Observable[];
}

interface JobRow {
  id: string;
  owner: string;
  status: "pending" | "complete";
  total_count: number;
  success_count: number;
  failure_count: number;
  request_timestamp: Date | string;
  heartbeat_at: Date | string;
}

const versionText = (o: unknown): string | null => {
  const r = (o ?? {}) as Record<string, unknown>;
  return typeof r.modified === "string" ? r.modified : typeof r.created === "string" ? r.created : null;
};
const idText = (o: unknown): string => {
  const id = (o as Record<string, unknown> | null)?.id;
  return typeof id === "string" ? id.slice(0, 300) : "";
};

export class StixImportService {
  constructor(private readonly ctx: Context) {}

  /**
   * Starts an import of `objects` (the `objects` of a bundle or a TAXII envelope) and answers its
   * status: complete for up to IMPORT_WITHIN_CALL objects, else pending, to be polled.
   */
  async start(objects: unknown, options: ImportOptions): Promise<StixImportStatus> {
    if (!Array.isArray(objects)) throw badInput("objects: must be a list of STIX objects", "objects");
    const max = this.ctx.hub.config.limits.MAX_IMPORT_OBJECTS;
    if (objects.length > max) throw badInput(`objects: at most ${max} objects per import (got ${objects.length})`, "objects");
    const sharedWith = [...new Set(options.sharedWith ?? [])];
    if (sharedWith.length > MAX_SHARED_WITH) throw badInput(`sharedWith: at most ${MAX_SHARED_WITH} orgs`, "sharedWith");
    const unknownAt = sharedWith.findIndex((org) => !ORG_ID_PATTERN.test(org));
    if (unknownAt !== -1) throw badInput(`sharedWith[${unknownAt}]: not an org id`, `sharedWith[${unknownAt}]`);
    if (sharedWith.length) {
      const members = await this.ctx.hub.orgs.kinds(this.ctx.em, sharedWith);
      const at = sharedWith.findIndex((org) => !members.has(org));
      if (at !== -1) throw badInput(`sharedWith[${at}]: '${sharedWith[at]}' is not a member org`, `sharedWith[${at}]`);
    }
    const owner = this.ctx.viewer.org;
    const [job] = await query<{ id: string }>(
      this.ctx.em,
      `insert into indicators.import_job (owner, status, total_count) values ($1, 'pending', $2) returning id`,
      [owner, objects.length],
      "import_job_create",
    );
    const run = this.run(job!.id, objects, { tlp: options.tlp, sharedWith });
    if (objects.length <= IMPORT_WITHIN_CALL) await run;
    else {
      // Runs on after the answer, on a unit of work of its own; its progress is in the job row.
      run.catch((err) => this.ctx.hub.log.error({ err, job: job!.id, requestId: this.ctx.requestId }, "STIX import failed"));
    }
    return (await this.status(job!.id))!;
  }

  /** The status of an import of the viewer's org (null for any other: it does not exist for them). */
  async status(id: string): Promise<StixImportStatus | null> {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)) return null;
    const [row] = await query<JobRow>(
      this.ctx.em.fork(),
      `select * from indicators.import_job where id = $1 and owner = $2`,
      [id, this.ctx.viewer.org],
      "import_job_status",
    );
    if (!row) return null;
    const stale = row.status === "pending" && Date.now() - asDate(row.heartbeat_at).getTime() > STALE_AFTER_MS;
    const pendingCount = row.total_count - row.success_count - row.failure_count;
    const complete = stale || row.status === "complete";
    // While an import runs, its failures so far; its successes once it is complete (a 50,000-object
    // import polled every second would otherwise send megabytes each time).
    const outcomes = await query<{ ok: boolean; id: string; version: string | null; property: string | null; message: string | null }>(
      this.ctx.em.fork(),
      `select ok, id, version, property, message from indicators.import_outcome where job_id = $1 and (not ok or $2::boolean) order by ord`,
      [id, complete],
      "import_outcomes",
    );
    const item = (o: (typeof outcomes)[number]): StixImportItem => ({ id: o.id, version: o.version, property: o.property, message: o.message });
    const failures = outcomes.filter((o) => !o.ok).map(item);
    return {
      id: row.id,
      // An import whose process stopped will not finish: its remaining objects were not stored.
      status: complete ? "complete" : "pending",
      requestTimestamp: asDate(row.request_timestamp),
      totalCount: row.total_count,
      successCount: row.success_count,
      failureCount: row.failure_count + (stale ? pendingCount : 0),
      pendingCount: stale ? 0 : pendingCount,
      successes: outcomes.filter((o) => o.ok).map(item),
      failures: stale
        ? [...failures, { id: "", version: null, property: null, message: `${pendingCount} objects were not stored: the import stopped before them; send them again` }]
        : failures,
    };
  }

  private async run(jobId: string, objects: unknown[], options: { tlp: Tlp; sharedWith: string[] }): Promise<void> {
    const em = this.ctx.em.fork();
    const owner = this.ctx.viewer.org;
    const envelopeMarkings = markingsIn(objects);
    const seen = new Set<string>();
    for (let start = 0; start < objects.length; start += CHUNK) {
      const chunk = objects.slice(start, start + CHUNK);
      const stored = await storedMarkings(em, owner, chunk, envelopeMarkings);
      const lookup = (id: string) => envelopeMarkings.get(id) ?? stored.get(id);
      const successes: StixImportItem[] = [];
      const failures: StixImportItem[] = [];
      const planned: Planned[] = [];
      chunk.forEach((object, i) => {
        const plan = planObject(object, start + i, options.tlp, lookup);
        if ("key" in plan) planned.push(plan);
        else failures.push(plan);
      });
      await em.transactional(async (tx) => {
        const { ok, refused } = await this.store(tx, owner, planned, options.sharedWith, seen);
        successes.push(...ok);
        failures.push(...refused);
        const outcomes = [...successes.map((o) => ({ ...o, ok: true })), ...failures.map((o) => ({ ...o, ok: false }))];
        await query(
          tx,
          `insert into indicators.import_outcome (job_id, ord, ok, id, version, property, message)
           select $1, $2::int + o.ord::int - 1, o.ok, o.id, o.version, o.property, o.message
             from unnest($3::boolean[], $4::text[], $5::text[], $6::text[], $7::text[]) with ordinality as o(ok, id, version, property, message, ord)`,
          [jobId, start, outcomes.map((o) => o.ok), outcomes.map((o) => o.id), outcomes.map((o) => o.version ?? null), outcomes.map((o) => o.property ?? null), outcomes.map((o) => o.message ?? null)],
          "import_outcomes_insert",
        );
        await query(
          tx,
          `update indicators.import_job set success_count = success_count + $2, failure_count = failure_count + $3, heartbeat_at = now(),
             status = case when success_count + $2 + failure_count + $3 >= total_count then 'complete' else status end,
             completed_at = case when success_count + $2 + failure_count + $3 >= total_count then now() end
           where id = $1`,
          [jobId, successes.length, failures.length],
          "import_job_progress",
        );
      });
    }
    if (!objects.length) await query(em, `update indicators.import_job set status = 'complete', completed_at = now() where id = $1`, [jobId], "import_job_empty");
    // A bulk load leaves the planner's statistics behind (autovacuum catches up within minutes): reads
    // planned on them in the meantime, such as a TAXII page's newest-version check, can take a scan per
    // row. Large imports bring the statistics up to date themselves.
    if (objects.length >= ANALYZE_AFTER) await query(em, `analyze indicators.stix_object, indicators.indicator, indicators.observable`, [], "import_analyze");
  }

  /** Stores the planned objects of one chunk and projects what changed; answers per object. */
  private async store(
    em: EntityManager,
    owner: string,
    planned: Planned[],
    sharedWith: string[],
    seen: Set<string>,
  ): Promise<{ ok: StixImportItem[]; refused: StixImportItem[] }> {
    const ok: StixImportItem[] = [];
    const refused: StixImportItem[] = [];
    if (!planned.length) return { ok, refused };
    const held = await query<{ id: string; version_key: string; revoked: boolean }>(
      em,
      `select id, version_key, revoked from indicators.stix_object where owner = $1 and id = any($2::text[])`,
      [owner, [...new Set(planned.map((p) => p.id))]],
      "stix_held_versions",
    );
    const versions = new Map<string, Set<string>>();
    const newest = new Map<string, { key: string; revoked: boolean }>();
    const note = (id: string, key: string, revoked: boolean) => {
      (versions.get(id) ?? versions.set(id, new Set()).get(id)!).add(key);
      const top = newest.get(id);
      if (!top || key > top.key) newest.set(id, { key, revoked });
    };
    for (const h of held) note(h.id, h.version_key, h.revoked);

    const toInsert: Planned[] = [];
    for (const p of planned) {
      const item = { id: p.id, version: p.version };
      if (versions.get(p.id)?.has(p.key) || seen.has(`${p.id}\u0000${p.key}`)) {
        ok.push({ ...item, message: "already held: nothing changed" });
        continue;
      }
      const top = newest.get(p.id);
      if (top && p.key > top.key && top.revoked && !p.revoked) {
        refused.push({ ...item, property: "revoked", message: "the held version is revoked, and a revoked object cannot be brought back" });
        continue;
      }
      ok.push(top && p.key < top.key ? { ...item, message: "an older version than the one held: kept as history, the newer one stands" } : item);
      note(p.id, p.key, p.revoked);
      seen.add(`${p.id}\u0000${p.key}`);
      toInsert.push(p);
    }
    if (!toInsert.length) return { ok, refused };
    await storeVersions(em, owner, toInsert.map((p) => ({ ...p, sharedWith })));
    const events: NewEvent[] = [];
    const indicators = toInsert.filter((p) => p.type === "indicator");
    const parsed = new Map(indicators.flatMap((p) => (p.observables ? [[versionKeyOf(p.id, p.key), p.observables] as const] : [])));
    events.push(...(await reprojectIndicators(em, owner, [...new Set(indicators.map((p) => p.id))], parsed)).events);
    const sightings = toInsert.filter((p) => p.type === "sighting" && parseStixId("indicator", p.object.sighting_of_ref) && newest.get(p.id)?.key === p.key);
    if (sightings.length) {
      const recorded = await recordStixSightings(
        em,
        owner,
        sightings.map((p) => {
          const o = p.object;
          return {
            id: p.id,
            indicatorId: String(o.sighting_of_ref),
            count: typeof o.count === "number" ? o.count : null,
            firstSeen: typeof o.first_seen === "string" ? new Date(o.first_seen) : null,
            lastSeen: typeof o.last_seen === "string" ? new Date(o.last_seen) : null,
            tlp: p.tlp,
            sharedWith,
          };
        }),
      );
      // planObject checked what recordStixSightings checks: a refusal here is a fault, and rolls the chunk back.
      if (recorded.errors.length) throw new Error(`sighting refused after planning: ${recorded.errors[0]!.message}`);
      events.push(...recorded.events);
    }
    await appendEvents(em, events);
    return { ok, refused };
  }
}

/** The marking definitions sent in this envelope, by id, with what each means. */
function markingsIn(objects: unknown[]): Map<string, MarkingMeaning> {
  const found = new Map<string, MarkingMeaning>();
  for (const o of objects) {
    const r = o as Record<string, unknown> | null;
    if (r && typeof r === "object" && r.type === "marking-definition" && typeof r.id === "string") found.set(r.id, meaningOf(r));
  }
  return found;
}

/** Marking definitions referred to in this chunk that the envelope lacks: from what the owner holds. */
async function storedMarkings(em: EntityManager, owner: string, chunk: unknown[], inEnvelope: Map<string, MarkingMeaning>): Promise<Map<string, MarkingMeaning>> {
  const wanted = new Set<string>();
  for (const o of chunk) {
    const r = o as Record<string, unknown> | null;
    if (!r || typeof r !== "object") continue;
    const refs = [...(Array.isArray(r.object_marking_refs) ? r.object_marking_refs : []), ...(Array.isArray(r.granular_markings) ? r.granular_markings.map((g) => (g as Record<string, unknown>)?.marking_ref) : [])];
    for (const ref of refs) if (typeof ref === "string" && !inEnvelope.has(ref)) wanted.add(ref);
  }
  if (!wanted.size) return new Map();
  const rows = await query<{ id: string; object: Record<string, unknown> }>(
    em,
    `select distinct on (id) id, object from indicators.stix_object where owner = $1 and type = 'marking-definition' and id = any($2::text[]) order by id, version_key desc`,
    [owner, [...wanted]],
    "stix_held_markings",
  );
  return new Map(rows.map((r) => [r.id, meaningOf(r.object)]));
}

/** One object checked and made ready to store, or the reason it is refused. */
function planObject(object: unknown, index: number, defaultTlp: Tlp, lookup: (id: string) => MarkingMeaning | undefined): Planned | StixImportItem {
  const refuse = (property: string, message: string): StixImportItem => ({ id: idText(object), version: versionText(object), property, message: `objects[${index}].${property}: ${message}` });
  if (object === null || typeof object !== "object" || Array.isArray(object)) return { id: "", version: null, property: "", message: `objects[${index}]: not a JSON object` };
  const o = object as Record<string, unknown>;
  const malformed = malformedTextAt(o);
  if (malformed !== null) return refuse(malformed, NOT_WELL_FORMED);
  const problems = validateStixObject(o);
  if (problems.length) {
    const [first, ...more] = problems;
    return refuse(first!.property, [first!.message, ...more.map((p) => `${p.property}: ${p.message}`)].join("; "));
  }
  let observables: Observable[] | undefined;
  if (o.type === "indicator" && o.pattern_type === "stix") {
    const parsed = observablesOfPattern(String(o.pattern));
    if (!parsed.ok) return refuse("pattern", parsed.message);
    observables = parsed.observables;
  }
  if (o.type === "sighting" && typeof o.first_seen === "string" && typeof o.last_seen === "string" && Date.parse(o.last_seen) < Date.parse(o.first_seen)) {
    return refuse("last_seen", "before first_seen");
  }
  const marked = tlpOf(o, lookup);
  if (!marked.ok) return refuse(marked.property, marked.message);
  const { version, key } = versionOf(o);
  const tlp = marked.tlp ?? defaultTlp;
  return {
    index,
    id: String(o.id),
    type: String(o.type),
    version,
    key,
    specVersion: typeof o.spec_version === "string" ? o.spec_version : "2.1",
    tlp,
    // Exports add the official TLP 2.0 marking unless the object carries one of OASIS's own at its level.
    tlpMarked: markingRefsOf(o).some((ref) => fixedTlpOf(ref.id) === tlp),
    revoked: o.revoked === true,
    object: o,
    observables,
  };
}
