import { Arg, Authorized, Ctx, ID, Int, Query, Resolver } from "type-graphql";
import type { Context } from "../../src/graphql/context.js";
import { AuditService } from "./audit.service.js";
import { verifyAuditChain } from "./audit.trail.js";
import { AuditChainReport, AuditLinkConnection } from "./audit.type.js";

@Resolver()
export class AuditResolver {
  @Authorized("verification:read")
  @Query(() => AuditChainReport, { description: "Walks the caller's audit trail (its records' reads, changes, disclosures and purges) and reports the first broken link" })
  verifyAuditChain(@Ctx() ctx: Context): Promise<AuditChainReport> {
    return verifyAuditChain(ctx.em, ctx.viewer.org);
  }

  @Authorized("verification:read")
  @Query(() => AuditLinkConnection, { description: "The caller's audit trail in chain order, in pages; with recordId, only that record's links" })
  auditTrail(
    @Arg("first", () => Int, { nullable: true, description: "Page size, 1-1000 (default 100)" }) first: number | null,
    @Arg("after", () => String, { nullable: true, description: "endCursor of the previous page" }) after: string | null,
    @Arg("recordId", () => ID, { nullable: true, description: "customer-record--<uuid>: only this record's links" }) record: string | null,
    @Ctx() ctx: Context,
  ): Promise<AuditLinkConnection> {
    return new AuditService(ctx).trail(first, after, record);
  }
}
