import { Field, Float, InputType, Int } from "type-graphql";
import type { Tlp } from "../../src/auth/tlp.js";
import { TlpEnum } from "../../src/graphql/common.types.js";
import type { ObservableType } from "./indicator.normalize.js";
import { ObservableTypeEnum } from "./indicator.type.js";

@InputType()
export class IndicatorInput {
  @Field(() => ObservableTypeEnum)
  type!: ObservableType;

  @Field({ description: "Up to 2048 characters; stored normalised" })
  value!: string;

  @Field(() => TlpEnum)
  tlp!: Tlp;

  @Field(() => Int, { nullable: true, description: "0-100; 50 when omitted" })
  confidence?: number | null;

  @Field(() => [String], { nullable: true, description: "Member org ids that may see an AMBER or RED indicator (up to 100)" })
  sharedWith?: string[] | null;

  @Field(() => Date, { nullable: true, description: "When the indicator starts to apply; now when omitted" })
  validFrom?: Date | null;

  @Field(() => Date, { nullable: true, description: "After validFrom" })
  validUntil?: Date | null;

  @Field(() => [String], { nullable: true, description: "Up to 20 labels of 1-64 characters (a-z, 0-9, . _ : -)" })
  labels?: string[] | null;

  @Field(() => String, { nullable: true, description: "Up to 4000 characters" })
  description?: string | null;
}

@InputType()
export class IndicatorFilter {
  @Field(() => [ObservableTypeEnum], { nullable: true })
  types?: ObservableType[] | null;

  @Field(() => [TlpEnum], { nullable: true })
  tlp?: Tlp[] | null;

  @Field(() => String, { nullable: true, description: "Only indicators this org published" })
  owner?: string | null;

  @Field(() => String, { nullable: true, description: "Only indicators carrying this label" })
  label?: string | null;

  @Field(() => Int, { nullable: true, description: "Only indicators with at least this confidence" })
  minConfidence?: number | null;

  @Field(() => Boolean, { nullable: true, description: "Include revoked indicators (default false)" })
  includeRevoked?: boolean | null;

  @Field(() => Date, { nullable: true, description: "Only indicators modified at or after this time" })
  modifiedSince?: Date | null;

  @Field(() => Float, { nullable: true, description: "Only indicators whose score (for the viewer) is at least this, 0-100" })
  minScore?: number | null;

  @Field(() => Boolean, { nullable: true, description: "Include indicators past their lifetime or validUntil (default false); revoked ones follow includeRevoked" })
  includeExpired?: boolean | null;
}
