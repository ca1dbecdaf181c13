import { Field, ID, InputType, Int } from "type-graphql";
import type { Tlp } from "../../src/auth/tlp.js";
import { TlpEnum } from "../../src/graphql/common.types.js";
import type { FlagCategory, FlagStatus } from "./flag.entity.js";
import { FlagCategoryEnum, FlagStatusEnum } from "./flag.type.js";

@InputType()
export class FlagInput {
  @Field(() => ID, { description: "An account you may see: your own, or one flagged where you see it" })
  accountId!: string;

  @Field(() => FlagCategoryEnum)
  category!: FlagCategory;

  @Field(() => Int, { description: "0-100" })
  confidence!: number;

  @Field(() => TlpEnum)
  tlp!: Tlp;

  @Field(() => [String], { nullable: true, description: "Member org ids (up to 100); the account's provider is always in the audience" })
  sharedWith?: string[] | null;

  @Field(() => [ID], { nullable: true, description: "Indicators you may see (up to 100)" })
  indicatorIds?: string[] | null;

  @Field(() => [ID], { nullable: true, description: "Incidents you may see (up to 100)" })
  incidentIds?: string[] | null;

  @Field(() => Date, { nullable: true, description: "In the future, within ten years; never when omitted" })
  expiresAt?: Date | null;
}

@InputType()
export class FlagFilter {
  @Field(() => [FlagCategoryEnum], { nullable: true })
  categories?: FlagCategory[] | null;

  @Field(() => Int, { nullable: true })
  minConfidence?: number | null;

  @Field(() => String, { nullable: true, description: "Only flags this org raised" })
  owner?: string | null;

  @Field(() => ID, { nullable: true, description: "Only flags on this account" })
  accountId?: string | null;

  @Field(() => [FlagStatusEnum], { nullable: true, description: "Lists: flags in force (not cleared, not expired) when omitted; given, flags of these statuses, expired ones included. Feed: the status after the event" })
  statuses?: FlagStatus[] | null;
}
