import type { EntityManager } from "@mikro-orm/postgresql";
import { query } from "../../src/db/sql.js";
import type { ProjectionDefinition } from "../../src/events/projection.js";
import { Topics } from "../../src/events/topics.js";
import type { HubEvent } from "../../src/events/event.js";

export const INDICATOR_MARKINGS = "indicator-markings";

interface IndicatorPayload {
  id: string;
  owner: string;
  tlp: string;
  shared_with: string[];
}

/**
 * Which indicators exist and who may see them, from the indicators subgraph's events: an incident
 * links only indicators its reporter may see, and shows each viewer only the links they may see,
 * without reading another subgraph's tables.
 */
export const indicatorMarkings: ProjectionDefinition = {
  name: INDICATOR_MARKINGS,
  schema: "incidents",
  topics: [Topics.INDICATOR_PUBLISHED, Topics.INDICATOR_REVOKED],
  async apply(em: EntityManager, events: readonly HubEvent[]): Promise<void> {
    // One row per indicator, the latest marking winning: an upsert may not touch a row twice.
    const latest = new Map<string, IndicatorPayload>();
    for (const event of events) {
      const p = event.payload as unknown as IndicatorPayload;
      latest.set(p.id, p);
    }
    await query(
      em,
      `insert into incidents.indicator_marking (indicator_id, owner, tlp, shared_with)
       select m.id, m.owner, m.tlp, array(select jsonb_array_elements_text(m.shared_with))
         from jsonb_to_recordset($1::jsonb) as m(id uuid, owner text, tlp text, shared_with jsonb)
       on conflict (indicator_id) do update set owner = excluded.owner, tlp = excluded.tlp, shared_with = excluded.shared_with`,
      [JSON.stringify([...latest.values()].map((p) => ({ id: p.id, owner: p.owner, tlp: p.tlp, shared_with: p.shared_with })))],
      "indicator_marking_upsert",
    );
  },
};
