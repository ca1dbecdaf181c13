import type { SubgraphDefinition } from "../../src/graphql/subgraph.js";
import { IndicatorEntity } from "./indicator.entity.js";
import { indicatorReferences } from "./indicator.reference.js";
import { IndicatorConnectionResolver, IndicatorResolver } from "./indicator.resolver.js";
import { indicatorMigrations } from "./migrations/index.js";
import { SightingResolver } from "./sighting.resolver.js";
import { StixObjectResolver } from "./stix-object.resolver.js";
import { taxiiRoutes } from "./taxii/router.js";

export const indicatorsSubgraph: SubgraphDefinition = {
  name: "indicators",
  entities: [IndicatorEntity],
  resolvers: [IndicatorResolver, IndicatorConnectionResolver, SightingResolver, StixObjectResolver],
  references: indicatorReferences,
  migrations: { schema: "indicators", migrations: indicatorMigrations },
  // TAXII 2.1 under /taxii2/, reached through the gateway's proxy.
  routes: taxiiRoutes,
};
