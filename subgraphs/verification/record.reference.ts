import type { Context } from "../../src/graphql/context.js";
import { loaderFor } from "../../src/graphql/loader.js";
import type { VerificationStatus } from "./record.enums.js";
import { RecordService } from "./record.service.js";
import type { AccountRef } from "./record.type.js";
import { parseAccountId } from "./record.validation.js";

/**
 * `_entities` for Account, to add `verificationStatus` to it. The account belongs to the accounts
 * subgraph; here only the id is echoed back, and the field applies record.access.ts: whoever may not
 * read the record gets null, exactly as for an account without one.
 */
export function resolveAccountRef(reference: { id: string }): AccountRef | null {
  return parseAccountId(reference.id) ? { id: reference.id } : null;
}

/** The statuses of many accounts (one `_entities` call) in one query. */
export function loadVerificationStatus(ctx: Context, id: string): Promise<VerificationStatus | null> {
  const uuid = parseAccountId(id);
  if (!uuid) return Promise.resolve(null);
  return loaderFor<string, VerificationStatus>(ctx, "verificationStatus", (uuids) => new RecordService(ctx).statusOf(uuids)).load(uuid);
}

export const recordReferences = {
  Account: { __resolveReference: resolveAccountRef },
};
