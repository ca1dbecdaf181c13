import { Field, ID, Int, ObjectType, registerEnumType } from "type-graphql";
import type { Tlp } from "../../src/auth/tlp.js";
import { InputError, PageInfo, TlpEnum } from "../../src/graphql/common.types.js";
import { FLAG_CATEGORIES, FLAG_STATUSES, type FlagCategory, type FlagStatus } from "./flag.entity.js";

const enumOf = <T extends string>(values: readonly T[]) => Object.fromEntries(values.map((v) => [v, v])) as { [K in T]: K };
export const FlagCategoryEnum = enumOf(FLAG_CATEGORIES);
registerEnumType(FlagCategoryEnum, { name: "FlagCategory" });
export const FlagStatusEnum = enumOf(FLAG_STATUSES);
registerEnumType(FlagStatusEnum, { name: "FlagStatus", description: "ACTIVE and DISPUTED flags count until they expire; CLEARED ones never" });
export const FLAG_EVENT_KINDS = ["FLAGGED", "CLEARED", "DISPUTED"] as const;
export type FlagEventKind = (typeof FLAG_EVENT_KINDS)[number];
export const FlagEventKindEnum = enumOf(FLAG_EVENT_KINDS);
registerEnumType(FlagEventKindEnum, { name: "FlagEventKind" });

@ObjectType({ description: "One org's claim that an account is abused, marked with TLP" })
export class Flag {
  @Field(() => ID, { description: "flag--<uuid>" })
  id!: string;

  /** The stored uuids, for field resolvers. */
  uuid!: string;
  accountUuid!: string;

  @Field(() => ID, { description: "account--<uuid>" })
  accountId!: string;

  @Field(() => FlagCategoryEnum)
  category!: FlagCategory;

  @Field(() => Int, { description: "0-100" })
  confidence!: number;

  @Field(() => TlpEnum)
  tlp!: Tlp;

  @Field({ description: "The flagging org" })
  owner!: string;

  @Field(() => [String], { description: "The full list for the owner; others see themselves if listed" })
  sharedWith!: string[];

  @Field(() => FlagStatusEnum)
  status!: FlagStatus;

  @Field({ description: "Not cleared and not expired: it counts in matches and makes the account visible" })
  inForce!: boolean;

  @Field(() => Date, { nullable: true })
  expiresAt!: Date | null;

  @Field()
  createdAt!: Date;

  @Field()
  modifiedAt!: Date;
}

@ObjectType()
export class FlagEdge {
  @Field()
  cursor!: string;

  @Field(() => Flag)
  node!: Flag;
}

@ObjectType()
export class FlagConnection {
  @Field(() => [FlagEdge])
  edges!: FlagEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  /** Resolved by FlagConnectionResolver.totalCount, only when asked for. */
  count!: () => Promise<number>;
}

@ObjectType()
export class FlagResult {
  @Field(() => Flag, { nullable: true })
  flag!: Flag | null;

  @Field(() => InputError, { nullable: true })
  error!: InputError | null;
}

@ObjectType()
export class FlagEvent {
  @Field({ description: "Pass as `after` to resume from this event" })
  cursor!: string;

  @Field(() => FlagEventKindEnum)
  kind!: FlagEventKind;

  @Field(() => Flag, { description: "The flag as it was after the event" })
  flag!: Flag;
}
