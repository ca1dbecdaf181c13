import type { EntityManager } from "@mikro-orm/postgresql";
import { upsertProjectedAccounts } from "../../src/events/account-rows.js";
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
    await upsertProjectedAccounts(em, "verification", events.map((e) => e.payload as unknown as AccountRegisteredPayload));
  },
};
