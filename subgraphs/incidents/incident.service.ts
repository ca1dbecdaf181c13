import { LockMode } from "@mikro-orm/core";
import type { EntityManager } from "@mikro-orm/postgresql";
import { accountVisibleToSql } from "../../src/auth/account-visibility.js";
import { canSee, visibleToSql } from "../../src/auth/tlp.js";
import { ORG_ID_PATTERN, type Viewer } from "../../src/auth/viewer.js";
import { Params, query } from "../../src/db/sql.js";
import { badInput } from "../../src/errors.js";
import { encodeCursor } from "../../src/events/cursor.js";
import type { HubEvent } from "../../src/events/event.js";
import { stillVisibleBy } from "../../src/events/event-stream.js";
import { appendEvents } from "../../src/events/outbox.js";
import { Topics, type Topic } from "../../src/events/topics.js";
import { InputError } from "../../src/graphql/common.types.js";
import type { Context } from "../../src/graphql/context.js";
import { loaderFor } from "../../src/graphql/loader.js";
import { SEVERITIES, SEVERITY_RANK, type IncidentEventKind, type IncidentStatus, type TimelineKind } from "./incident.enums.js";
import type { IncidentFeedFilter, IncidentFilter, IncidentInput, IncidentUpdate } from "./incident.input.js";
import {
  audienceOf,
  pageCursor,
  parseAccountRef,
  parseIncidentId,
  parseIndicatorRef,
  parsePageCursor,
  toIncident,
  type EntryMark,
  type IncidentEventPayload,
  type IncidentRow,
} from "./incident.row.js";
import type { Incident, IncidentConnection, IncidentEvent, IncidentResult, IncidentTimes, TimelineEntry } from "./incident.type.js";
import { checkAgencies, checkNote, checkReport, checkTerms, checkUpdate, malformedId, type IncidentValues } from "./incident.validation.js";
import { caseTimes, moveStatus } from "./incident.workflow.js";
import { IncidentEntity, rowOf } from "./incident.entity.js";
import { ACCOUNT_MARKINGS } from "./account-marking.projection.js";
import { INDICATOR_MARKINGS } from "./indicator-marking.projection.js";

const DEFAULT_PAGE = 50;
/** `Indicator.incidents` lists the newest this many; `incidents` pages through the rest. */
const MAX_INCIDENTS_PER_INDICATOR = 500;
const MAX_INCIDENTS_PER_ACCOUNT = 500;
const MAX_PAGE = 500;

/** Accounts and their flags as projected here (account-marking.projection.ts). */
const ACCOUNT_FLAGS = "incidents.account_flag_marking";

/** Every topic an incident's events are written on; the feed reads them all. */
export const INCIDENT_TOPICS: readonly Topic[] = [
  Topics.INCIDENT_REPORTED,
  Topics.INCIDENT_UPDATED,
  Topics.INCIDENT_NOTE,
  Topics.INCIDENT_REFERRED,
  Topics.INCIDENT_CLOSED,
];
const TOPIC_OF: Record<IncidentEventKind, Topic> = {
  REPORTED: Topics.INCIDENT_REPORTED,
  UPDATED: Topics.INCIDENT_UPDATED,
  NOTE: Topics.INCIDENT_NOTE,
  REFERRED: Topics.INCIDENT_REFERRED,
  CLOSED: Topics.INCIDENT_CLOSED,
};
const KIND_OF = Object.fromEntries(Object.entries(TOPIC_OF).map(([kind, topic]) => [topic, kind])) as Record<string, IncidentEventKind>;

/** The TLP rule over incidents: the owner, open TLP, and the audience (shared-with orgs and referred agencies). */
const INCIDENT_COLUMNS = { owner: "owner", tlp: "tlp", sharedWith: "audience" };
const AUDIENCE_COLUMNS = { owner: "owner", tlp: "tlp", sharedWith: "shared_with" };
/** The same, on `indicator_marking m` beside the incident table. */
const MARKING_COLUMNS = { owner: "m.owner", tlp: "m.tlp", sharedWith: "m.shared_with" };

const NOT_FOUND = (field = "id") => new InputError(`${field}: no incident with this id`, field, "NOT_FOUND");
const refused = (error: InputError): IncidentResult => ({ incident: null, error });

interface TimelineRow {
  id: number;
  incident_id: string;
  kind: TimelineKind;
  author_org: string;
  at: Date | string;
  from_status: IncidentStatus | null;
  to_status: IncidentStatus | null;
  text: string | null;
  agencies: string[];
}

interface NewEntry {
  kind: TimelineKind;
  fromStatus?: IncidentStatus | null;
  toStatus?: IncidentStatus | null;
  text?: string | null;
  agencies?: string[];
}

const valuesOf = (row: IncidentRow): IncidentValues => ({
  title: row.title,
  description: row.description,
  severity: row.severity,
  tlp: row.tlp,
  sharedWith: row.shared_with,
  referredTo: row.referred_to,
  sourceRef: row.source_ref,
  indicatorIds: row.indicator_ids,
  accountIds: row.account_ids,
  occurredAt: row.occurred_at === null ? null : new Date(row.occurred_at),
  detectedAt: row.detected_at === null ? null : new Date(row.detected_at),
  determination: row.determination,
  investigationStatus: row.investigation_status,
  incidentTypes: row.incident_types,
  criticality: row.criticality,
  detectionMethods: row.detection_methods,
  affectedProducts: row.affected_products,
});

/** The stored columns of IncidentValues, as the JSON parameter of the writes below. */
const columnsOf = (v: IncidentValues) => ({
  title: v.title,
  description: v.description,
  severity: v.severity,
  tlp: v.tlp,
  shared_with: v.sharedWith,
  referred_to: v.referredTo,
  source_ref: v.sourceRef,
  indicator_ids: v.indicatorIds,
  account_ids: v.accountIds,
  occurred_at: v.occurredAt?.toISOString() ?? null,
  detected_at: v.detectedAt?.toISOString() ?? null,
  determination: v.determination,
  investigation_status: v.investigationStatus,
  incident_types: v.incidentTypes,
  criticality: v.criticality,
  detection_methods: v.detectionMethods,
  affected_products: v.affectedProducts,
});

const list = (field: string) => `array(select jsonb_array_elements_text(v.${field}))`;
/** IncidentValues as one JSON parameter (`$1`), for the writes below. */
const VALUES = `jsonb_to_record($1::jsonb) as v(title text, description text, severity text, tlp text, shared_with jsonb,
  referred_to jsonb, source_ref text, indicator_ids jsonb, account_ids jsonb, occurred_at timestamptz, detected_at timestamptz,
  determination text, investigation_status text, incident_types jsonb, criticality smallint, detection_methods jsonb,
  affected_products jsonb)`;
const COLUMNS = ["title", "description", "severity", "tlp", "shared_with", "referred_to", "source_ref", "indicator_ids", "account_ids", "occurred_at",
  "detected_at", "determination", "investigation_status", "incident_types", "criticality", "detection_methods", "affected_products"] as const;
const LISTS = new Set(["shared_with", "referred_to", "incident_types", "detection_methods", "affected_products"]);
const UUID_LISTS = new Set(["indicator_ids", "account_ids"]);
const valueOf = (c: string) => (UUID_LISTS.has(c) ? `${list(c)}::uuid[]` : LISTS.has(c) ? list(c) : `v.${c}`);

/**
 * Who reads a timeline entry, on an incident the viewer sees (as of an event, on the feed): everyone
 * reads the reporter's entries; an agency's notes are read by the reporter, the agencies the incident
 * is referred to and their author; a referral is read by the reporter and the agencies it named.
 */
function readable(entry: Pick<EntryMark, "kind" | "author_org" | "agencies">, owner: string, referredTo: readonly string[], org: string): boolean {
  if (owner === org) return true;
  if (entry.kind === "REFERRED") return entry.agencies.includes(org);
  return entry.author_org === owner || entry.author_org === org || referredTo.includes(org);
}

/**
 * An incident event as this org may learn of it, from the timeline entries its change wrote: none
 * readable, and the event is not for it (nobody learns of a note or a referral they may not read); a
 * resend that also referred is an update to those the referral did not name.
 */
function kindSeen(event: HubEvent, org: string): IncidentEventKind | null {
  const p = event.payload as unknown as IncidentEventPayload;
  // An event written before changes carried their entries shows to no one: nothing says who may read it.
  const shown = (p.entries ?? []).filter((e) => readable(e, p.owner, p.referred_to, org));
  if (!shown.length) return null;
  const kind = KIND_OF[event.topic]!;
  return kind === "REFERRED" && !shown.some((e) => e.kind === "REFERRED") ? "UPDATED" : kind;
}

/** The first of `named` that is not an agency, as the error for its place in the list as sent. */
function firstNonAgency(kinds: ReadonlyMap<string, string>, named: readonly string[], sent: readonly string[] | null | undefined, field: string): InputError | null {
  const org = named.find((o) => kinds.get(o) !== "AGENCY");
  if (org === undefined) return null;
  const at = `${field}[${(sent ?? []).indexOf(org)}]`;
  return new InputError(`${at}: '${org}' is not an agency`, at);
}

export class IncidentService {
  constructor(private readonly ctx: Context) {}

  private get em(): EntityManager {
    return this.ctx.em;
  }

  private get viewer(): Viewer {
    return this.ctx.viewer;
  }

  async byIds(ids: readonly string[]): Promise<(Incident | null)[]> {
    const uuids = ids.map(parseIncidentId);
    const wanted = uuids.filter((u): u is string => u !== null);
    let rows: IncidentRow[] = [];
    if (wanted.length) {
      const params = new Params();
      rows = await query<IncidentRow>(
        this.em,
        `select * from incidents.incident where ${visibleToSql(this.viewer, params, INCIDENT_COLUMNS)} and id = any(${params.add(wanted)}::uuid[])`,
        params.values,
        "incidents_by_ids",
      );
    }
    const byId = new Map(rows.map((r) => [r.id, r]));
    return uuids.map((u) => {
      const row = u ? byId.get(u) : undefined;
      return row ? toIncident(row, this.viewer) : null;
    });
  }

  async byId(id: string): Promise<Incident | null> {
    return (await this.byIds([id]))[0] ?? null;
  }

  async list(filter: IncidentFilter | null | undefined, first: number | null | undefined, after: string | null | undefined): Promise<IncidentConnection> {
    const size = first ?? DEFAULT_PAGE;
    if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE) throw badInput(`first: must be from 1 to ${MAX_PAGE}`, "first");
    if (filter?.owner != null && !ORG_ID_PATTERN.test(filter.owner)) throw badInput("filter.owner: not an org id", "filter.owner");
    const types = filter?.types?.length ? checkTerms("filter.types", filter.types) : null;
    if (types && !types.ok) throw badInput(types.error.message, types.error.field ?? undefined);
    const beforeSeq = after ? parsePageCursor(after) : null;
    const minRank = filter?.minSeverity != null ? SEVERITY_RANK[filter.minSeverity] : null;

    const params = new Params();
    const where = `${visibleToSql(this.viewer, params, INCIDENT_COLUMNS)}
        and (${params.add(minRank === null ? null : SEVERITIES.slice(minRank))}::text[] is null or severity = any($${params.values.length}::text[]))
        and (${params.add(filter?.statuses?.length ? filter.statuses : null)}::text[] is null or status = any($${params.values.length}::text[]))
        and (${params.add(types?.ok ? types.value : null)}::text[] is null or incident_types && $${params.values.length}::text[])
        and (${params.add(filter?.owner ?? null)}::text is null or owner = $${params.values.length}::text)
        and (not ${params.add(Boolean(filter?.referredToMe))}::boolean or referred_to @> array[${params.add(this.viewer.org)}::text])
        and (${params.add(filter?.modifiedSince ?? null)}::timestamptz is null or modified_at >= $${params.values.length}::timestamptz)`;
    const filterValues = [...params.values];
    const rows = await query<IncidentRow>(
      this.em,
      `select * from incidents.incident where ${where}
         and (${params.add(beforeSeq)}::bigint is null or seq < $${params.values.length}::bigint)
       order by seq desc limit ${params.add(size + 1)}::int`,
      params.values,
      "incidents_page",
    );
    const hasNextPage = rows.length > size;
    const edges = rows.slice(0, size).map((row) => ({ cursor: pageCursor(Number(row.seq)), node: toIncident(row, this.viewer) }));
    return {
      edges,
      pageInfo: { hasNextPage, endCursor: edges.length ? edges[edges.length - 1]!.cursor : null },
      // Counting scans every visible match: done only when the client asks for totalCount.
      count: async () => {
        const [row] = await query<{ n: number }>(this.em, `select count(*)::int as n from incidents.incident where ${where}`, filterValues, "incidents_count");
        return row!.n;
      },
    };
  }

  /**
   * Checks that the orgs named exist (and that referrals name agencies), and that every linked
   * indicator and account exists and is visible to the reporter. Returns the first fault, naming its field.
   */
  private async checkReferences(
    values: IncidentValues,
    input: { sharedWith?: string[] | null; referredTo?: string[] | null; indicatorIds?: string[] | null; accountIds?: string[] | null },
  ): Promise<InputError | null> {
    // Referrals as asked for, the reporter included: validation drops the reporter from the stored list,
    // but a reporter that is no agency naming itself asked for a referral that cannot happen.
    const referrals = [...new Set([...values.referredTo, ...(input.referredTo ?? [])])];
    const named = [...new Set([...values.sharedWith, ...referrals])];
    if (named.length) {
      const kinds = await this.ctx.hub.orgs.kinds(this.em, named);
      const at = (list: string[] | null | undefined, org: string) => (list ?? []).indexOf(org);
      for (const org of values.sharedWith) {
        if (!kinds.has(org)) return new InputError(`sharedWith[${at(input.sharedWith, org)}]: '${org}' is not a member org`, `sharedWith[${at(input.sharedWith, org)}]`);
      }
      const notAgency = firstNonAgency(kinds, referrals, input.referredTo, "referredTo");
      if (notAgency) return notAgency;
    }
    if (values.indicatorIds.length) {
      let visible = await this.visibleIndicators(values.indicatorIds);
      if (visible.size < values.indicatorIds.length) {
        // An indicator published a moment ago may not have reached the projection yet.
        await this.ctx.projections.get(INDICATOR_MARKINGS)!.sync();
        visible = await this.visibleIndicators(values.indicatorIds);
      }
      const missing = values.indicatorIds.find((u) => !visible.has(u));
      if (missing) {
        const i = (input.indicatorIds ?? []).findIndex((id) => parseIndicatorRef(id) === missing);
        return new InputError(`indicatorIds[${i}]: no indicator with this id`, `indicatorIds[${i}]`, "NOT_FOUND");
      }
    }
    if (values.accountIds.length) {
      let visible = await this.visibleAccounts(values.accountIds);
      if (visible.size < values.accountIds.length) {
        // An account registered or flagged a moment ago may not have reached the projection yet.
        await this.ctx.projections.get(ACCOUNT_MARKINGS)!.sync();
        visible = await this.visibleAccounts(values.accountIds);
      }
      const missing = values.accountIds.find((u) => !visible.has(u));
      if (missing) {
        // The same answer for an account that exists but is hidden from the reporter as for none at all.
        const i = (input.accountIds ?? []).findIndex((id) => parseAccountRef(id) === missing);
        return new InputError(`accountIds[${i}]: no account with this id`, `accountIds[${i}]`, "NOT_FOUND");
      }
    }
    return null;
  }

  /**
   * Which of these account uuids the viewer may see, from the projection of the account events: its
   * provider's, or flagged by a flag in force the viewer may see (the accounts subgraph's rule).
   */
  private async visibleAccounts(uuids: readonly string[]): Promise<Set<string>> {
    const params = new Params();
    const rows = await query<{ id: string }>(
      this.em,
      `select a.id from incidents.account_marking a
        where a.id = any(${params.add(uuids)}::uuid[]) and ${accountVisibleToSql(this.viewer, params, "a", ACCOUNT_FLAGS)}`,
      params.values,
      "account_markings_visible",
    );
    return new Set(rows.map((r) => r.id));
  }

  /** Which of these indicator uuids the viewer may see, from the projection of their markings. */
  private async visibleIndicators(uuids: readonly string[]): Promise<Set<string>> {
    const params = new Params();
    const rows = await query<{ indicator_id: string }>(
      this.em,
      `select indicator_id from incidents.indicator_marking
        where indicator_id = any(${params.add(uuids)}::uuid[]) and ${visibleToSql(this.viewer, params, AUDIENCE_COLUMNS)}`,
      params.values,
      "indicator_markings_visible",
    );
    return new Set(rows.map((r) => r.indicator_id));
  }

  /**
   * A new incident, or with a sourceRef this org already reported, an update of it: referrals made
   * since are kept, and an unchanged resend changes nothing and emits nothing.
   */
  async report(input: IncidentInput): Promise<IncidentResult> {
    const checked = checkReport(input, this.viewer.org, new Date());
    if (!checked.ok) return refused(checked.error);
    const values = checked.value;
    const fault = await this.checkReferences(values, input);
    if (fault) return refused(fault);

    // Two reports of one new sourceRef at once: the second insert finds the first's row on its retry.
    for (let attempt = 0; ; attempt++) {
      const result = await this.em.transactional(async (em) => {
        if (values.sourceRef !== null) {
          const [existing] = await query<IncidentRow>(
            em,
            "select * from incidents.incident where owner = $1 and source_ref = $2 for update",
            [this.viewer.org, values.sourceRef],
            "incident_by_source_ref",
          );
          if (existing) return this.resend(em, existing, values);
        }
        const [row] = await query<IncidentRow>(
          em,
          `insert into incidents.incident (owner, status, ${COLUMNS.join(", ")})
           select $2, 'NEW', ${COLUMNS.map(valueOf).join(", ")} from ${VALUES}
           on conflict (owner, source_ref) do nothing
           returning *`,
          [JSON.stringify(columnsOf(values)), this.viewer.org],
          "incident_insert",
        );
        if (!row) return null;
        const entries = await this.addEntries(em, row, [
          { kind: "REPORTED", toStatus: "NEW" },
          ...(row.referred_to.length ? [{ kind: "REFERRED" as const, agencies: row.referred_to }] : []),
        ]);
        await this.emit(em, "REPORTED", row, entries);
        return { incident: toIncident(row, this.viewer), error: null };
      });
      if (result) return result;
      if (attempt > 0) throw new Error("incident report kept conflicting on its sourceRef");
    }
  }

  /** A report of a sourceRef already stored: an update of that incident, keeping its referrals. */
  private async resend(em: EntityManager, current: IncidentRow, values: IncidentValues): Promise<IncidentResult> {
    const referredTo = [...new Set([...current.referred_to, ...values.referredTo])].sort();
    const next = { ...values, referredTo };
    if (JSON.stringify(columnsOf(next)) === JSON.stringify(columnsOf(valuesOf(current)))) {
      return { incident: toIncident(current, this.viewer), error: null };
    }
    const row = await this.write(em, current, next, current.status, current.resolution);
    const added = referredTo.filter((a) => !current.referred_to.includes(a));
    const entries = await this.addEntries(em, row, [{ kind: "UPDATED" }, ...(added.length ? [{ kind: "REFERRED" as const, agencies: added }] : [])]);
    await this.emit(em, added.length ? "REFERRED" : "UPDATED", row, entries);
    return { incident: toIncident(row, this.viewer), error: null };
  }

  private async write(em: EntityManager, current: IncidentRow, values: IncidentValues, status: IncidentStatus, resolution: string | null): Promise<IncidentRow> {
    const [row] = await query<IncidentRow>(
      em,
      `update incidents.incident i set ${COLUMNS.map((c) => `${c} = ${valueOf(c)}`).join(", ")},
         status = $3, resolution = $4, modified_at = now()
        from ${VALUES} where i.id = $2 returning i.*`,
      [JSON.stringify(columnsOf(values)), current.id, status, resolution],
      "incident_write",
    );
    return row!;
  }

  /**
   * The incident locked for a change, if the viewer may see it; one it may not see is answered as
   * not found, the same as one that does not exist.
   */
  private async lockVisible(em: EntityManager, id: string): Promise<IncidentRow | null> {
    const uuid = parseIncidentId(id);
    if (!uuid) return null;
    const entity = await em.findOne(IncidentEntity, { id: uuid }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    if (!entity) return null;
    const row = rowOf(entity);
    return canSee(this.viewer, { owner: row.owner, tlp: row.tlp, sharedWith: audienceOf(row) }) ? row : null;
  }

  /** The incident locked for a change only its reporter may make, or why not (as `lockVisible`). */
  private async lockOwn(em: EntityManager, id: string, change: string): Promise<IncidentRow | InputError> {
    const current = await this.lockVisible(em, id);
    if (!current) return NOT_FOUND();
    if (current.owner !== this.viewer.org) return new InputError(`id: only the reporting org can ${change} an incident`, "id", "FORBIDDEN");
    return current;
  }

  /** The reporter's changes: fields, and status moves along the workflow. */
  async update(id: string, update: IncidentUpdate): Promise<IncidentResult> {
    const badId = malformedId(id);
    if (badId) return refused(badId);
    return this.em.transactional(async (em) => {
      const current = await this.lockOwn(em, id, "update");
      if (current instanceof InputError) return refused(current);
      const checked = checkUpdate(update, valuesOf(current), this.viewer.org, new Date());
      if (!checked.ok) return refused(checked.error);
      const moved = moveStatus({ status: current.status, resolution: current.resolution }, update.status, update.resolution);
      if (!moved.ok) return refused(moved.error);
      // Only the orgs, indicators and accounts this update names: a stored link the reporter may no
      // longer see (its owner re-marked it, a flag was cleared) must not stop the reporter working the case.
      const named = {
        ...checked.value,
        sharedWith: update.sharedWith != null ? checked.value.sharedWith : [],
        referredTo: [],
        indicatorIds: update.indicatorIds != null ? checked.value.indicatorIds : [],
        accountIds: update.accountIds != null ? checked.value.accountIds : [],
      };
      const fault = await this.checkReferences(named, update);
      if (fault) return refused(fault);

      const { status, resolution } = moved.value;
      const fieldsChanged = JSON.stringify(columnsOf(checked.value)) !== JSON.stringify(columnsOf(valuesOf(current)));
      const statusChanged = status !== current.status;
      if (!fieldsChanged && !statusChanged && resolution === current.resolution) return { incident: toIncident(current, this.viewer), error: null };

      const row = await this.write(em, current, checked.value, status, resolution);
      const entries: NewEntry[] = [];
      if (fieldsChanged || (!statusChanged && resolution !== current.resolution)) entries.push({ kind: "UPDATED" });
      if (statusChanged) entries.push({ kind: "STATUS", fromStatus: current.status, toStatus: status, text: resolution });
      await this.emit(em, statusChanged && status === "CLOSED" ? "CLOSED" : "UPDATED", row, await this.addEntries(em, row, entries));
      return { incident: toIncident(row, this.viewer), error: null };
    });
  }

  /** A note on the timeline, by the reporter or an agency the incident is referred to. */
  async addNote(id: string, text: string): Promise<IncidentResult> {
    const badId = malformedId(id);
    if (badId) return refused(badId);
    const checked = checkNote(text);
    if (!checked.ok) return refused(checked.error);
    return this.em.transactional(async (em) => {
      const current = await this.lockVisible(em, id);
      if (!current) return refused(NOT_FOUND());
      const org = this.viewer.org;
      if (current.owner !== org && !current.referred_to.includes(org)) {
        return refused(new InputError("id: only the reporting org and the agencies it is referred to may add notes", "id", "FORBIDDEN"));
      }
      const [row] = await query<IncidentRow>(em, "update incidents.incident set modified_at = now() where id = $1 returning *", [current.id], "incident_touch");
      await this.emit(em, "NOTE", row!, await this.addEntries(em, row!, [{ kind: "NOTE", text: checked.value }]));
      return { incident: toIncident(row!, this.viewer), error: null };
    });
  }

  /** The reporter refers the incident to more agencies, who from then on see it whatever its TLP. */
  async refer(id: string, agencies: string[]): Promise<IncidentResult> {
    const badId = malformedId(id);
    if (badId) return refused(badId);
    const checked = checkAgencies(agencies, this.viewer.org);
    if (!checked.ok) return refused(checked.error);
    return this.em.transactional(async (em) => {
      const current = await this.lockOwn(em, id, "refer");
      if (current instanceof InputError) return refused(current);
      // Every org named, the reporter included (validation drops it): a provider cannot refer to itself.
      const named = [...new Set(agencies)];
      const notAgency = firstNonAgency(await this.ctx.hub.orgs.kinds(em, named), named, agencies, "agencies");
      if (notAgency) return refused(notAgency);
      const added = checked.value.filter((a) => !current.referred_to.includes(a));
      if (!added.length) return { incident: toIncident(current, this.viewer), error: null };
      const [row] = await query<IncidentRow>(
        em,
        `update incidents.incident set referred_to = array(select distinct unnest(referred_to || $2::text[]) order by 1), modified_at = now()
          where id = $1 returning *`,
        [current.id, added],
        "incident_refer",
      );
      await this.emit(em, "REFERRED", row!, await this.addEntries(em, row!, [{ kind: "REFERRED", agencies: added }]));
      return { incident: toIncident(row!, this.viewer), error: null };
    });
  }

  /** Writes the change's timeline entries, in order; returns them as its event carries them. */
  private async addEntries(em: EntityManager, row: IncidentRow, entries: readonly NewEntry[]): Promise<EntryMark[]> {
    return query<EntryMark>(
      em,
      `insert into incidents.timeline_entry (incident_id, kind, author_org, from_status, to_status, text, agencies)
       select $1, e.kind, $2, e.from_status, e.to_status, e.text, array(select jsonb_array_elements_text(e.agencies))
         from rows from (jsonb_to_recordset($3::jsonb) as (kind text, from_status text, to_status text, text text, agencies jsonb))
           with ordinality as e(kind, from_status, to_status, text, agencies, ord)
        order by e.ord
       returning id, kind, author_org, agencies`,
      [
        row.id,
        this.viewer.org,
        JSON.stringify(entries.map((e) => ({ kind: e.kind, from_status: e.fromStatus ?? null, to_status: e.toStatus ?? null, text: e.text ?? null, agencies: e.agencies ?? [] }))),
      ],
      "timeline_entries_insert",
    );
  }

  /** The event for a change, last in its transaction; its audience is the incident's. */
  private async emit(em: EntityManager, kind: IncidentEventKind, row: IncidentRow, entries: EntryMark[]): Promise<void> {
    const payload: IncidentEventPayload = { ...row, entries };
    await appendEvents(em, [{ topic: TOPIC_OF[kind], owner: row.owner, tlp: row.tlp, sharedWith: audienceOf(row), payload: payload as unknown as Record<string, unknown> }]);
  }

  /**
   * Timeline entries the viewer may read (`readable`), oldest first; of an incident as of a feed
   * event, only those written up to that event.
   */
  timeline(incident: Incident): Promise<TimelineEntry[]> {
    const loader = loaderFor<string, TimelineRow[]>(this.ctx, "timeline", async (uuids) => {
      const rows = await query<TimelineRow>(
        this.em,
        "select * from incidents.timeline_entry where incident_id = any($1::uuid[]) order by id",
        [uuids],
        "timeline_by_incidents",
      );
      return uuids.map((u) => rows.filter((r) => r.incident_id === u));
    });
    return loader.load(incident.uuid).then((rows) => {
      const org = this.viewer.org;
      const through = incident.timelineThrough ?? Infinity;
      return (rows ?? [])
        .filter((r) => r.id <= through && readable(r, incident.owner, incident.referredTo, org))
        .map((r) => ({
          kind: r.kind,
          at: new Date(r.at),
          authorOrg: r.author_org,
          fromStatus: r.from_status,
          toStatus: r.to_status,
          text: r.text,
          // A referral names the agencies the viewer may know of: all for the reporter, itself for an agency.
          agencies: incident.owner === org ? r.agencies : r.agencies.filter((a) => a === org),
        }));
    });
  }

  async times(incident: Incident): Promise<IncidentTimes> {
    const entries = await this.timeline(incident);
    return caseTimes(incident.reportedAt, entries, incident.status);
  }

  /** The linked indicators the viewer may see, in the order the reporter gave them. */
  async indicators(incident: Incident): Promise<{ id: string }[]> {
    const loader = loaderFor<string, boolean>(this.ctx, "indicatorVisible", async (uuids) => {
      const visible = await this.visibleIndicators(uuids);
      return uuids.map((u) => visible.has(u));
    });
    const shown = await Promise.all(incident.indicatorUuids.map((u) => loader.load(u)));
    return incident.indicatorUuids.filter((_, i) => shown[i]).map((u) => ({ id: `indicator--${u}` }));
  }

  /** The linked accounts the viewer may see, in the order the reporter gave them. */
  async accounts(incident: Incident): Promise<{ id: string }[]> {
    const loader = loaderFor<string, boolean>(this.ctx, "accountVisible", async (uuids) => {
      const visible = await this.visibleAccounts(uuids);
      return uuids.map((u) => visible.has(u));
    });
    const shown = await Promise.all(incident.accountUuids.map((u) => loader.load(u)));
    return incident.accountUuids.filter((_, i) => shown[i]).map((u) => ({ id: `account--${u}` }));
  }

  /**
   * `Account.incidents`: the incidents linking this account that the viewer may see, newest first;
   * none when the viewer may not see the account itself (by the projected accounts and flags), exactly
   * as for an account that does not exist, so that `_entities` is no oracle of who links what.
   */
  async incidentsOfAccount(accountId: string): Promise<Incident[]> {
    const uuid = parseAccountRef(accountId);
    if (!uuid) return [];
    const loader = loaderFor<string, IncidentRow[]>(this.ctx, "incidentsOfAccount", async (uuids) => {
      // The cap applies to each account, as for indicators.
      const params = new Params();
      const rows = await query<IncidentRow & { linked: string }>(
        this.em,
        `select u.linked, i.* from unnest(${params.add(uuids)}::uuid[]) as u(linked)
           join incidents.account_marking a on a.id = u.linked and ${accountVisibleToSql(this.viewer, params, "a", ACCOUNT_FLAGS)}
           cross join lateral (select * from incidents.incident
             where ${visibleToSql(this.viewer, params, INCIDENT_COLUMNS)} and account_ids @> array[u.linked]
             order by seq desc limit ${MAX_INCIDENTS_PER_ACCOUNT}) i`,
        params.values,
        "incidents_of_accounts",
      );
      return uuids.map((u) => rows.filter((r) => r.linked === u));
    });
    return ((await loader.load(uuid)) ?? []).map((r) => toIncident(r, this.viewer));
  }

  /**
   * `Indicator.incidents`: the incidents linking this indicator that the viewer may see, newest first;
   * none when the viewer may not see the indicator itself (by its projected marking), exactly as for
   * an indicator that does not exist, so that `_entities` is no oracle of who links what.
   */
  async incidentsOfIndicator(indicatorId: string): Promise<Incident[]> {
    const uuid = parseIndicatorRef(indicatorId);
    if (!uuid) return [];
    const loader = loaderFor<string, IncidentRow[]>(this.ctx, "incidentsOfIndicator", async (uuids) => {
      // The cap applies to each indicator: one shared by the whole batch could leave an indicator
      // with none of its incidents because others in the batch have many.
      const params = new Params();
      const rows = await query<IncidentRow & { linked: string }>(
        this.em,
        `select u.linked, i.* from unnest(${params.add(uuids)}::uuid[]) as u(linked)
           join incidents.indicator_marking m on m.indicator_id = u.linked and ${visibleToSql(this.viewer, params, MARKING_COLUMNS)}
           cross join lateral (select * from incidents.incident
             where ${visibleToSql(this.viewer, params, INCIDENT_COLUMNS)} and indicator_ids @> array[u.linked]
             order by seq desc limit ${MAX_INCIDENTS_PER_INDICATOR}) i`,
        params.values,
        "incidents_of_indicators",
      );
      return uuids.map((u) => rows.filter((r) => r.linked === u));
    });
    return ((await loader.load(uuid)) ?? []).map((r) => toIncident(r, this.viewer));
  }

  /**
   * The feed: every incident event that passes the filter and that the viewer may see as of the event
   * (its marking, and a timeline entry of it the viewer may read) and now (the incident's current
   * marking), from `after` or from now.
   */
  subscribe(filter: IncidentFeedFilter | null | undefined, after: string | null | undefined): AsyncIterableIterator<HubEvent> {
    const types = filter?.types?.length ? checkTerms("filter.types", filter.types) : null;
    if (types && !types.ok) throw badInput(types.error.message, types.error.field ?? undefined);
    const minRank = filter?.minSeverity != null ? SEVERITY_RANK[filter.minSeverity] : null;
    const statuses = filter?.statuses?.length ? new Set(filter.statuses) : null;
    const org = this.viewer.org;
    const matches = (event: HubEvent) => {
      const row = event.payload as unknown as IncidentRow;
      if (minRank !== null && SEVERITY_RANK[row.severity] < minRank) return false;
      if (statuses && !statuses.has(row.status)) return false;
      if (types?.ok && !row.incident_types.some((t) => types.value.includes(t))) return false;
      if (filter?.referredToMe && !row.referred_to.includes(org)) return false;
      return kindSeen(event, org) !== null;
    };
    return this.ctx.hub.events.subscribe({ topics: INCIDENT_TOPICS, viewer: this.viewer, after, matches, stillVisible: stillVisibleBy((ids) => this.visibleNow(ids)) });
  }

  /** Of these incidents, those the viewer may still see: one withdrawn since is not replayed or delivered late. */
  private async visibleNow(ids: string[]): Promise<string[]> {
    const params = new Params();
    const rows = await query<{ id: string }>(
      this.em,
      `select id from incidents.incident where id = any(${params.add(ids)}::uuid[]) and ${visibleToSql(this.viewer, params, INCIDENT_COLUMNS)}`,
      params.values,
      "incidents_visible_now",
    );
    return rows.map((r) => r.id);
  }


  /** A feed event as the viewer sees it: the incident and its timeline as they were after the event. */
  static toEvent(event: HubEvent, viewer: Viewer): IncidentEvent {
    const payload = event.payload as unknown as IncidentEventPayload;
    const incident = { ...toIncident(payload, viewer), timelineThrough: Math.max(...payload.entries.map((e) => e.id)) };
    return { cursor: encodeCursor(event.seq), kind: kindSeen(event, viewer.org)!, incident };
  }
}
