import type { EntityManager } from "@mikro-orm/postgresql";
import { query } from "../../src/db/sql.js";
import type { HubEvent } from "../../src/events/event.js";
import type { ProjectionDefinition } from "../../src/events/projection.js";
import { Topics, type AccountRegisteredPayload, type FlagPayload } from "../../src/events/topics.js";

export const ACCOUNT_MARKINGS = "account-markings";

/**
 * Which accounts exist, whose they are, and the flags that let other orgs see them, from the accounts
 * subgraph's events: an incident links only accounts its reporter may see, and shows each viewer only
 * the links they may see, by the same rule as the accounts subgraph (src/auth/account-visibility.ts),
 * without reading its tables. Nothing else of an account is kept here.
 */
export const accountMarkings: ProjectionDefinition = {
  name: ACCOUNT_MARKINGS,
  schema: "incidents",
  topics: [Topics.ACCOUNT_REGISTERED, Topics.ACCOUNT_FLAGGED, Topics.FLAG_CLEARED, Topics.FLAG_DISPUTED],
  async apply(em: EntityManager, events: readonly HubEvent[]): Promise<void> {
    // One row per account and per flag, the latest state winning: an upsert may not touch a row twice.
    // A flag names its account's provider too, so an account is known even if its registration was pruned.
    const providers = new Map<string, string>();
    const flags = new Map<string, FlagPayload>();
    for (const event of events) {
      if (event.topic === Topics.ACCOUNT_REGISTERED) {
        const p = event.payload as unknown as AccountRegisteredPayload;
        providers.set(p.id, p.provider);
      } else {
        const p = event.payload as unknown as FlagPayload;
        flags.set(p.id, p);
        if (!providers.has(p.account_id)) providers.set(p.account_id, p.provider);
      }
    }
    if (providers.size) {
      // An account's provider never changes: the first word on it stands.
      await query(
        em,
        `insert into incidents.account_marking (id, provider)
         select a.id, a.provider from jsonb_to_recordset($1::jsonb) as a(id uuid, provider text)
         on conflict (id) do nothing`,
        [JSON.stringify([...providers].map(([id, provider]) => ({ id, provider })))],
        "account_marking_insert",
      );
    }
    if (flags.size) {
      await query(
        em,
        `insert into incidents.account_flag_marking (id, account_id, provider, owner, tlp, shared_with, status, expires_at)
         select f.id, f.account_id, f.provider, f.owner, f.tlp, array(select jsonb_array_elements_text(f.shared_with)), f.status, f.expires_at
           from jsonb_to_recordset($1::jsonb) as f(id uuid, account_id uuid, provider text, owner text, tlp text, shared_with jsonb, status text, expires_at timestamptz)
         on conflict (id) do update set owner = excluded.owner, tlp = excluded.tlp, shared_with = excluded.shared_with,
           status = excluded.status, expires_at = excluded.expires_at`,
        [
          JSON.stringify(
            [...flags.values()].map((f) => ({
              id: f.id,
              account_id: f.account_id,
              provider: f.provider,
              owner: f.owner,
              tlp: f.tlp,
              shared_with: f.shared_with,
              status: f.status,
              expires_at: f.expires_at,
            })),
          ),
        ],
        "account_flag_marking_upsert",
      );
    }
  },
};
