import { Arg, Authorized, Ctx, ID, Mutation, Resolver } from "type-graphql";
import type { Context } from "../../src/graphql/context.js";
import { RecordService } from "./record.service.js";
import { CustomerRecordResult } from "./record.type.js";
import { RetentionService, type HoldOutcome } from "./retention.service.js";
import { PurgeResult } from "./retention.type.js";

@Resolver()
export class RetentionResolver {
  // The answer is the record: reading it needs verification:read as well.
  @Authorized("verification:read", "verification:write")
  @Mutation(() => CustomerRecordResult, { description: "Keep a record of yours past its retention date (litigation, an investigation) until released; on a held record, replaces the reason. Audited." })
  placeLegalHold(
    @Arg("recordId", () => ID) recordId: string,
    @Arg("reason", { description: "1-1,000 characters: the matter, by reference (no personal values)" }) reason: string,
    @Ctx() ctx: Context,
  ): Promise<CustomerRecordResult> {
    return new RetentionService(ctx).placeHold(recordId, reason).then((outcome) => answer(ctx, outcome));
  }

  // The answer is the record: reading it needs verification:read as well.
  @Authorized("verification:read", "verification:write")
  @Mutation(() => CustomerRecordResult, { description: "End the legal hold on a record of yours: past its retention date, the next purge removes it. Audited." })
  releaseLegalHold(@Arg("recordId", () => ID) recordId: string, @Ctx() ctx: Context): Promise<CustomerRecordResult> {
    return new RetentionService(ctx).releaseHold(recordId).then((outcome) => answer(ctx, outcome));
  }

  @Authorized("verification:write")
  @Mutation(() => PurgeResult, {
    description:
      "Remove your customer records past their retention date (closed, and the later of closure and last access plus CIP_RETENTION_DAYS has passed), with their checks, status history and access events; records on legal hold are kept and counted. Audited.",
  })
  purgeExpiredRecords(@Ctx() ctx: Context): Promise<PurgeResult> {
    return new RetentionService(ctx).purge();
  }
}

/** The record as it now stands, read as the provider reads it (that read is audited too). */
async function answer(ctx: Context, outcome: HoldOutcome): Promise<CustomerRecordResult> {
  if (outcome.error) return { record: null, error: outcome.error };
  return { record: await new RecordService(ctx).byAccount(`account--${outcome.accountUuid}`), error: null };
}
