import { Arg, Args, ArgsType, Authorized, Ctx, Field, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import type { Context } from "../../src/graphql/context.js";
import { AccountFilter, AccountInput } from "./account.input.js";
import { loadAccount } from "./account.reference.js";
import { AccountService } from "./account.service.js";
import { Account, AccountConnection, IdentifierHash, RegisterAccountsResult } from "./account.type.js";
import { FlagService } from "./flag.service.js";
import { Flag } from "./flag.type.js";

@ArgsType()
class AccountsArgs {
  @Field(() => AccountFilter, { nullable: true })
  filter?: AccountFilter | null;

  @Field(() => Int, { nullable: true, description: "Page size, 1-500 (default 50)" })
  first?: number | null;

  @Field(() => String, { nullable: true, description: "endCursor of the previous page" })
  after?: string | null;
}

@Resolver(() => Account)
export class AccountResolver {
  @Authorized("accounts:read")
  @Query(() => Account, { nullable: true, description: "One account, if the viewer may see it" })
  account(@Arg("id", () => ID) id: string, @Ctx() ctx: Context): Promise<Account | null> {
    return loadAccount(ctx, id);
  }

  @Authorized("accounts:read")
  @Query(() => AccountConnection, { description: "Accounts the viewer may see, newest first; keyset pages" })
  accounts(@Args() { filter, first, after }: AccountsArgs, @Ctx() ctx: Context): Promise<AccountConnection> {
    return new AccountService(ctx).list(filter, first, after);
  }

  @Authorized("accounts:write")
  @Mutation(() => RegisterAccountsResult, { description: "Up to 5000 accounts; each is stored or refused on its own; upserts by externalRef" })
  registerAccounts(@Arg("input", () => [AccountInput]) input: AccountInput[], @Ctx() ctx: Context): Promise<RegisterAccountsResult> {
    return new AccountService(ctx).register(input);
  }

  @FieldResolver(() => [IdentifierHash], { description: "Keyed hashes of the account's identifiers" })
  identifiers(@Root() account: Account, @Ctx() ctx: Context): Promise<IdentifierHash[]> {
    return new AccountService(ctx).identifiers(account);
  }

  @FieldResolver(() => [Flag], { description: "Flags in force on the account that the viewer may see, newest first" })
  flags(@Root() account: Account, @Ctx() ctx: Context): Promise<Flag[]> {
    return new FlagService(ctx).flagsOf(account.uuid);
  }
}

@Resolver(() => AccountConnection)
export class AccountConnectionResolver {
  @FieldResolver(() => Int, { description: "How many accounts match the filter, counting only those the viewer may see" })
  totalCount(@Root() connection: AccountConnection): Promise<number> {
    return connection.count();
  }
}
