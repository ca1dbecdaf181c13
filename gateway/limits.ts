import { costLimitPlugin } from "@escape.tech/graphql-armor-cost-limit";
import { maxAliasesPlugin } from "@escape.tech/graphql-armor-max-aliases";
import { maxDepthPlugin } from "@escape.tech/graphql-armor-max-depth";
import { maxDirectivesPlugin } from "@escape.tech/graphql-armor-max-directives";
import { maxTokensPlugin } from "@escape.tech/graphql-armor-max-tokens";
import type { GatewayPlugin } from "@graphql-hive/gateway-runtime";
import type { Config } from "../src/config.js";
import { markRefusal, oversizedList } from "../src/graphql/limits.js";

/**
 * Limits checked before anything executes: the parser stops at MAX_TOKENS, validation refuses
 * operations over the depth, alias, directive and cost limits, and lists over MAX_LIST_VALUES are
 * refused before execution. Body size and batching are limited in gateway.ts. Each refusal says which
 * limit was passed and by how much.
 */
export function limitPlugins(limits: Config["limits"]) {
  const onReject = [markRefusal];
  return [
    maxTokensPlugin({ n: limits.MAX_TOKENS, onReject }),
    maxDepthPlugin({ n: limits.MAX_DEPTH, flattenFragments: true, onReject }),
    // graphql-armor lets aliases of __typename through by default: 3,000 of them ran.
    maxAliasesPlugin({ n: limits.MAX_ALIASES, allowList: [], onReject }),
    maxDirectivesPlugin({ n: limits.MAX_DIRECTIVES, onReject }),
    costLimitPlugin({ maxCost: limits.MAX_COST, onReject }),
    useListSizeLimit(limits.MAX_LIST_VALUES),
  ];
}

/** A list argument over MAX_LIST_VALUES is refused before it is coerced, planned or sent on. */
function useListSizeLimit(max: number): GatewayPlugin {
  type Args = { schema: Parameters<typeof oversizedList>[0]; document: Parameters<typeof oversizedList>[1]; variableValues?: Record<string, unknown> | null };
  const check = ({ args, setResultAndStopExecution }: { args: Args; setResultAndStopExecution: (result: { errors: unknown[] }) => void }) => {
    const error = oversizedList(args.schema, args.document, args.variableValues, max);
    if (error) setResultAndStopExecution({ errors: [error] });
  };
  return { onExecute: check as never, onSubscribe: check as never };
}
