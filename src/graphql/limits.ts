import { costLimitRule } from "@escape.tech/graphql-armor-cost-limit";
import { maxAliasesRule } from "@escape.tech/graphql-armor-max-aliases";
import { maxDepthRule } from "@escape.tech/graphql-armor-max-depth";
import { maxDirectivesRule } from "@escape.tech/graphql-armor-max-directives";
import type { GraphQLError, ValidationContext, ValidationRule } from "graphql";
import type { Config } from "../config.js";
import { ErrorCode } from "../errors.js";

/**
 * A refusal a client can act on: code LIMIT_EXCEEDED, and the limit named without the "Syntax Error"
 * prefix graphql-armor gives every refusal.
 */
export function markRefusal(_context: unknown, error: GraphQLError): void {
  error.message = error.message.replace(/^Syntax Error: /, "");
  (error.extensions as Record<string, unknown>).code = ErrorCode.LIMIT_EXCEEDED;
}

/** Reported as a validation error of the document, not thrown (a thrown one reads as a crash). */
const report = (context: ValidationContext | null, error: GraphQLError) => context?.reportError(error);

/**
 * The gateway's limits, enforced again at every subgraph for callers that reach a subgraph directly.
 * Twice as loose, so that what the gateway plans for an operation within its limits always passes.
 */
export function subgraphValidationRules(limits: Config["limits"]): ValidationRule[] {
  const options = { onReject: [markRefusal, report], propagateOnRejection: false };
  return [
    maxDepthRule({ n: limits.MAX_DEPTH * 2, flattenFragments: true, ...options }),
    maxAliasesRule({ n: limits.MAX_ALIASES * 2, ...options }),
    maxDirectivesRule({ n: limits.MAX_DIRECTIVES * 2, ...options }),
    costLimitRule({ maxCost: limits.MAX_COST * 2, ...options }),
  ] as unknown as ValidationRule[];
}

export const subgraphMaxTokens = (limits: Config["limits"]) => limits.MAX_TOKENS * 2;
