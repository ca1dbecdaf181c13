import { Field, ID, ObjectType, registerEnumType } from "type-graphql";
import { InputError } from "../../src/graphql/common.types.js";
import { CalendarDate } from "./date.scalar.js";

export const EXEMPTION_SCOPES = ["PROVIDER", "ACCOUNT_KIND", "PRODUCT"] as const;
export type ExemptionScope = (typeof EXEMPTION_SCOPES)[number];

/** The accounts subgraph's kinds, the same enum of the supergraph (same name, same values). */
export const ACCOUNT_KINDS = ["STANDARD", "RESELLER", "TRIAL"] as const;
export type ExemptAccountKind = (typeof ACCOUNT_KINDS)[number];

const asEnum = <T extends string>(values: readonly T[]) => Object.fromEntries(values.map((v) => [v, v])) as { [K in T]: K };
export const ExemptionScopeEnum = asEnum(EXEMPTION_SCOPES);
registerEnumType(ExemptionScopeEnum, { name: "ExemptionScope", description: "PROVIDER: every account of the provider; ACCOUNT_KIND: its accounts of one kind; PRODUCT: the accounts whose record names the product" });
export const AccountKindEnum = asEnum(ACCOUNT_KINDS);
registerEnumType(AccountKindEnum, { name: "AccountKind" });

export const exemptionId = (uuid: string) => `exemption--${uuid}`;

@ObjectType({ description: "An exemption from customer verification (EO 13984 §1(c)); an account it covers while in force needs no verification and reads EXEMPT" })
export class Exemption {
  @Field(() => ID, { description: "exemption--<uuid>" })
  id!: string;

  @Field(() => ExemptionScopeEnum)
  scope!: ExemptionScope;

  @Field(() => AccountKindEnum, { nullable: true })
  accountKind!: ExemptAccountKind | null;

  @Field(() => String, { nullable: true })
  product!: string | null;

  @Field()
  basis!: string;

  @Field(() => CalendarDate, { description: "In force from the start of this day (UTC)" })
  grantedOn!: string;

  @Field(() => CalendarDate, { description: "No longer in force from the start of this day (UTC)" })
  expiresOn!: string;

  @Field({ description: "In force now (the hub's clock)" })
  active!: boolean;

  @Field({ description: "Who recorded it: org/subject" })
  recordedBy!: string;

  @Field()
  recordedAt!: Date;
}

@ObjectType()
export class ExemptionResult {
  @Field(() => Exemption, { nullable: true })
  exemption!: Exemption | null;

  @Field(() => InputError, { nullable: true })
  error!: InputError | null;
}
