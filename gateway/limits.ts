import { costLimitPlugin } from "@escape.tech/graphql-armor-cost-limit";
import { maxAliasesPlugin } from "@escape.tech/graphql-armor-max-aliases";
import { maxDepthPlugin } from "@escape.tech/graphql-armor-max-depth";
import { maxDirectivesPlugin } from "@escape.tech/graphql-armor-max-directives";
import { maxTokensPlugin } from "@escape.tech/graphql-armor-max-tokens";
import type { Config } from "../src/config.js";
import { markRefusal } from "../src/graphql/limits.js";

/**
 * Limits checked before anything executes: the parser stops at MAX_TOKENS, validation refuses
 * operations over the depth, alias, directive and cost limits. Body size and batching are limited in
 * gateway.ts. Each refusal says which limit was passed and by how much.
 */
export function limitPlugins(limits: Config["limits"]) {
  const onReject = [markRefusal];
  return [
    maxTokensPlugin({ n: limits.MAX_TOKENS, onReject }),
    maxDepthPlugin({ n: limits.MAX_DEPTH, flattenFragments: true, onReject }),
    maxAliasesPlugin({ n: limits.MAX_ALIASES, onReject }),
    maxDirectivesPlugin({ n: limits.MAX_DIRECTIVES, onReject }),
    costLimitPlugin({ maxCost: limits.MAX_COST, onReject }),
  ];
}
