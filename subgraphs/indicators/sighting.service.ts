import { randomUUID } from "node:crypto";
import type { EntityManager } from "@mikro-orm/postgresql";
import { TLP_LEVELS, visibleToSql, type Tlp } from "../../src/auth/tlp.js";
import { ORG_ID_PATTERN } from "../../src/auth/viewer.js";
import { asDate, Params, query } from "../../src/db/sql.js";
import type { NewEvent } from "../../src/events/event.js";
import { appendEvents } from "../../src/events/outbox.js";
import { Topics } from "../../src/events/topics.js";
import { InputError } from "../../src/graphql/common.types.js";
import type { Context } from "../../src/graphql/context.js";
import { parseStixId } from "../../src/graphql/ids.js";
import { malformedTextAt, NOT_WELL_FORMED } from "../../src/text.js";
import { parseIndicatorId } from "./indicator.row.js";
import { identityIdOf, TLP_MARKING_IDS } from "./indicator.stix.js";
import { MAX_SHARED_WITH } from "./indicator.validation.js";
import type { ReportSightingArgs } from "./sighting.input.js";
import type { ReportSightingResult, Sighting, SightingSummary } from "./sighting.type.js";

export const TOPIC_SIGHTING_REPORTED = Topics.SIGHTING_REPORTED;
/** STIX 2.1's bounds of a sighting's count. */
export const MAX_COUNT = 999_999_999;

/** A row of indicators.sighting as Postgres returns it (and as `sighting.reported` events carry it). */
export interface SightingRow {
  id: string;
  owner: string;
  indicator_id: string;
  count: number | null;
  first_seen: Date | string;
  last_seen: Date | string;
  tlp: Tlp;
  shared_with: string[];
  created_at: Date | string;
}

function toSighting(row: SightingRow): Sighting {
  return {
    id: `sighting--${row.id}`,
    indicatorId: `indicator--${row.indicator_id}`,
    owner: row.owner,
    count: row.count,
    firstSeen: asDate(row.first_seen),
    lastSeen: asDate(row.last_seen),
    tlp: row.tlp,
    sharedWith: row.shared_with,
    createdAt: asDate(row.created_at),
  };
}

/** A STIX timestamp as stix_object orders versions: nine fractional digits, UTC. */
const versionKey = (d: Date) => `${d.toISOString().slice(0, 23)}000000Z`;

/** The STIX 2.1 `sighting` object of a reported sighting, marked with its TLP 2.0 marking. */
function sightingObject(row: SightingRow): Record<string, unknown> {
  const created = asDate(row.created_at).toISOString();
  return {
    type: "sighting",
    spec_version: "2.1",
    id: `sighting--${row.id}`,
    created,
    modified: created,
    created_by_ref: identityIdOf(row.owner),
    sighting_of_ref: `indicator--${row.indicator_id}`,
    ...(row.count === null ? {} : { count: row.count }),
    first_seen: asDate(row.first_seen).toISOString(),
    last_seen: asDate(row.last_seen).toISOString(),
    object_marking_refs: [TLP_MARKING_IDS[row.tlp]],
  };
}

const eventOf = (row: SightingRow): NewEvent => ({
  topic: TOPIC_SIGHTING_REPORTED,
  owner: row.owner,
  tlp: row.tlp,
  sharedWith: row.shared_with,
  payload: row as unknown as Record<string, unknown>,
});

export class SightingService {
  constructor(private readonly ctx: Context) {}

  /**
   * Stores a sighting by the viewer's org of an indicator it may see, its STIX object and its event,
   * in one transaction. Every field at fault is reported; an indicator the viewer may not see is
   * "not found", as one that does not exist.
   */
  async report(args: ReportSightingArgs): Promise<ReportSightingResult> {
    const { viewer, hub, em } = this.ctx;
    const errors: InputError[] = [];
    const uuid = malformedTextAt(args.indicatorId) === null ? parseIndicatorId(args.indicatorId) : null;
    if (uuid === null) errors.push(new InputError("indicatorId: not an indicator id (indicator--<uuid>)", "indicatorId"));
    if (!Number.isInteger(args.count) || args.count < 1 || args.count > MAX_COUNT) {
      errors.push(new InputError(`count: must be from 1 to ${MAX_COUNT}`, "count"));
    }
    const latest = Date.now() + hub.config.auth.AUTH_CLOCK_SKEW_SECONDS * 1000;
    if (args.firstSeen.getTime() > latest) errors.push(new InputError("firstSeen: in the future", "firstSeen"));
    if (args.lastSeen.getTime() > latest) errors.push(new InputError("lastSeen: in the future", "lastSeen"));
    else if (args.lastSeen < args.firstSeen) errors.push(new InputError("lastSeen: before firstSeen", "lastSeen"));
    const sharedWith = await this.checkSharedWith(args.sharedWith ?? [], errors);
    if (uuid !== null && !(await this.visible(uuid))) {
      errors.push(new InputError(`indicatorId: '${args.indicatorId}' not found`, "indicatorId", "NOT_FOUND"));
    }
    if (errors.length) return { sighting: null, errors };

    const row = await em.transactional(async (tx) => {
      const [row] = await query<SightingRow>(
        tx,
        `insert into indicators.sighting (id, owner, indicator_id, count, first_seen, last_seen, tlp, shared_with)
         values ($1::uuid, $2, $3::uuid, $4::int, $5::timestamptz, $6::timestamptz, $7, $8::text[]) returning *`,
        [randomUUID(), viewer.org, uuid, args.count, args.firstSeen, args.lastSeen, args.tlp, sharedWith],
        "sighting_insert",
      );
      const object = sightingObject(row!);
      await query(
        tx,
        `insert into indicators.stix_object (owner, id, type, version, version_key, spec_version, tlp, shared_with, tlp_marked, object)
         values ($1, $2, 'sighting', $3, $4, '2.1', $5, $6::text[], true, $7::jsonb)`,
        [row!.owner, object.id, object.created, versionKey(asDate(row!.created_at)), row!.tlp, row!.shared_with, JSON.stringify(object)],
        "sighting_stix_insert",
      );
      await appendEvents(tx, [eventOf(row!)]);
      return row!;
    });
    return { sighting: toSighting(row), errors: [] };
  }

  /** Members among `orgs`, deduplicated and without the reporter; each bad entry is reported. */
  private async checkSharedWith(orgs: string[], errors: InputError[]): Promise<string[]> {
    if (orgs.length > MAX_SHARED_WITH) {
      errors.push(new InputError(`sharedWith: at most ${MAX_SHARED_WITH} orgs`, "sharedWith"));
      return [];
    }
    const bad = orgs.findIndex((org) => !ORG_ID_PATTERN.test(org));
    if (bad !== -1) {
      errors.push(new InputError(`sharedWith[${bad}]: not an org id`, `sharedWith[${bad}]`));
      return [];
    }
    const named = [...new Set(orgs)].filter((org) => org !== this.ctx.viewer.org).sort();
    if (!named.length) return [];
    const members = await this.ctx.hub.orgs.kinds(this.ctx.em, named);
    const unknown = orgs.findIndex((org) => org !== this.ctx.viewer.org && !members.has(org));
    if (unknown !== -1) errors.push(new InputError(`sharedWith[${unknown}]: '${orgs[unknown]}' is not a member org`, `sharedWith[${unknown}]`));
    return named;
  }

  /** Whether the viewer may see some org's copy of the indicator `uuid`. */
  private async visible(uuid: string): Promise<boolean> {
    const params = new Params();
    const visible = visibleToSql(this.ctx.viewer, params);
    const rows = await query(this.ctx.em, `select 1 from indicators.indicator where id = ${params.add(uuid)}::uuid and ${visible} limit 1`, params.values, "sighting_indicator_visible");
    return rows.length > 0;
  }

  /** The totals of the sightings of each indicator uuid that the viewer may see, in one statement. */
  async summaries(uuids: readonly string[]): Promise<SightingSummary[]> {
    const params = new Params();
    const visible = visibleToSql(this.ctx.viewer, params);
    const rows = await query<{ indicator_id: string; count: string; sightings: number; orgs: string[]; first_seen: Date | string; last_seen: Date | string }>(
      this.ctx.em,
      `select indicator_id, coalesce(sum(count), 0)::text as count, count(*)::int as sightings, array_agg(distinct owner order by owner) as orgs,
              min(first_seen) as first_seen, max(last_seen) as last_seen
         from indicators.sighting where indicator_id = any(${params.add(uuids)}::uuid[]) and ${visible}
        group by indicator_id`,
      params.values,
      "sighting_summaries",
    );
    const byId = new Map(rows.map((r) => [r.indicator_id, r]));
    return uuids.map((uuid) => {
      const r = byId.get(uuid);
      return r
        ? { count: Number(r.count), sightings: r.sightings, orgs: r.orgs, firstSeen: asDate(r.first_seen), lastSeen: asDate(r.last_seen) }
        : { count: 0, sightings: 0, orgs: [], firstSeen: null, lastSeen: null };
    });
  }
}

/** One STIX `sighting` object whose sighting_of_ref is an indicator, as an import hands it over. */
export interface StixSightingItem {
  /** The STIX id, sighting--<uuid>. */
  id: string;
  /** sighting_of_ref, indicator--<uuid>. */
  indicatorId: string;
  count: number | null;
  firstSeen: Date | null;
  lastSeen: Date | null;
  tlp: Tlp;
  sharedWith: string[];
}

export interface StixSightingError {
  /** The item's index in `items`. */
  index: number;
  /** The STIX property at fault. */
  property: string;
  message: string;
}

/**
 * Stores the sighting rows of imported STIX `sighting` objects of `owner`, in the caller's transaction,
 * after the caller has stored their objects in stix_object: called with a newer version of a sighting
 * already held, it replaces that row. A missing first_seen or last_seen is taken from the newest
 * stored version's `created` (both, when both are missing). Items refused are reported and left out;
 * the events of those stored are returned for the caller to append last in its transaction.
 */
export async function recordStixSightings(em: EntityManager, owner: string, items: StixSightingItem[]): Promise<{ errors: StixSightingError[]; events: NewEvent[] }> {
  const errors: StixSightingError[] = [];
  const good: { id: string; indicator_id: string; count: number | null; first_seen: string | null; last_seen: string | null; tlp: Tlp; shared_with: string[] }[] = [];
  items.forEach((item, index) => {
    const id = parseStixId("sighting", item.id);
    const indicatorId = parseIndicatorId(item.indicatorId);
    const problem = (property: string, message: string) => errors.push({ index, property, message: `${property}: ${message}` });
    if (id === null) return problem("id", "not a sighting id (sighting--<uuid>)");
    if (indicatorId === null) return problem("sighting_of_ref", "not an indicator id (indicator--<uuid>)");
    if (item.count !== null && !(Number.isInteger(item.count) && item.count >= 0 && item.count <= MAX_COUNT)) return problem("count", `must be from 0 to ${MAX_COUNT}`);
    if (item.firstSeen && item.lastSeen && item.lastSeen < item.firstSeen) return problem("last_seen", "before first_seen");
    if (!TLP_LEVELS.includes(item.tlp)) return problem("object_marking_refs", `unknown TLP level '${item.tlp}'`);
    good.push({
      id,
      indicator_id: indicatorId,
      count: item.count,
      first_seen: item.firstSeen?.toISOString() ?? null,
      last_seen: item.lastSeen?.toISOString() ?? null,
      tlp: item.tlp,
      shared_with: [...new Set(item.sharedWith)].filter((org) => org !== owner).sort(),
    });
  });
  if (!good.length) return { errors, events: [] };
  // The last of one id in a batch wins, as a newer version would.
  const latest = [...new Map(good.map((g) => [g.id, g])).values()];
  const rows = await query<SightingRow>(
    em,
    `insert into indicators.sighting as cur (id, owner, indicator_id, count, first_seen, last_seen, tlp, shared_with)
     select i.id, $1, i.indicator_id, i.count,
            coalesce(i.first_seen, least(c.created, i.last_seen), now()), coalesce(i.last_seen, greatest(c.created, i.first_seen), now()),
            i.tlp, array(select jsonb_array_elements_text(i.shared_with))
       from rows from (jsonb_to_recordset($2::jsonb) as (id uuid, indicator_id uuid, count int, first_seen timestamptz,
              last_seen timestamptz, tlp text, shared_with jsonb)) with ordinality as i(id, indicator_id, count, first_seen, last_seen, tlp, shared_with, ord)
       left join lateral (select coalesce((o.object->>'created')::timestamptz, o.date_added) as created from indicators.stix_object o
                           where o.owner = $1 and o.id = 'sighting--' || i.id order by o.version_key desc limit 1) c on true
      order by i.ord
     on conflict (owner, id) do update set
       indicator_id = excluded.indicator_id, count = excluded.count, first_seen = excluded.first_seen,
       last_seen = excluded.last_seen, tlp = excluded.tlp, shared_with = excluded.shared_with
     returning *`,
    [owner, JSON.stringify(latest)],
    "sighting_stix_upsert",
  );
  return { errors, events: rows.map(eventOf) };
}
