import type { EntityManager } from "@mikro-orm/postgresql";
import { query } from "../../src/db/sql.js";
import type { HubEvent } from "../../src/events/event.js";
import type { ProjectionDefinition } from "../../src/events/projection.js";
import { Topics } from "../../src/events/topics.js";

export const EVIDENCE_MARKINGS = "evidence-markings";

const KIND_OF_TOPIC: Record<string, "indicator" | "incident"> = {
  [Topics.INDICATOR_PUBLISHED]: "indicator",
  [Topics.INDICATOR_REVOKED]: "indicator",
  [Topics.INCIDENT_REPORTED]: "incident",
  [Topics.INCIDENT_UPDATED]: "incident",
  [Topics.INCIDENT_NOTE]: "incident",
  [Topics.INCIDENT_REFERRED]: "incident",
  [Topics.INCIDENT_CLOSED]: "incident",
};

/**
 * Which indicators and incidents exist and who may see them, from their subgraphs' events (the
 * event's owner, TLP and audience are the record's marking): a flag's evidence must be visible to the
 * flagging org and, on another provider's account, to that provider, and each viewer is shown only the
 * evidence it may see, without reading another subgraph's tables.
 */
export const evidenceMarkings: ProjectionDefinition = {
  name: EVIDENCE_MARKINGS,
  schema: "accounts",
  topics: Object.keys(KIND_OF_TOPIC),
  async apply(em: EntityManager, events: readonly HubEvent[]): Promise<void> {
    // One row per record, the latest marking winning: an upsert may not touch a row twice.
    const latest = new Map<string, { kind: string; id: string; owner: string; tlp: string; audience: string[] }>();
    for (const event of events) {
      const kind = KIND_OF_TOPIC[event.topic]!;
      const id = (event.payload as { id: string }).id;
      latest.set(`${kind}:${id}`, { kind, id, owner: event.owner, tlp: event.tlp, audience: event.sharedWith });
    }
    await query(
      em,
      `insert into accounts.evidence_marking (kind, id, owner, tlp, audience)
       select m.kind, m.id, m.owner, m.tlp, array(select jsonb_array_elements_text(m.audience))
         from jsonb_to_recordset($1::jsonb) as m(kind text, id uuid, owner text, tlp text, audience jsonb)
       on conflict (kind, id) do update set owner = excluded.owner, tlp = excluded.tlp, audience = excluded.audience`,
      [JSON.stringify([...latest.values()])],
      "evidence_marking_upsert",
    );
  },
};
