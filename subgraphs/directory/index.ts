import type { SubgraphDefinition } from "../../src/graphql/subgraph.js";
import { organizationReferences } from "./organization.reference.js";
import { OrganizationResolver } from "./organization.resolver.js";

/** Serves the kernel's member directory (tables in the `hub` schema, migrated with the kernel). */
export const directorySubgraph: SubgraphDefinition = {
  name: "directory",
  entities: [],
  resolvers: [OrganizationResolver],
  references: organizationReferences,
  migrations: { schema: "directory", migrations: [] },
};
