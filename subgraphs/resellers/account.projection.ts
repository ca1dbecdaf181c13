import type { EntityManager } from "@mikro-orm/postgresql";
import { query } from "../../src/db/sql.js";
import { upsertProjectedAccounts } from "../../src/events/account-rows.js";
import type { HubEvent } from "../../src/events/event.js";
import type { ProjectionDefinition } from "../../src/events/projection.js";
import { Topics, type AccountRegisteredPayload, type FlagPayload } from "../../src/events/topics.js";

export const RESELLER_ACCOUNTS = "reseller-accounts";

/**
 * The accounts and flags of the accounts subgraph, as far as reseller questions need them: which
 * accounts exist, whose, of which kind, in which jurisdiction; and each flag's category, status and
 * expiry. Kept from the account events, its cursor moving in the same transaction as these rows.
 */
export const resellerAccounts: ProjectionDefinition = {
  name: RESELLER_ACCOUNTS,
  schema: "resellers",
  topics: [Topics.ACCOUNT_REGISTERED, Topics.ACCOUNT_FLAGGED, Topics.FLAG_CLEARED, Topics.FLAG_DISPUTED],
  async apply(em: EntityManager, events: readonly HubEvent[]): Promise<void> {
    // The latest state of each flag in the page wins: an upsert may not touch a row twice.
    const accounts: AccountRegisteredPayload[] = [];
    const flags = new Map<string, FlagPayload>();
    for (const event of events) {
      if (event.topic === Topics.ACCOUNT_REGISTERED) {
        accounts.push(event.payload as unknown as AccountRegisteredPayload);
      } else {
        const p = event.payload as unknown as FlagPayload;
        flags.set(p.id, p);
      }
    }
    await upsertProjectedAccounts(em, "resellers", accounts);
    if (flags.size) {
      await query(
        em,
        `insert into resellers.flag (id, account_id, category, status, expires_at)
         select f.id, f.account_id, f.category, f.status, f.expires_at
           from jsonb_to_recordset($1::jsonb) as f(id uuid, account_id uuid, category text, status text, expires_at timestamptz)
         on conflict (id) do update set category = excluded.category, status = excluded.status, expires_at = excluded.expires_at`,
        [JSON.stringify([...flags.values()].map(({ id, account_id, category, status, expires_at }) => ({ id, account_id, category, status, expires_at })))],
        "reseller_flag_upsert",
      );
    }
  },
};
