import { requireScope } from "../../src/graphql/auth-checker.js";
import type { Context } from "../../src/graphql/context.js";
import { loaderFor } from "../../src/graphql/loader.js";
import { AccountService } from "./account.service.js";
import type { Account } from "./account.type.js";

/** Accounts by id through one per-request loader, with the same visibility rule as `account(id)`. */
export function loadAccount(ctx: Context, id: string): Promise<Account | null> {
  return loaderFor<string, Account>(ctx, "account", (ids) => new AccountService(ctx).byIds(ids)).load(id);
}

/**
 * `_entities` for Account. Reachable by anyone who can reach the subgraph, so it applies the same
 * scope and visibility rule as every query: an account the viewer may not see resolves to null, as one
 * that does not exist.
 */
export async function resolveAccountReference(reference: { id: string }, ctx: Context): Promise<Account | null> {
  requireScope(ctx, "accounts:read");
  return loadAccount(ctx, reference.id);
}

export const accountReferences = {
  Account: { __resolveReference: resolveAccountReference },
};
