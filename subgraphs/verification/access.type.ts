import { Field, ID, Int, ObjectType, registerEnumType } from "type-graphql";
import { PageInfo } from "../../src/graphql/common.types.js";
import { ACCESS_ACTIONS, type AccessAction } from "./access.validation.js";

export const AccessActionEnum = Object.fromEntries(ACCESS_ACTIONS.map((a) => [a, a])) as { [K in AccessAction]: K };
registerEnumType(AccessActionEnum, {
  name: "AccessAction",
  description: "ACCESS: the customer used the account; ADMIN: an administrative action on it (§1(a)(ii)(D))",
  valuesConfig: { ACCESS: { description: "Use of the account" }, ADMIN: { description: "An administrative action" } },
});

@ObjectType({ description: "Why one item of recordAccessEvents was refused; nothing of it was stored. The message never repeats the value." })
export class AccessEventError {
  @Field(() => Int, { description: "The item's index in the input list" })
  index!: number;

  @Field({ description: "The field at fault as a path into the input, e.g. 'input[3].ip'" })
  field!: string;

  @Field()
  message!: string;

  @Field({ description: "BAD_USER_INPUT, or NOT_FOUND (no account of yours has this id)" })
  code!: string;
}

@ObjectType()
export class AccessEventsResult {
  @Field(() => Int, { description: "Items that passed every check; each is in the log after this call" })
  accepted!: number;

  @Field(() => Int, { description: "Of the accepted, those already in the log (same account, IP, time and action): a retried batch stores nothing twice" })
  duplicates!: number;

  @Field(() => [AccessEventError], { description: "One per refused item, in input order" })
  rejected!: AccessEventError[];
}

@ObjectType({ description: "One access or administrative action, as the account's provider reported it" })
export class AccessEvent {
  @Field(() => ID)
  accountId!: string;

  @Field()
  ip!: string;

  @Field(() => Date)
  at!: Date;

  @Field(() => AccessActionEnum)
  action!: AccessAction;
}

@ObjectType()
export class AccessEventEdge {
  @Field()
  cursor!: string;

  @Field(() => AccessEvent)
  node!: AccessEvent;
}

@ObjectType({ description: "An account's access events, newest first" })
export class AccessEventConnection {
  @Field(() => [AccessEventEdge])
  edges!: AccessEventEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}

@ObjectType({ description: "An account of yours used from the address or network asked about" })
export class AccountSeen {
  @Field(() => ID, { description: "account--<uuid>" })
  accountId!: string;

  @Field(() => Date)
  firstSeen!: Date;

  @Field(() => Date)
  lastSeen!: Date;

  @Field(() => Int, { description: "Events from the address or network in the window" })
  events!: number;
}
