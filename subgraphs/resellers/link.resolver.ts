import { Arg, Args, ArgsType, Authorized, Ctx, Field, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import { requireScope } from "../../src/graphql/auth-checker.js";
import type { Context } from "../../src/graphql/context.js";
import { ForestService } from "./forest.service.js";
import { ResellerLinkInput } from "./link.input.js";
import { parseAccountRef } from "./link.row.js";
import { LinkService } from "./link.service.js";
import {
  AccountRef,
  ChainHop,
  DownstreamConnection,
  EndResellerLinkResult,
  Exposure,
  GraphFormatEnum,
  RecordResellerLinksResult,
  ResellerChainConnection,
  RiskyReseller,
  type GraphFormat,
} from "./link.type.js";

@ArgsType()
class DownstreamArgs {
  @Field(() => Int, { nullable: true, description: "Only accounts at most this many links below (1-100); all when omitted" })
  maxDepth?: number | null;

  @Field(() => Int, { nullable: true, description: "Page size, 1-500 (default 50)" })
  first?: number | null;

  @Field(() => String, { nullable: true, description: "endCursor of the previous page" })
  after?: string | null;
}

@Resolver()
export class LinkResolver {
  @Authorized("resellers:write")
  @Mutation(() => RecordResellerLinksResult, { description: "Record up to 5,000 reseller links between accounts of yours; per-item results in input order" })
  recordResellerLinks(@Arg("input", () => [ResellerLinkInput]) input: ResellerLinkInput[], @Ctx() ctx: Context): Promise<RecordResellerLinksResult> {
    return new LinkService(ctx).record(input);
  }

  @Authorized("resellers:write")
  @Mutation(() => EndResellerLinkResult, { description: "End the active link above an account, now or at a past time; it then counts nowhere" })
  endResellerLink(
    @Arg("childAccountId", () => ID) childAccountId: string,
    @Arg("at", () => Date, { nullable: true, description: "Not in the future; now when omitted" }) at: Date | null | undefined,
    @Ctx() ctx: Context,
  ): Promise<EndResellerLinkResult> {
    return new LinkService(ctx).end(childAccountId, at);
  }

  @Authorized("resellers:read")
  @Query(() => AccountRef, {
    nullable: true,
    description: "An account as this subgraph sees it, to ask for its resellerChain, downstream, exposure or resellerGraph; its other fields come from the accounts subgraph, under its rules",
  })
  resellerAccount(@Arg("id", () => ID) id: string): AccountRef | null {
    return parseAccountRef(id) ? { id } : null;
  }

  @Authorized("resellers:read")
  @Query(() => ResellerChainConnection, { description: "Chains (a bottom account and the resellers above it) holding an account in the jurisdiction, that the viewer may see; by bottom account id, keyset pages" })
  resellerChainsThrough(
    @Arg("jurisdiction", { description: "ISO 3166-1 alpha-2" }) jurisdiction: string,
    @Arg("first", () => Int, { nullable: true, description: "Page size, 1-100 (default 20)" }) first: number | null | undefined,
    @Arg("after", () => String, { nullable: true }) after: string | null | undefined,
    @Ctx() ctx: Context,
  ): Promise<ResellerChainConnection> {
    return new ForestService(ctx).chainsThrough(jurisdiction, first, after);
  }

  @Authorized("resellers:read")
  @Query(() => [RiskyReseller], { description: "Reseller accounts the viewer may see, by share of flagged accounts below them, among those with at least minAccounts below" })
  riskiestResellers(
    @Arg("first", () => Int, { nullable: true, description: "1-100 (default 20)" }) first: number | null | undefined,
    @Arg("minAccounts", () => Int, { nullable: true, defaultValue: 10 }) minAccounts: number | null | undefined,
    @Ctx() ctx: Context,
  ): Promise<RiskyReseller[]> {
    return new ForestService(ctx).riskiest(first, minAccounts);
  }
}

/** What this subgraph adds to Account: each field applies the visibility rule to the account it is on. */
@Resolver(() => AccountRef)
export class AccountResellersResolver {
  @FieldResolver(() => [ChainHop], { description: "The resellers above this account, nearest first (depth 1), up to the top reseller account at its provider" })
  resellerChain(@Root() account: AccountRef, @Ctx() ctx: Context): Promise<ChainHop[]> {
    requireScope(ctx, "resellers:read");
    return new ForestService(ctx).chain(account.id);
  }

  @FieldResolver(() => DownstreamConnection, { description: "The accounts below this one, in order of id; keyset pages" })
  downstream(@Root() account: AccountRef, @Args() { maxDepth, first, after }: DownstreamArgs, @Ctx() ctx: Context): Promise<DownstreamConnection> {
    requireScope(ctx, "resellers:read");
    return new ForestService(ctx).downstream(account.id, maxDepth, first, after);
  }

  @FieldResolver(() => Exposure, { description: "What sits below this account: totals, flagged, by jurisdiction and flag category" })
  exposure(@Root() account: AccountRef, @Ctx() ctx: Context): Promise<Exposure> {
    requireScope(ctx, "resellers:read");
    return new ForestService(ctx).exposure(account.id);
  }

  @FieldResolver(() => String, { description: "The resellers above and the accounts below (to maxDepth, 3 by default; at most 1,000), as DOT or Mermaid text" })
  resellerGraph(
    @Root() account: AccountRef,
    @Arg("format", () => GraphFormatEnum) format: GraphFormat,
    @Arg("maxDepth", () => Int, { nullable: true }) maxDepth: number | null | undefined,
    @Ctx() ctx: Context,
  ): Promise<string> {
    requireScope(ctx, "resellers:read");
    return new ForestService(ctx).graph(account.id, format, maxDepth);
  }
}
