import type { EntityManager } from "@mikro-orm/postgresql";
import { LockMode } from "@mikro-orm/core";
import { canSee, visibleToSql, type Tlp } from "../../src/auth/tlp.js";
import { asDate, Params, query } from "../../src/db/sql.js";
import { ORG_ID_PATTERN, type Viewer } from "../../src/auth/viewer.js";
import { badInput, forbidden } from "../../src/errors.js";
import { encodeCursor } from "../../src/events/cursor.js";
import type { HubEvent } from "../../src/events/event.js";
import { stillVisibleBy } from "../../src/events/event-stream.js";
import { appendEvents } from "../../src/events/outbox.js";
import { Topics } from "../../src/events/topics.js";
import type { Context } from "../../src/graphql/context.js";
import { InputError } from "../../src/graphql/common.types.js";
import { characterCount, malformedTextAt, NOT_WELL_FORMED } from "../../src/text.js";
import { IndicatorEntity } from "./indicator.entity.js";
import type { IndicatorFilter, IndicatorInput } from "./indicator.input.js";
import { lookupForms, MAX_VALUE_LENGTH, stixPattern } from "./indicator.normalize.js";
import { pageCursor, parseIndicatorId, parsePageCursor, rowOf, toIndicator, type IndicatorRow } from "./indicator.row.js";
import { checkMinScore, decayFilterSql, type DecayFilter } from "./indicator.score.js";
import { publishedObject, stixBundle } from "./indicator.stix.js";
import { exportedObject } from "./stix-object.export.js";
import { StixImportService } from "./stix-import.service.js";
import type { StixImportStatus } from "./stix-import.status.js";
import { reprojectIndicators, replaceObservables } from "./stix-object.projection.js";
import { publishedVersions, storeVersions } from "./stix-object.store.js";
import { validateStixBundle } from "./stix/schema-validation.js";
import { stixTimestamp } from "./stix/version.js";
import { isIP } from "node:net";
import type { Indicator, IndicatorConnection, IndicatorEvent, PublishIndicatorsResult, PublishItemResult, StixExport } from "./indicator.type.js";
import { checkIndicator, LABEL_PATTERN, LABEL_RULE, MAX_BATCH, type ValidIndicator } from "./indicator.validation.js";

export const TOPIC_PUBLISHED = Topics.INDICATOR_PUBLISHED;
export const TOPIC_REVOKED = Topics.INDICATOR_REVOKED;

const DEFAULT_PAGE = 50;
const MAX_PAGE = 500;
const MAX_LOOKUP = 1000;

export class IndicatorService {
  constructor(private readonly ctx: Context) {}

  private get em(): EntityManager {
    return this.ctx.em;
  }

  /**
   * The rows the viewer may see among `uuids`, one per id: orgs that forwarded the same STIX indicator
   * each hold a copy, and the viewer's own comes first, else the most recently modified.
   */
  private async visibleRows(uuids: string[]): Promise<IndicatorRow[]> {
    const params = new Params();
    const visible = visibleToSql(this.ctx.viewer, params);
    return query<IndicatorRow>(
      this.em,
      `select distinct on (id) * from indicators.indicator where ${visible} and id = any(${params.add(uuids)}::uuid[])
        order by id, owner = $1 desc, modified_at desc, seq desc`,
      params.values,
      "indicators_by_ids",
    );
  }

  async byIds(ids: readonly string[]): Promise<(Indicator | null)[]> {
    const uuids = ids.map(parseIndicatorId);
    const wanted = uuids.filter((u): u is string => u !== null);
    const rows = wanted.length ? await this.visibleRows(wanted) : [];
    const byId = new Map(rows.map((r) => [r.id, r]));
    return uuids.map((u) => {
      const row = u ? byId.get(u) : undefined;
      return row ? toIndicator(row, this.ctx.viewer) : null;
    });
  }

  async byId(id: string): Promise<Indicator | null> {
    return (await this.byIds([id]))[0] ?? null;
  }

  async list(
    filter: IndicatorFilter | null | undefined,
    first: number | null | undefined,
    after: string | null | undefined,
    withTotal = false,
  ): Promise<IndicatorConnection> {
    const size = first ?? DEFAULT_PAGE;
    if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE) throw badInput(`first: must be from 1 to ${MAX_PAGE}`, "first");
    let label: string | null = null;
    if (filter?.owner != null && !ORG_ID_PATTERN.test(filter.owner)) throw badInput("filter.owner: not an org id", "filter.owner");
    if (filter?.label != null) {
      // Matched as labels are stored: exactly, so a label that could never be stored is refused.
      if (!LABEL_PATTERN.test(filter.label)) throw badInput(`filter.label: ${LABEL_RULE}`, "filter.label");
      label = filter.label;
    }
    if (filter?.minConfidence != null && (filter.minConfidence < 0 || filter.minConfidence > 100)) {
      throw badInput("filter.minConfidence: must be from 0 to 100", "filter.minConfidence");
    }
    const badScore = checkMinScore(filter?.minScore, "filter.minScore");
    if (badScore) throw badInput(badScore, "filter.minScore");
    const beforeSeq = after ? parsePageCursor(after) : null;

    // One statement text for every combination of filters (an absent filter is a null parameter),
    // so that Postgres keeps it prepared on each connection.
    const params = new Params();
    const where = `${visibleToSql(this.ctx.viewer, params)}
        and (${params.add(filter?.types?.length ? filter.types : null)}::text[] is null or type = any($${params.values.length}::text[]))
        and (${params.add(filter?.tlp?.length ? filter.tlp : null)}::text[] is null or tlp = any($${params.values.length}::text[]))
        and (${params.add(filter?.owner ?? null)}::text is null or owner = $${params.values.length}::text)
        and (${params.add(label)}::text is null or labels @> array[$${params.values.length}::text])
        and (${params.add(filter?.minConfidence ?? null)}::int is null or confidence >= $${params.values.length}::int)
        and (${params.add(Boolean(filter?.includeRevoked))}::boolean or not revoked)
        and (${params.add(filter?.modifiedSince ?? null)}::timestamptz is null or modified_at >= $${params.values.length}::timestamptz)
        and ${decayFilterSql(this.ctx.viewer, params, this.ctx.hub.config.decay, "indicator", filter ?? {})}`;
    const filterValues = [...params.values];
    const page = `select * from indicators.indicator where ${where}
          and (${params.add(beforeSeq)}::bigint is null or seq < $${params.values.length}::bigint)
        order by seq desc limit ${params.add(size + 1)}::int`;
    // With totalCount asked for, the page and the count travel in one statement (one round trip).
    const rows = withTotal
      ? await query<IndicatorRow & { total: number }>(
          this.em,
          `select p.*, c.total from (select count(*)::int as total from indicators.indicator where ${where}) c
             left join lateral (${page}) p on true`,
          params.values,
          "indicators_page_and_count",
        )
      : await query<IndicatorRow>(this.em, page, params.values, "indicators_page");
    const total = withTotal ? (rows[0] as unknown as { total: number } | undefined)?.total ?? 0 : null;
    const found = rows.filter((row) => row.id !== null);
    const hasNextPage = found.length > size;
    const edges = found.slice(0, size).map((row) => ({ cursor: pageCursor(Number(row.seq)), node: toIndicator(row, this.ctx.viewer) }));
    return {
      edges,
      pageInfo: { hasNextPage, endCursor: edges.length ? edges[edges.length - 1]!.cursor : null },
      // Counting scans every visible match: done only when the client asks for totalCount.
      count: async () => {
        if (total !== null) return total;
        const [row] = await query<{ n: number }>(this.em, `select count(*)::int as n from indicators.indicator where ${where}`, filterValues, "indicators_count");
        return row!.n;
      },
    };
  }

  /**
   * A page of `indicators` as a STIX 2.1 bundle: the same filters, the same TLP rule, the same cursors;
   * each indicator as its newest stored object, as every export hands it out (exportedObject).
   */
  async exportStix(filter: IndicatorFilter | null | undefined, first: number | null | undefined, after: string | null | undefined): Promise<StixExport> {
    const page = await this.list(filter, first, after);
    const indicators = page.edges.map((e) => e.node);
    const stored = indicators.length
      ? await query<{ owner: string; id: string; object: Record<string, unknown>; tlp: Tlp; tlp_marked: boolean }>(
          this.em,
          `select distinct on (s.owner, s.id) s.owner, s.id, s.object, s.tlp, s.tlp_marked
             from indicators.stix_object s join unnest($1::text[], $2::text[]) as k(owner, id) on s.owner = k.owner and s.id = k.id
            order by s.owner, s.id, s.version_key desc`,
          [indicators.map((i) => i.owner), indicators.map((i) => i.id)],
          "indicators_stored_objects",
        )
      : [];
    const byKey = new Map(stored.map((s) => [`${s.owner}\u0000${s.id}`, s]));
    const items = indicators.flatMap((i) => {
      const s = byKey.get(`${i.owner}\u0000${i.id}`);
      // An indicator published before the STIX store existed is exported as the hub describes it.
      const object = s ? exportedObject({ object: s.object, tlp: s.tlp, tlpMarked: s.tlp_marked }) : publishedObject(i);
      return [{ owner: i.owner, object }];
    });
    return { bundle: stixBundle(items), count: indicators.length, pageInfo: page.pageInfo };
  }

  /** Imports every object of a STIX 2.1 bundle (see StixImportService) and answers its status. */
  async importStix(bundle: Record<string, unknown>, tlp: Tlp, sharedWith: string[] | null | undefined): Promise<StixImportStatus> {
    const problems = validateStixBundle(bundle).problems;
    if (problems.length) throw badInput(`bundle.${problems[0]!.property}: ${problems[0]!.message}`, `bundle.${problems[0]!.property}`);
    return new StixImportService(this.ctx).start(bundle.objects ?? [], { tlp, sharedWith });
  }

  /** Revoked and expired indicators are left out unless `includeExpired`. */
  async lookup(values: string[], decay: DecayFilter = {}): Promise<Indicator[]> {
    const badScore = checkMinScore(decay.minScore, "minScore");
    if (badScore) throw badInput(badScore, "minScore");
    if (values.length > MAX_LOOKUP) throw badInput(`values: at most ${MAX_LOOKUP} values per lookup (got ${values.length})`, "values");
    const forms = new Set<string>();
    for (const [i, v] of values.entries()) {
      if (characterCount(v) > MAX_VALUE_LENGTH) throw badInput(`values[${i}]: longer than ${MAX_VALUE_LENGTH} characters`, `values[${i}]`);
      for (const f of lookupForms(v)) forms.add(f);
      // URLs and file names are held as their patterns wrote them.
      if (v.trim()) forms.add(v.trim());
    }
    if (!forms.size) return [];
    // An address also finds the CIDR blocks that hold it.
    const addresses = values.map((v) => v.trim()).filter((v) => isIP(v) !== 0);
    const params = new Params();
    const rows = await query<IndicatorRow>(
      this.em,
      `select * from indicators.indicator where ${visibleToSql(this.ctx.viewer, params)}
          and seq in (select o.indicator_seq from indicators.observable o where o.value = any(${params.add([...forms])}::text[])
                      union
                      select o.indicator_seq from indicators.observable o
                       where o.type = 'CIDR' and (o.value::inet) >>= any(${params.add(addresses)}::inet[]))
          and (${params.add(Boolean(decay.includeExpired))}::boolean or not revoked)
          and ${decayFilterSql(this.ctx.viewer, params, this.ctx.hub.config.decay, "indicator", decay)}
        order by seq desc`,
      params.values,
      "indicators_lookup",
    );
    return rows.map((r) => toIndicator(r, this.ctx.viewer));
  }

  /**
   * Validates every item, stores the good ones (an item naming an existing type and value of this
   * org updates it) with one event each, in one transaction, and reports per item in input order.
   */
  async publish(inputs: IndicatorInput[]): Promise<PublishIndicatorsResult> {
    if (inputs.length > MAX_BATCH) {
      throw badInput(`input: at most ${MAX_BATCH} indicators per call (got ${inputs.length}); split the batch`, "input");
    }
    const { viewer, hub } = this.ctx;
    const now = new Date();
    const errors = new Map<number, InputError>();
    const valid = new Map<number, ValidIndicator>();
    inputs.forEach((input, index) => {
      const checked = checkIndicator(input, viewer.org, now);
      if (checked.ok) valid.set(index, checked.item);
      else errors.set(index, checked.error);
    });

    const named = [...new Set([...valid.values()].flatMap((v) => v.sharedWith))];
    if (named.length) {
      const members = await hub.orgs.kinds(this.em, named);
      for (const [index, item] of valid) {
        const unknown = item.sharedWith.findIndex((org) => !members.has(org));
        if (unknown === -1) continue;
        const at = (inputs[index]!.sharedWith ?? []).indexOf(item.sharedWith[unknown]!);
        errors.set(index, new InputError(`sharedWith[${at}]: '${item.sharedWith[unknown]}' is not a member org`, `sharedWith[${at}]`));
        valid.delete(index);
      }
    }

    // The same type and value twice in one batch is one indicator: the last item wins.
    const key = (v: ValidIndicator) => `${v.type}\u0000${v.value}`;
    const latest = new Map<string, ValidIndicator>();
    for (const item of valid.values()) latest.set(key(item), item);

    const { written, unchanged } = latest.size ? await this.upsert([...latest.values()], now) : { written: [], unchanged: [] };
    const stored = new Map<string, { indicator: Indicator; changed: boolean }>();
    for (const row of written) stored.set(`${row.type}\u0000${row.value}`, { indicator: toIndicator(row, viewer), changed: true });
    for (const row of unchanged) stored.set(`${row.type}\u0000${row.value}`, { indicator: toIndicator(row, viewer), changed: false });

    let unchangedItems = 0;
    const results: PublishItemResult[] = inputs.map((_, index) => {
      const item = valid.get(index);
      if (!item) return { index, indicator: null, error: errors.get(index)!, changed: false };
      const outcome = stored.get(key(item));
      if (outcome && !outcome.changed) unchangedItems++;
      return { index, indicator: outcome?.indicator ?? null, error: null, changed: outcome?.changed ?? false };
    });
    return { results, published: valid.size, unchanged: unchangedItems, failed: inputs.length - valid.size };
  }

  /**
   * Inserts new indicators and updates those that differ from what is stored, with one event each.
   * An item identical to its stored indicator (every field, and not revoked) is left alone: no write,
   * no event, so a resent batch does not wake every subscriber again. Such items come back in
   * `unchanged`, as stored. A validFrom not given keeps the stored indicator's, as long as it is active
   * and still before the given validUntil: re-publishing says the indicator still holds, not that it
   * starts now.
   */
  private async upsert(items: ValidIndicator[], now: Date): Promise<{ written: IndicatorRow[]; unchanged: IndicatorRow[] }> {
    const owner = this.ctx.viewer.org;
    // Millisecond precision, as STIX timestamps carry it: the row's modified time is its object's version.
    const version = stixTimestamp(now);
    return this.em.transactional(async (em) => {
      const written = await query<IndicatorRow>(
        em,
        `insert into indicators.indicator as cur
           (owner, source, type, value, pattern, tlp, confidence, shared_with, labels, description, valid_from, valid_until, created_at, modified_at, version_key)
         select $1, 'publish', i.type, i.value, i.pattern, i.tlp, i.confidence,
                array(select jsonb_array_elements_text(i.shared_with)), array(select jsonb_array_elements_text(i.labels)),
                i.description,
                coalesce(i.valid_from, case when i.valid_until is null or i.valid_until > s.valid_from then s.valid_from end, $3::timestamptz),
                i.valid_until, $3::timestamptz, $3::timestamptz, $4
           from rows from (jsonb_to_recordset($2::jsonb) as (type text, value text, pattern text, tlp text, confidence smallint,
                  shared_with jsonb, labels jsonb, description text, valid_from timestamptz, valid_until timestamptz))
                with ordinality as i(type, value, pattern, tlp, confidence, shared_with, labels, description, valid_from, valid_until, ord)
           -- Lateral with a limit (which keeps the planner from flattening it into a join), so each item is
           -- one probe of indicator_published_value: as a join, on a table whose statistics lag a bulk
           -- publish, the planner scanned every row of the owner's once per item.
           left join lateral (select p.valid_from from indicators.indicator p
                               where p.owner = $1 and p.type = i.type and p.value = i.value and p.source = 'publish' and not p.revoked
                               limit 1) s on true
          order by i.ord
         on conflict (owner, type, value) where source = 'publish' and not revoked do update set
           tlp = excluded.tlp, confidence = excluded.confidence, shared_with = excluded.shared_with,
           labels = excluded.labels, description = excluded.description, valid_from = excluded.valid_from,
           valid_until = excluded.valid_until, modified_at = excluded.modified_at, version_key = excluded.version_key
         where (cur.tlp, cur.confidence, cur.shared_with, cur.labels, cur.description, cur.valid_from, cur.valid_until)
               is distinct from
               (excluded.tlp, excluded.confidence, excluded.shared_with, excluded.labels, excluded.description, excluded.valid_from, excluded.valid_until)
         returning *`,
        [
          owner,
          JSON.stringify(
            items.map((v) => ({
              type: v.type,
              value: v.value,
              pattern: stixPattern(v.type, v.value),
              tlp: v.tlp,
              confidence: v.confidence,
              shared_with: v.sharedWith,
              labels: v.labels,
              description: v.description,
              valid_from: v.validFrom?.toISOString() ?? null,
              valid_until: v.validUntil?.toISOString() ?? null,
            })),
          ),
          version.version,
          version.key,
        ],
        "indicators_upsert",
      );
      // Each new version is kept in the STIX store too, as the object the hub exports for it.
      await storeVersions(em, owner, publishedVersions(written.map((row) => toIndicator(row, this.ctx.viewer))));
      await replaceObservables(em, written.map((row) => ({ seq: Number(row.seq), observables: [{ type: row.type!, value: row.value! }] })));
      const writtenKeys = new Set(written.map((r) => `${r.type}\u0000${r.value}`));
      const left = items.filter((v) => !writtenKeys.has(`${v.type}\u0000${v.value}`));
      const unchanged = left.length
        ? await query<IndicatorRow>(
            em,
            `select s.* from indicators.indicator s join unnest($2::text[], $3::text[]) as k(type, value) on s.type = k.type and s.value = k.value
              where s.owner = $1`,
            [owner, left.map((v) => v.type), left.map((v) => v.value)],
            "indicators_unchanged",
          )
        : [];
      await appendEvents(
        em,
        written.map((row) => ({ topic: TOPIC_PUBLISHED, owner: row.owner, tlp: row.tlp, sharedWith: row.shared_with, payload: row as unknown as Record<string, unknown> })),
      );
      return { written, unchanged };
    });
  }

  /**
   * Owner only: a new version of the viewer's own copy, revoked (STIX revocation is final). A viewer
   * who may not see the indicator is told it does not exist.
   */
  async revoke(id: string): Promise<Indicator | null> {
    const { viewer } = this.ctx;
    if (malformedTextAt(id) !== null) throw badInput(`id: ${NOT_WELL_FORMED}`, "id");
    const uuid = parseIndicatorId(id);
    if (!uuid) return null;
    return this.em.transactional(async (em) => {
      const [visible] = await new IndicatorService({ ...this.ctx, em }).visibleRows([uuid]);
      if (!visible) return null;
      const [own] = await query<IndicatorRow>(em, `select * from indicators.indicator where owner = $1 and id = $2 for update`, [viewer.org, uuid], "indicator_own_for_update");
      if (!own) throw forbidden("only the org that published an indicator can revoke it");
      // Revoked already: nothing changes, so nothing is written and no second event wakes subscribers.
      if (own.revoked) return toIndicator(own, viewer);
      const [held] = await query<{ object: Record<string, unknown>; tlp: Tlp; shared_with: string[]; tlp_marked: boolean; spec_version: string }>(
        em,
        `select object, tlp, shared_with, tlp_marked, spec_version from indicators.stix_object where owner = $1 and id = $2 order by version_key desc limit 1`,
        [viewer.org, `indicator--${uuid}`],
        "stix_newest_for_revoke",
      );
      const current = held ?? { ...publishedVersions([toIndicator(own, viewer)])[0]!, shared_with: own.shared_with, tlp_marked: true, spec_version: "2.1" };
      // A version strictly newer than the held one, even within its millisecond.
      const at = stixTimestamp(new Date(Math.max(Date.now(), asDate(own.modified_at).getTime() + 1)));
      await storeVersions(em, viewer.org, [
        {
          id: `indicator--${uuid}`,
          type: "indicator",
          ...at,
          specVersion: current.spec_version,
          tlp: current.tlp,
          sharedWith: current.shared_with,
          tlpMarked: current.tlp_marked,
          revoked: true,
          object: { ...current.object, modified: at.version, revoked: true },
        },
      ]);
      const { written, events } = await reprojectIndicators(em, viewer.org, [`indicator--${uuid}`]);
      await appendEvents(em, events);
      return toIndicator(written[0] ?? own, viewer);
    });
  }

  /**
   * Indicators the viewer may see as they are published (and re-published) or revoked, from `after`
   * or from now. Both topics share the log's cursors. One re-marked out of the viewer's sight since
   * (RED, unshared) is neither replayed nor delivered late, as for incidents.
   */
  subscribe(topic: typeof TOPIC_PUBLISHED | typeof TOPIC_REVOKED, after: string | null | undefined): AsyncIterableIterator<HubEvent> {
    const stillVisible = stillVisibleBy(async (ids) => (await this.visibleRows(ids)).map((r) => r.id));
    return this.ctx.hub.events.subscribe({ topics: [topic], viewer: this.ctx.viewer, after, stillVisible });
  }



  static toEvent(event: HubEvent, viewer: Viewer): IndicatorEvent {
    return { cursor: encodeCursor(event.seq), indicator: toIndicator(event.payload as unknown as IndicatorRow, viewer) };
  }
}
