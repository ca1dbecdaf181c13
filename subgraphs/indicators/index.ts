import type { SubgraphDefinition } from "../../src/graphql/subgraph.js";
import { IndicatorEntity } from "./indicator.entity.js";
import { indicatorReferences } from "./indicator.reference.js";
import { IndicatorConnectionResolver, IndicatorResolver } from "./indicator.resolver.js";
import { indicatorMigrations } from "./migrations/Migration20261125000100_indicators.js";
import { stixStoreMigration } from "./migrations/Migration20261129000100_stix_store.js";
import { sightingsMigration } from "./migrations/Migration20261129000200_sightings.js";
import { SightingResolver } from "./sighting.resolver.js";

export const indicatorsSubgraph: SubgraphDefinition = {
  name: "indicators",
  entities: [IndicatorEntity],
  resolvers: [IndicatorResolver, IndicatorConnectionResolver, SightingResolver],
  references: indicatorReferences,
  migrations: { schema: "indicators", migrations: [...indicatorMigrations, stixStoreMigration, sightingsMigration] },
};
