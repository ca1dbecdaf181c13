import type { SubgraphDefinition } from "../../src/graphql/subgraph.js";
import { IndicatorEntity } from "./indicator.entity.js";
import { indicatorReferences } from "./indicator.reference.js";
import { IndicatorConnectionResolver, IndicatorResolver } from "./indicator.resolver.js";
import { indicatorMigrations } from "./migrations/Migration20261125000100_indicators.js";
import { StixObjectResolver } from "./stix-object.resolver.js";
import { taxiiRoutes } from "./taxii/router.js";
import { stixStoreMigration } from "./migrations/Migration20261129000100_stix_store.js";

export const indicatorsSubgraph: SubgraphDefinition = {
  name: "indicators",
  entities: [IndicatorEntity],
  resolvers: [IndicatorResolver, IndicatorConnectionResolver, StixObjectResolver],
  references: indicatorReferences,
  migrations: { schema: "indicators", migrations: [...indicatorMigrations, stixStoreMigration] },
  // TAXII 2.1 under /taxii2/, reached through the gateway's proxy.
  routes: taxiiRoutes,
};
