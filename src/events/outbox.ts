import type { EntityManager } from "@mikro-orm/postgresql";
import { query } from "../db/sql.js";
import type { NewEvent } from "./event.js";

/**
 * Appends events in the caller's transaction (the transactional outbox): the change and its events
 * commit together or not at all.
 *
 * Appends are serialised by a transaction-scoped advisory lock taken just before the insert and held
 * to commit. Sequence numbers are therefore handed out in commit order, and a reader that pages by
 * `seq > cursor` can never pass over an event that commits late. Writers hold the lock only for the
 * insert and the commit, so call this last in the transaction.
 */
export const EVENT_APPEND_LOCK = 0x57_46_45_56;
export const EVENT_CHANNEL = "hub_event";

export async function appendEvents(em: EntityManager, events: readonly NewEvent[]): Promise<void> {
  if (!events.length) return;
  if (!em.getTransactionContext()) throw new Error("appendEvents must run inside the transaction of the change it reports");
  await query(em, "select pg_advisory_xact_lock($1)", [EVENT_APPEND_LOCK], "hub_event_lock");
  // One JSON parameter for the whole batch: a single round trip whatever the batch size.
  await query(
    em,
    `insert into hub.event (topic, owner_org, tlp, shared_with, payload)
     select e.topic, e.owner_org, e.tlp, array(select jsonb_array_elements_text(e.shared_with)), e.payload
       from rows from (jsonb_to_recordset($1::jsonb)
              as (topic text, owner_org text, tlp text, shared_with jsonb, payload jsonb)) with ordinality
         as e(topic, owner_org, tlp, shared_with, payload, ord)
      order by e.ord`,
    [JSON.stringify(events.map((e) => ({ topic: e.topic, owner_org: e.owner, tlp: e.tlp, shared_with: e.sharedWith, payload: e.payload })))],
    "hub_event_append",
  );
  // Delivered to listeners at commit, never before.
  await query(em, `select pg_notify('${EVENT_CHANNEL}', '')`, [], "hub_event_notify");
}
