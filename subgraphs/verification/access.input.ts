import { ArgsType, Field, ID, InputType, Int } from "type-graphql";
import type { AccessAction } from "./access.validation.js";
import { AccessActionEnum } from "./access.type.js";

@InputType({ description: "One access to, or administrative action on, an account of yours (§1(a)(ii)(D)): who came from which IP address, when" })
export class AccessEventInput {
  @Field(() => ID, { description: "An account of yours (account--<uuid>)" })
  accountId!: string;

  @Field({ description: "The IPv4 or IPv6 address the access came from (an IPv4-mapped IPv6 address is stored as IPv4)" })
  ip!: string;

  @Field(() => Date, { description: "When: not more than 5 minutes ahead of the hub's clock, nor more than ten years ago" })
  at!: Date;

  @Field(() => AccessActionEnum)
  action!: AccessAction;
}

@ArgsType()
export class AccessHistoryArgs {
  @Field(() => ID, { description: "An account of yours, or one a disclosure approved for your agency covers" })
  accountId!: string;

  @Field(() => Date, { nullable: true, description: "Events at or after this time" })
  from?: Date | null;

  @Field(() => Date, { nullable: true, description: "Events before this time" })
  to?: Date | null;

  @Field(() => Int, { nullable: true, description: "Page size, 1-1,000 (default 100)" })
  first?: number | null;

  @Field(() => String, { nullable: true, description: "endCursor of the previous page" })
  after?: string | null;
}

@ArgsType()
export class AccountsSeenArgs {
  @Field({ description: "An IPv4 or IPv6 address, or a network in CIDR form (at most a /8 of IPv4 or a /16 of IPv6)" })
  ip!: string;

  @Field(() => Date, { nullable: true, description: "Events at or after this time" })
  from?: Date | null;

  @Field(() => Date, { nullable: true, description: "Events before this time" })
  to?: Date | null;
}
