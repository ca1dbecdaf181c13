import type { EntityManager } from "@mikro-orm/postgresql";
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
  const conn = em.getConnection();
  const ctx = em.getTransactionContext();
  if (!ctx) throw new Error("appendEvents must run inside the transaction of the change it reports");
  await conn.execute("select pg_advisory_xact_lock(?)", [EVENT_APPEND_LOCK], "run", ctx);
  // One JSON parameter for the whole batch: a single round trip whatever the batch size.
  await conn.execute(
    `insert into hub.event (topic, owner_org, tlp, shared_with, payload)
     select e.topic, e.owner_org, e.tlp, array(select jsonb_array_elements_text(e.shared_with)), e.payload
       from rows from (jsonb_to_recordset(?::jsonb)
              as (topic text, owner_org text, tlp text, shared_with jsonb, payload jsonb)) with ordinality
         as e(topic, owner_org, tlp, shared_with, payload, ord)
      order by e.ord`,
    [JSON.stringify(events.map((e) => ({ topic: e.topic, owner_org: e.owner, tlp: e.tlp, shared_with: e.sharedWith, payload: e.payload })))],
    "run",
    ctx,
  );
  // Delivered to listeners at commit, never before.
  await conn.execute(`select pg_notify('${EVENT_CHANNEL}', '')`, [], "run", ctx);
}
