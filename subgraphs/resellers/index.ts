import type { SubgraphDefinition } from "../../src/graphql/subgraph.js";
import { resellerAccounts } from "./account.projection.js";
import { LinkEntity } from "./link.entity.js";
import { resellerReferences } from "./link.reference.js";
import { AccountResellersResolver, LinkResolver } from "./link.resolver.js";
import { resellerMigrations } from "./migrations/index.js";

export const resellersSubgraph: SubgraphDefinition = {
  name: "resellers",
  entities: [LinkEntity],
  resolvers: [LinkResolver, AccountResellersResolver],
  references: resellerReferences,
  migrations: { schema: "resellers", migrations: resellerMigrations },
  projections: [resellerAccounts],
};
