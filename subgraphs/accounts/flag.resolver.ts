import { Arg, Args, ArgsType, Authorized, Ctx, Field, FieldResolver, ID, Int, Mutation, Query, Resolver, Root, Subscription } from "type-graphql";
import type { HubEvent } from "../../src/events/event.js";
import { requireScope } from "../../src/graphql/auth-checker.js";
import type { Context } from "../../src/graphql/context.js";
import { loadAccount } from "./account.reference.js";
import { Account } from "./account.type.js";
import { FlagFilter, FlagInput } from "./flag.input.js";
import { FlagService } from "./flag.service.js";
import { Flag, FlagConnection, FlagEvent, FlagResult } from "./flag.type.js";

@ArgsType()
class FlagsArgs {
  @Field(() => FlagFilter, { nullable: true })
  filter?: FlagFilter | null;

  @Field(() => Int, { nullable: true, description: "Page size, 1-500 (default 50)" })
  first?: number | null;

  @Field(() => String, { nullable: true, description: "endCursor of the previous page" })
  after?: string | null;
}

@ArgsType()
class FlagFeedArgs {
  @Field(() => FlagFilter, { nullable: true })
  filter?: FlagFilter | null;

  @Field(() => String, { nullable: true, description: "Resume after this event's cursor: everything since is replayed first, once, in order" })
  after?: string | null;
}

@Resolver(() => Flag)
export class FlagResolver {
  @Authorized("accounts:read")
  @Query(() => Flag, { nullable: true, description: "One flag, if the viewer may see it" })
  flag(@Arg("id", () => ID) id: string, @Ctx() ctx: Context): Promise<Flag | null> {
    return new FlagService(ctx).byId(id);
  }

  @Authorized("accounts:read")
  @Query(() => FlagConnection, { description: "Flags the viewer may see, newest first; in force only unless filter.statuses says otherwise" })
  flaggedAccounts(@Args() { filter, first, after }: FlagsArgs, @Ctx() ctx: Context): Promise<FlagConnection> {
    return new FlagService(ctx).list(filter, first, after);
  }

  @Authorized("accounts:write")
  @Mutation(() => FlagResult, { description: "Flag an account you may see; flagging it again in the same category updates your flag" })
  flagAccount(@Arg("input", () => FlagInput) input: FlagInput, @Ctx() ctx: Context): Promise<FlagResult> {
    return new FlagService(ctx).flag(input);
  }

  @Authorized("accounts:write")
  @Mutation(() => FlagResult, { description: "The flagging org withdraws its flag" })
  clearFlag(@Arg("id", () => ID) id: string, @Arg("reason", { description: "1-2000 characters" }) reason: string, @Ctx() ctx: Context): Promise<FlagResult> {
    return new FlagService(ctx).clear(id, reason);
  }

  @Authorized("accounts:write")
  @Mutation(() => FlagResult, { description: "The account's provider contests another org's flag on it" })
  disputeFlag(@Arg("id", () => ID) id: string, @Arg("reason", { description: "1-2000 characters" }) reason: string, @Ctx() ctx: Context): Promise<FlagResult> {
    return new FlagService(ctx).dispute(id, reason);
  }

  @Subscription(() => FlagEvent, {
    description: "Flags raised, cleared and disputed that the viewer may see and that pass the filter; with `after`, first everything since that cursor",
    subscribe: ({ args, context }: { args: FlagFeedArgs; context: Context }) => {
      requireScope(context, "accounts:read");
      return new FlagService(context).subscribe(args.filter, args.after);
    },
  })
  accountFlagged(@Root() event: HubEvent, @Args() _args: FlagFeedArgs, @Ctx() ctx: Context): FlagEvent {
    // A subscription keeps one context for all its events: each event reads accounts and evidence afresh.
    ctx.loaders.clear();
    return FlagService.toEvent(event, ctx.viewer);
  }

  @FieldResolver(() => Account, { nullable: true, description: "The flagged account, if the viewer may see it now (a flag in force it may see, or its own)" })
  account(@Root() flag: Flag, @Ctx() ctx: Context): Promise<Account | null> {
    return loadAccount(ctx, flag.accountId);
  }

  @FieldResolver(() => [ID], { description: "Evidence: the indicators the viewer may see, as they are now" })
  async indicatorIds(@Root() flag: Flag, @Ctx() ctx: Context): Promise<string[]> {
    return (await new FlagService(ctx).detail(flag)).indicatorIds;
  }

  @FieldResolver(() => [ID], { description: "Evidence: the incidents the viewer may see, as they are now" })
  async incidentIds(@Root() flag: Flag, @Ctx() ctx: Context): Promise<string[]> {
    return (await new FlagService(ctx).detail(flag)).incidentIds;
  }

  @FieldResolver(() => String, { nullable: true, description: "Why the owner cleared it" })
  async clearedReason(@Root() flag: Flag, @Ctx() ctx: Context): Promise<string | null> {
    return (await new FlagService(ctx).detail(flag)).clearedReason;
  }

  @FieldResolver(() => String, { nullable: true, description: "Why the provider disputes it" })
  async disputedReason(@Root() flag: Flag, @Ctx() ctx: Context): Promise<string | null> {
    return (await new FlagService(ctx).detail(flag)).disputedReason;
  }
}

@Resolver(() => FlagConnection)
export class FlagConnectionResolver {
  @FieldResolver(() => Int, { description: "How many flags match the filter, counting only those the viewer may see" })
  totalCount(@Root() connection: FlagConnection): Promise<number> {
    return connection.count();
  }
}
