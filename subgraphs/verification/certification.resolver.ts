import { Arg, Authorized, Ctx, Query, Resolver } from "type-graphql";
import type { Context } from "../../src/graphql/context.js";
import { CertificationService } from "./certification.service.js";
import { CertificationReport } from "./certification.type.js";

@Resolver(() => CertificationReport)
export class CertificationResolver {
  @Authorized("verification:read")
  @Query(() => CertificationReport, {
    description: "Your annual CIP certification (89 FR 5698) as of a date, over your own records; every read is audited (REPORT_EXPORTED). The JSON export is this object as GraphQL returns it",
  })
  cipCertificationReport(@Arg("asOf", () => Date, { description: "Not in the future" }) asOf: Date, @Ctx() ctx: Context): Promise<CertificationReport> {
    return new CertificationService(ctx).report(asOf);
  }

  @Authorized("verification:read")
  @Query(() => String, { description: "The same report as CSV text: one row per line item, with a `section` column (docs/api.md gives the layout); audited (REPORT_EXPORTED)" })
  cipCertificationReportCsv(@Arg("asOf", () => Date, { description: "Not in the future" }) asOf: Date, @Ctx() ctx: Context): Promise<string> {
    return new CertificationService(ctx).csv(asOf);
  }
}
