import { requireScope } from "../../src/graphql/auth-checker.js";
import type { Context } from "../../src/graphql/context.js";
import { loaderFor } from "../../src/graphql/loader.js";
import { parseAccountRef, parseIndicatorRef } from "./incident.row.js";
import { IncidentService } from "./incident.service.js";
import type { AccountLink, Incident, IndicatorLink } from "./incident.type.js";

/**
 * `_entities` for Incident. Reachable by anyone who can reach the subgraph, so it applies the same
 * scope and TLP rule as every query: an incident the viewer may not see resolves to null.
 */
export async function resolveIncidentReference(reference: { id: string }, ctx: Context): Promise<Incident | null> {
  requireScope(ctx, "incidents:read");
  return loaderFor<string, Incident>(ctx, "incident", (ids) => new IncidentService(ctx).byIds(ids)).load(reference.id);
}

/**
 * `_entities` for Indicator, to add `incidents` to it. The indicator belongs to the indicators
 * subgraph; here only the id is echoed back, and `incidents` applies the TLP rule to the indicator
 * (by its projected marking) and to each incident it lists: an indicator the viewer may not see
 * answers exactly as one that does not exist, `incidents: []`.
 */
export function resolveIndicatorLink(reference: { id: string }): IndicatorLink | null {
  return parseIndicatorRef(reference.id) ? { id: reference.id } : null;
}

/**
 * `_entities` for Account, to add `incidents` to it, in the same way: `incidents` applies the
 * accounts' visibility rule (by the projected accounts and flags) to the account, and the TLP rule to
 * each incident; an account the viewer may not see answers exactly as one that does not exist.
 */
export function resolveAccountLink(reference: { id: string }): AccountLink | null {
  return parseAccountRef(reference.id) ? { id: reference.id } : null;
}

export const incidentReferences = {
  Incident: { __resolveReference: resolveIncidentReference },
  Indicator: { __resolveReference: resolveIndicatorLink },
  Account: { __resolveReference: resolveAccountLink },
};
