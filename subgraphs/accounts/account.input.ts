import { Field, InputType } from "type-graphql";
import type { AccountKind, AccountStatus, HolderType } from "./account.entity.js";
import type { IdentifierType } from "../../src/identifiers/canonical.js";
import { AccountKindEnum, AccountStatusEnum, HolderTypeEnum, IdentifierTypeEnum } from "./account.type.js";

@InputType()
export class IdentifierInput {
  @Field(() => IdentifierTypeEnum)
  type!: IdentifierType;

  @Field({ description: "Hashed on arrival in its canonical form and forgotten; up to 320 characters" })
  value!: string;
}

@InputType()
export class AccountInput {
  @Field({ description: "The provider's own reference, unique per provider: 1-200 characters, no control characters or surrounding spaces" })
  externalRef!: string;

  @Field(() => AccountKindEnum)
  kind!: AccountKind;

  @Field(() => HolderTypeEnum)
  holderType!: HolderType;

  @Field({ description: "ISO 3166-1 alpha-2, upper case" })
  holderJurisdiction!: string;

  @Field({ description: "EO 13984 §5(k): a US citizen, permanent resident, US-organised entity (foreign branches included) or a person in the US" })
  usPerson!: boolean;

  @Field(() => [IdentifierInput], { nullable: true, description: "Up to 20; replaces the stored set when given, keeps it when omitted" })
  identifiers?: IdentifierInput[] | null;

  @Field(() => Date, { nullable: true, description: "Not in the future; now for a new account when omitted, else the stored one" })
  openedAt?: Date | null;

  @Field(() => AccountStatusEnum, { nullable: true, description: "ACTIVE for a new account when omitted, else the stored one" })
  status?: AccountStatus | null;

  @Field(() => Date, { nullable: true, description: "Only with status CLOSED; the time of closing (now when omitted)" })
  closedAt?: Date | null;
}

@InputType()
export class AccountFilter {
  @Field(() => [AccountKindEnum], { nullable: true })
  kinds?: AccountKind[] | null;

  @Field(() => [String], { nullable: true, description: "ISO 3166-1 alpha-2 codes" })
  holderJurisdictions?: string[] | null;

  @Field(() => [AccountStatusEnum], { nullable: true, description: "Matches only your own accounts (a status is the provider's to see)" })
  statuses?: AccountStatus[] | null;

  @Field(() => Boolean, { nullable: true, description: "Only your own accounts" })
  mine?: boolean | null;

  @Field(() => Boolean, { nullable: true, description: "Only accounts with a flag in force you may see" })
  flagged?: boolean | null;
}
