import { Arg, Authorized, Ctx, ID, Int, Mutation, Query, Resolver } from "type-graphql";
import type { Context } from "../../src/graphql/context.js";
import { DisclosureFilter } from "./disclosure.input.js";
import { DisclosureService } from "./disclosure.service.js";
import { DisclosureConnection, DisclosureResult } from "./disclosure.type.js";

@Resolver()
export class DisclosureResolver {
  @Authorized("verification:disclose")
  @Mutation(() => DisclosureResult, {
    description:
      "An AGENCY asks the provider that holds an account for its customer record (§1(a)(iii)), citing its legal basis (8-1,000 characters). " +
      "The answer says only that the account exists and which provider decides; one undecided request per account at a time.",
  })
  requestDisclosure(
    @Arg("accountId", () => ID) accountId: string,
    @Arg("legalBasis", { description: "The authority relied on: statute, warrant or order, with its reference" }) legalBasis: string,
    @Ctx() ctx: Context,
  ): Promise<DisclosureResult> {
    return new DisclosureService(ctx).request(accountId, legalBasis);
  }

  @Authorized("verification:write")
  @Mutation(() => DisclosureResult, {
    description: "The provider that holds the account approves (the agency then reads that one record for DISCLOSURE_ACCESS_DAYS) or refuses a request, once, with its reason",
  })
  decideDisclosure(
    @Arg("id", () => ID) id: string,
    @Arg("approve") approve: boolean,
    @Arg("reason", { description: "1-1,000 characters" }) reason: string,
    @Ctx() ctx: Context,
  ): Promise<DisclosureResult> {
    return new DisclosureService(ctx).decide(id, approve, reason);
  }

  @Authorized("verification:write")
  @Mutation(() => DisclosureResult, { description: "The provider ends an approval in force before its time; the agency's reads stop at once" })
  revokeDisclosure(@Arg("id", () => ID) id: string, @Arg("reason", { description: "1-1,000 characters" }) reason: string, @Ctx() ctx: Context): Promise<DisclosureResult> {
    return new DisclosureService(ctx).revoke(id, reason);
  }

  @Query(() => DisclosureConnection, {
    description: "Disclosure requests, newest first: with verification:read, those to your org about its accounts; with verification:disclose, those your org filed",
  })
  disclosureRequests(
    @Arg("filter", () => DisclosureFilter, { nullable: true }) filter: DisclosureFilter | null | undefined,
    @Arg("first", () => Int, { nullable: true, description: "Page size, 1-100 (default 20)" }) first: number | null | undefined,
    @Arg("after", () => String, { nullable: true, description: "endCursor of the previous page" }) after: string | null | undefined,
    @Ctx() ctx: Context,
  ): Promise<DisclosureConnection> {
    return new DisclosureService(ctx).list(filter, first, after);
  }
}
