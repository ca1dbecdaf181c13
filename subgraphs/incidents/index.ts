import type { SubgraphDefinition } from "../../src/graphql/subgraph.js";
import { IncidentEntity } from "./incident.entity.js";
import { incidentReferences } from "./incident.reference.js";
import { AccountIncidentsResolver, IncidentConnectionResolver, IncidentResolver, IndicatorIncidentsResolver } from "./incident.resolver.js";
import { accountMarkings } from "./account-marking.projection.js";
import { indicatorMarkings } from "./indicator-marking.projection.js";
import { incidentMigrations } from "./migrations/index.js";
import { TimelineEntryEntity } from "./timeline-entry.entity.js";

export const incidentsSubgraph: SubgraphDefinition = {
  name: "incidents",
  entities: [IncidentEntity, TimelineEntryEntity],
  resolvers: [IncidentResolver, IncidentConnectionResolver, IndicatorIncidentsResolver, AccountIncidentsResolver],
  references: incidentReferences,
  migrations: { schema: "incidents", migrations: incidentMigrations },
  projections: [indicatorMarkings, accountMarkings],
};
