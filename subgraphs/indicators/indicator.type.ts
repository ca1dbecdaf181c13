import { GraphQLJSONObject } from "graphql-scalars";
import { Directive, Field, ID, Int, ObjectType, registerEnumType } from "type-graphql";
import type { Tlp } from "../../src/auth/tlp.js";
import { InputError, PageInfo, TlpEnum } from "../../src/graphql/common.types.js";
import { OBSERVABLE_TYPES, type ObservableType } from "./indicator.normalize.js";

export const ObservableTypeEnum = Object.fromEntries(OBSERVABLE_TYPES.map((t) => [t, t])) as { [K in ObservableType]: K };
registerEnumType(ObservableTypeEnum, { name: "ObservableType", description: "What an indicator's value is" });

@Directive(`@key(fields: "id")`)
@ObjectType({ description: "A STIX 2.1 indicator: an observable a member org saw in malicious use" })
export class Indicator {
  @Field(() => ID, { description: "STIX id: indicator--<uuid>" })
  id!: string;

  @Field(() => ObservableTypeEnum, { nullable: true, description: "The kind of the first observable the pattern names (null when it names none the hub searches)" })
  type!: ObservableType | null;

  @Field(() => String, { nullable: true, description: "The first observable's value, normalised (lower-case domains and e-mails, canonical IPv6, lower-case hashes)" })
  value!: string | null;

  @Field({ description: "The pattern, verbatim as published" })
  pattern!: string;

  @Field({ description: "STIX pattern_type: stix, or another language (snort, yara, sigma...) kept as sent" })
  patternType!: string;

  @Field(() => String, { nullable: true, description: "STIX name" })
  name!: string | null;

  @Field(() => [String], { description: "STIX indicator_types (malicious-activity, anomalous-activity...)" })
  indicatorTypes!: string[];

  @Field(() => TlpEnum)
  tlp!: Tlp;

  @Field(() => Int, { nullable: true, description: "0-100, as STIX confidence; null when the publisher gave none" })
  confidence!: number | null;

  @Field({ description: "The publishing org" })
  owner!: string;

  @Field(() => [String], { description: "Orgs the owner shared this with. The full list is shown to the owner only; others see themselves if listed." })
  sharedWith!: string[];

  @Field(() => [String])
  labels!: string[];

  @Field(() => String, { nullable: true })
  description!: string | null;

  @Field()
  validFrom!: Date;

  @Field(() => Date, { nullable: true })
  validUntil!: Date | null;

  @Field()
  revoked!: boolean;

  @Field()
  createdAt!: Date;

  @Field()
  modifiedAt!: Date;
}

@ObjectType()
export class IndicatorEdge {
  @Field()
  cursor!: string;

  @Field(() => Indicator)
  node!: Indicator;
}

@ObjectType()
export class IndicatorConnection {
  @Field(() => [IndicatorEdge])
  edges!: IndicatorEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  /** Resolved by IndicatorConnectionResolver.totalCount, only when asked for. */
  count!: () => Promise<number>;
}

@ObjectType({ description: "The outcome for one input item, at the same index as the input" })
export class PublishItemResult {
  @Field(() => Int)
  index!: number;

  @Field(() => Indicator, { nullable: true })
  indicator!: Indicator | null;

  @Field(() => InputError, { nullable: true })
  error!: InputError | null;

  @Field({ description: "False when the item was identical to the stored indicator: nothing was written and no event emitted (and for a refused item)" })
  changed!: boolean;
}

@ObjectType()
export class PublishIndicatorsResult {
  @Field(() => [PublishItemResult], { description: "One per input item, in input order" })
  results!: PublishItemResult[];

  @Field(() => Int, { description: "Items accepted: stored, updated, or identical to what is stored" })
  published!: number;

  @Field(() => Int, { description: "Accepted items identical to the stored indicator: no write, no event" })
  unchanged!: number;

  @Field(() => Int)
  failed!: number;
}

@ObjectType()
export class IndicatorEvent {
  @Field({ description: "Pass as `after` to resume from this event" })
  cursor!: string;

  @Field(() => Indicator)
  indicator!: Indicator;
}

@ObjectType({ description: "One page of an export, as a STIX 2.1 bundle" })
export class StixExport {
  @Field(() => GraphQLJSONObject, { description: "A STIX 2.1 bundle: marking definitions, owner identities and indicators" })
  bundle!: Record<string, unknown>;

  @Field(() => Int, { description: "Indicators in this page" })
  count!: number;

  @Field(() => PageInfo, { description: "Pass endCursor as `after` for the next page" })
  pageInfo!: PageInfo;
}
