import type { SubgraphDefinition } from "../../src/graphql/subgraph.js";
import { AccessResolver } from "./access.resolver.js";
import { verificationAccounts } from "./account.projection.js";
import { AuditResolver } from "./audit.resolver.js";
import { verificationMigrations } from "./migrations/index.js";

/**
 * Customer identification records (EO 13984 §1): the provider's own, sealed, audited, and released
 * to an agency only through a disclosure the provider approved.
 */
export const verificationSubgraph: SubgraphDefinition = {
  name: "verification",
  entities: [],
  resolvers: [AuditResolver, AccessResolver],
  migrations: { schema: "verification", migrations: verificationMigrations },
  projections: [verificationAccounts],
};
