import type { EntityManager } from "@mikro-orm/postgresql";
import { query } from "../../src/db/sql.js";
import type { HubEvent } from "../../src/events/event.js";
import type { ProjectionDefinition } from "../../src/events/projection.js";
import { Topics, type AccountRegisteredPayload } from "../../src/events/topics.js";

export const VERIFICATION_ACCOUNTS = "verification-accounts";

/**
 * The accounts of the accounts subgraph as verification needs them: which exist, which provider holds
 * each (a record is only ever opened by that provider), its kind (exemptions by kind, foreign resellers
 * in the certification) and the holder's jurisdiction. Kept from `account.registered`.
 */
export const verificationAccounts: ProjectionDefinition = {
  name: VERIFICATION_ACCOUNTS,
  schema: "verification",
  topics: [Topics.ACCOUNT_REGISTERED],
  async apply(em: EntityManager, events: readonly HubEvent[]): Promise<void> {
    // The latest state of each account in the page wins: an upsert may not touch a row twice.
    const accounts = new Map<string, AccountRegisteredPayload>();
    for (const event of events) {
      const p = event.payload as unknown as AccountRegisteredPayload;
      accounts.set(p.id, p);
    }
    if (!accounts.size) return;
    await query(
      em,
      `insert into verification.account (id, provider, kind, jurisdiction, status)
       select a.id, a.provider, a.kind, a.holder_jurisdiction, a.status
         from jsonb_to_recordset($1::jsonb) as a(id uuid, provider text, kind text, holder_jurisdiction text, status text)
       on conflict (id) do update set kind = excluded.kind, jurisdiction = excluded.jurisdiction, status = excluded.status`,
      [JSON.stringify([...accounts.values()].map(({ id, provider, kind, holder_jurisdiction, status }) => ({ id, provider, kind, holder_jurisdiction, status })))],
      "verification_account_upsert",
    );
  },
};
