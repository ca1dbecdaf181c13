import { Arg, Authorized, Ctx, Mutation, Query, Resolver } from "type-graphql";
import type { Context } from "../../src/graphql/context.js";
import { ExemptionInput } from "./exemption.input.js";
import { ExemptionService } from "./exemption.service.js";
import { Exemption, ExemptionResult } from "./exemption.type.js";

@Resolver(() => Exemption)
export class ExemptionResolver {
  @Authorized("verification:write")
  @Mutation(() => ExemptionResult, { description: "Records an exemption (EO 13984 §1(c)) granted to you; audited" })
  grantExemption(@Arg("input", () => ExemptionInput) input: ExemptionInput, @Ctx() ctx: Context): Promise<ExemptionResult> {
    return new ExemptionService(ctx).grant(input);
  }

  @Authorized("verification:read")
  @Query(() => [Exemption], { description: "Your exemptions, oldest grant first; with activeAt, only those in force at that time" })
  exemptions(@Arg("activeAt", () => Date, { nullable: true }) activeAt: Date | null, @Ctx() ctx: Context): Promise<Exemption[]> {
    return new ExemptionService(ctx).list(activeAt);
  }
}
