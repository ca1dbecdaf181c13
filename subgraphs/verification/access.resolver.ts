import { Arg, Args, Authorized, Ctx, Mutation, Query, Resolver } from "type-graphql";
import type { Context } from "../../src/graphql/context.js";
import { AccessEventInput, AccessHistoryArgs, AccountsSeenArgs } from "./access.input.js";
import { AccessService, MAX_ACCOUNTS_SEEN } from "./access.service.js";
import { AccessEventConnection, AccessEventsResult, AccountSeen } from "./access.type.js";

@Resolver()
export class AccessResolver {
  @Authorized("verification:write")
  @Mutation(() => AccessEventsResult, {
    description:
      "Record accesses to, and administrative actions on, accounts of yours (§1(a)(ii)(D)): up to MAX_ACCESS_EVENTS (default 10,000) per call. " +
      "Refused items are reported by index and field and nothing of them is stored; each account's customer record moves to its newest access, and a closed one's retention date with it.",
  })
  recordAccessEvents(@Arg("input", () => [AccessEventInput]) input: AccessEventInput[], @Ctx() ctx: Context): Promise<AccessEventsResult> {
    return new AccessService(ctx).record(input);
  }

  // Scopes checked by the service: the provider's verification:read, or an agency's verification:disclose.
  @Query(() => AccessEventConnection, { description: "An account's access events, newest first: for its provider, or an agency holding an approved disclosure of it. Every read is audited." })
  accessHistory(@Args() args: AccessHistoryArgs, @Ctx() ctx: Context): Promise<AccessEventConnection> {
    return new AccessService(ctx).history(args);
  }

  @Authorized("verification:read")
  @Query(() => [AccountSeen], {
    description: `Your accounts used from an IP address or a CIDR network in a window, the most recently seen first, at most ${MAX_ACCOUNTS_SEEN.toLocaleString("en")}. Audited (without the address).`,
  })
  accountsSeenFromIp(@Args() args: AccountsSeenArgs, @Ctx() ctx: Context): Promise<AccountSeen[]> {
    return new AccessService(ctx).seenFromIp(args);
  }
}
