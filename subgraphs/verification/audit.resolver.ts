import { Authorized, Ctx, Query, Resolver } from "type-graphql";
import type { Context } from "../../src/graphql/context.js";
import { verifyAuditChain } from "./audit.trail.js";
import { AuditChainReport } from "./audit.type.js";

@Resolver()
export class AuditResolver {
  @Authorized("verification:read")
  @Query(() => AuditChainReport, { description: "Walks the caller's audit trail (its records' reads, changes, disclosures and purges) and reports the first broken link" })
  verifyAuditChain(@Ctx() ctx: Context): Promise<AuditChainReport> {
    return verifyAuditChain(ctx.em, ctx.viewer.org);
  }
}
