import { Authorized, Ctx, Mutation, Resolver } from "type-graphql";
import type { Context } from "../../src/graphql/context.js";
import { RetentionService } from "./retention.service.js";
import { PurgeResult } from "./retention.type.js";

@Resolver()
export class RetentionResolver {
  @Authorized("verification:write")
  @Mutation(() => PurgeResult, {
    description:
      "Remove your customer records past their retention date (closed, and the later of closure and last access plus CIP_RETENTION_DAYS has passed), with their checks, status history and access events; records on legal hold are kept and counted. Audited.",
  })
  purgeExpiredRecords(@Ctx() ctx: Context): Promise<PurgeResult> {
    return new RetentionService(ctx).purge();
  }
}
