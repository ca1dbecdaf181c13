import type { SubgraphDefinition } from "../src/graphql/subgraph.js";
import { accountsSubgraph } from "../subgraphs/accounts/index.js";
import { directorySubgraph } from "../subgraphs/directory/index.js";
import { incidentsSubgraph } from "../subgraphs/incidents/index.js";
import { indicatorsSubgraph } from "../subgraphs/indicators/index.js";
import { resellersSubgraph } from "../subgraphs/resellers/index.js";
import { verificationSubgraph } from "../subgraphs/verification/index.js";

/** Every subgraph of the hub, in the order they are given ports (SUBGRAPH_PORT_BASE + index). */
export const SUBGRAPHS: readonly SubgraphDefinition[] = [indicatorsSubgraph, directorySubgraph, incidentsSubgraph, accountsSubgraph, resellersSubgraph, verificationSubgraph];
