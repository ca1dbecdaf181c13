import { parseAccountRef } from "./link.row.js";
import type { AccountRef } from "./link.type.js";

/**
 * `_entities` for Account, to add the reseller fields to it. The account belongs to the accounts
 * subgraph; here only the id is echoed back, and each field applies the forest's visibility rule
 * (link.visibility.ts) to it: an account the viewer may not see answers exactly as one with no links.
 */
export function resolveAccountRef(reference: { id: string }): AccountRef | null {
  return parseAccountRef(reference.id) ? { id: reference.id } : null;
}

export const resellerReferences = {
  Account: { __resolveReference: resolveAccountRef },
};
