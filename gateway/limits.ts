import { costLimitPlugin } from "@escape.tech/graphql-armor-cost-limit";
import { maxAliasesPlugin } from "@escape.tech/graphql-armor-max-aliases";
import { maxDepthPlugin } from "@escape.tech/graphql-armor-max-depth";
import { maxDirectivesPlugin } from "@escape.tech/graphql-armor-max-directives";
import { maxTokensPlugin } from "@escape.tech/graphql-armor-max-tokens";
import type { Config } from "../src/config.js";

/**
 * Limits checked before anything executes: the parser stops at MAX_TOKENS, validation refuses
 * operations over the depth, alias, directive and cost limits. Body size and batching are limited in
 * gateway.ts. Each refusal says which limit was passed and by how much.
 */
export function limitPlugins(limits: Config["limits"]) {
  return [
    maxTokensPlugin({ n: limits.MAX_TOKENS }),
    maxDepthPlugin({ n: limits.MAX_DEPTH, flattenFragments: true }),
    maxAliasesPlugin({ n: limits.MAX_ALIASES }),
    maxDirectivesPlugin({ n: limits.MAX_DIRECTIVES }),
    costLimitPlugin({ maxCost: limits.MAX_COST }),
  ];
}
