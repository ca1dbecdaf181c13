import { Arg, Args, ArgsType, Authorized, Ctx, Field, Int, Query, Resolver } from "type-graphql";
import type { Context } from "../../src/graphql/context.js";
import { IdentifierInput } from "./account.input.js";
import { MatchService } from "./match.service.js";
import { IdentifierMatch, MatchAuditConnection } from "./match.type.js";

@ArgsType()
class MatchAuditArgs {
  @Field(() => String, { nullable: true, description: "One org's calls only" })
  org?: string | null;

  @Field(() => Date, { nullable: true, description: "Calls at or after this time" })
  since?: Date | null;

  @Field(() => Int, { nullable: true, description: "Page size, 1-500 (default 50)" })
  first?: number | null;

  @Field(() => String, { nullable: true, description: "endCursor of the previous page" })
  after?: string | null;
}

@Resolver()
export class MatchResolver {
  @Authorized("accounts:read")
  @Query(() => [IdentifierMatch], {
    description:
      "Up to 1000 identifiers: for each, in order, the flags in force you may see on accounts holding it. " +
      "Values are hashed on arrival and kept nowhere; each item counts against your org's daily budget (MATCH_BUDGET_EXCEEDED past it)",
  })
  matchIdentifiers(@Arg("identifiers", () => [IdentifierInput]) identifiers: IdentifierInput[], @Ctx() ctx: Context): Promise<IdentifierMatch[]> {
    return new MatchService(ctx).match(identifiers);
  }

  @Authorized("admin")
  @Query(() => MatchAuditConnection, { description: "Operators: every matchIdentifiers call (who, how many identifiers, how many hits), newest first" })
  matchAudit(@Args() { org, since, first, after }: MatchAuditArgs, @Ctx() ctx: Context): Promise<MatchAuditConnection> {
    return new MatchService(ctx).audit(org, since, first, after);
  }
}
