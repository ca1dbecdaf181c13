import { requireScope } from "../../src/graphql/auth-checker.js";
import type { Context } from "../../src/graphql/context.js";
import { loaderFor } from "../../src/graphql/loader.js";
import { IndicatorService } from "./indicator.service.js";
import type { Indicator } from "./indicator.type.js";

/**
 * `_entities` for Indicator. Reachable by anyone who can reach the subgraph, so it applies the same
 * scope and TLP rule as every query: an indicator the viewer may not see resolves to null.
 */
export async function resolveIndicatorReference(reference: { id: string }, ctx: Context): Promise<Indicator | null> {
  requireScope(ctx, "indicators:read");
  return loaderFor<string, Indicator>(ctx, "indicator", (ids) => new IndicatorService(ctx).byIds(ids)).load(reference.id);
}

export const indicatorReferences = {
  Indicator: { __resolveReference: resolveIndicatorReference },
};
