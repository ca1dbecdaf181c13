import type { SubgraphDefinition } from "../../src/graphql/subgraph.js";
import { AccountEntity } from "./account.entity.js";
import { accountReferences } from "./account.reference.js";
import { AccountConnectionResolver, AccountResolver } from "./account.resolver.js";
import { evidenceMarkings } from "./evidence.projection.js";
import { FlagEntity } from "./flag.entity.js";
import { FlagConnectionResolver, FlagResolver } from "./flag.resolver.js";
import { MatchResolver } from "./match.resolver.js";
import { accountMigrations } from "./migrations/Migration20261129000300_accounts.js";
import { Migration20261129000310_flags_evidence } from "./migrations/Migration20261129000310_flags_evidence.js";
import { matchAuditMigrations } from "./migrations/Migration20261129000400_match_audit_refused.js";
import { Migration20261129000500_match_budget } from "./migrations/Migration20261129000500_match_budget.js";

export const accountsSubgraph: SubgraphDefinition = {
  name: "accounts",
  entities: [AccountEntity, FlagEntity],
  resolvers: [AccountResolver, AccountConnectionResolver, FlagResolver, FlagConnectionResolver, MatchResolver],
  references: accountReferences,
  migrations: {
    schema: "accounts",
    migrations: [...accountMigrations, { name: "Migration20261129000310_flags_evidence", class: Migration20261129000310_flags_evidence }, ...matchAuditMigrations, { name: "Migration20261129000500_match_budget", class: Migration20261129000500_match_budget }],
  },
  projections: [evidenceMarkings],
};
